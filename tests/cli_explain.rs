//! `explain` and `embed` from the command line: the saliency comes on the grid `features` gives
//! the same clip, a class the model lacks is refused by name, and `eval --sweep` refuses a bad
//! sweep by name.

mod common;

use std::process::Command;

fn timbrescope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timbrescope"))
}

#[test]
fn explain_writes_the_features_grid_and_refuses_an_unknown_class() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::fixture("../../assets/demo/violin_A4.wav");
    let (saliency, features) = (dir.path().join("s.npy"), dir.path().join("f.npy"));
    for view in ["stft", "cqt"] {
        let out = timbrescope()
            .args(["explain", clip.to_str().unwrap(), "--view", view, "--class", "violin", "--out"])
            .arg(&saliency)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let out = timbrescope()
            .args(["features", clip.to_str().unwrap(), "--view", view, "--out"])
            .arg(&features)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (shape, values) = common::read_npy_f32(&saliency);
        assert_eq!(shape, common::read_npy_f32(&features).0, "{view}: the saliency's grid is the features'");
        assert!(values.iter().all(|v| v.is_finite()) && values.iter().any(|v| *v != 0.0), "{view}");
    }
    let out = timbrescope()
        .args(["explain", clip.to_str().unwrap(), "--class", "kazoo", "--out"])
        .arg(dir.path().join("k.npy"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("kazoo") && err.contains("violin"), "{err}");
    assert!(!dir.path().join("k.npy").exists(), "nothing written for a refused class");
}

#[test]
fn a_bad_sweep_is_refused_by_name_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = timbrescope()
        .args(["eval", "--model", "shipped:timbrescope-small.safetensors", "--dataset"])
        .arg(dir.path())
        .args(["--sweep", "rt60=0.2:9:0.2", "--out"])
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--sweep") && err.contains("rt60"), "{err}");
}

#[test]
fn embed_and_nearest_from_the_command_line_agree_with_the_data_set() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = timbrescope()
        .args(["dataset", "synth", "--soundfont", "/usr/share/sounds/sf2/FluidR3_GM.sf2", "--pitch-step", "6"])
        .args(["--velocities", "100", "--out"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dataset = timbrescope::data::dataset::Dataset::open(&data).unwrap();
    let shipped = "shipped:timbrescope-small.safetensors";
    let emb = dir.path().join("emb.npz");
    let out = timbrescope()
        .args(["embed", "--model", shipped, "--dataset"])
        .arg(&data)
        .args(["--split", "test", "--out"])
        .arg(&emb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e = timbrescope::learn::explanation::embed::Embeddings::read(&emb).unwrap();
    let test: Vec<&str> = dataset
        .notes
        .iter()
        .filter(|n| n.split == Some(timbrescope::data::dataset::Split::Test))
        .map(|n| n.record.note_str.as_str())
        .collect();
    assert_eq!(e.len(), test.len());
    assert!(e.meta.notes.iter().all(|n| test.contains(&n.as_str())));

    let note = &e.meta.notes[0];
    let out = timbrescope()
        .args(["nearest", "--model", shipped, "--dataset"])
        .arg(&data)
        .args(["--note", note])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nearest = answer["nearest"].as_str().unwrap();
    let n = dataset.notes.iter().find(|n| n.record.note_str == nearest).expect("a note of the data set");
    assert_eq!(n.split, Some(timbrescope::data::dataset::Split::Train));
    let class = &e.meta.classes[e.predicted[0] as usize];
    assert_eq!(answer["class"].as_str(), Some(class.as_str()), "by default, the class the note is heard as");
    assert_eq!(dataset.taxonomy.instruments[usize::from(n.labels.instrument.unwrap())].name, *class);
}
