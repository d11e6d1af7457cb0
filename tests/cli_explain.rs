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
