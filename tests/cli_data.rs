//! `dataset synth`, `store build`, `mix` and `describe` end to end through the binary.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::tiny_data;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timbrescope"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn synth(dir: &Path, banks: &[&Path], out: &Path) -> Output {
    let taxonomy = dir.join("taxonomy.json");
    std::fs::write(&taxonomy, tiny_data::TAXONOMY_JSON).unwrap();
    let mut command = bin();
    command.args(["dataset", "synth", "--out"]).arg(out).arg("--taxonomy").arg(&taxonomy);
    for bank in banks {
        command.arg("--soundfont").arg(bank);
    }
    command.args(["--pitch-step", "4", "--velocities", "100", "--seed", "3"]).output().unwrap()
}

#[test]
fn the_data_verbs_chain_from_soundfont_to_mixtures() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tiny_data::banks(dir.path());
    let root = dir.path().join("data");
    let output = synth(dir.path(), &[&a, &b], &root);
    let log = text(&output);
    assert!(output.status.success(), "{log}");
    // tone_a 48..=71 step 4: 6 pitches; tone_b 55..=66: 3; absent 60..=62: 1. Bank B drops tone_a below 60.
    assert!(log.contains("left out") && log.contains("no GM program 5"), "{log}");
    assert!(log.contains("keyboard_acoustic_tiny_b_000-048-100: silent render"), "{log}");
    let examples: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("examples.json")).unwrap()).unwrap();
    assert_eq!(examples.len(), (6 + 3) + (3 + 3 + 1));

    let again = synth(dir.path(), &[&a, &b], &root);
    assert!(text(&again).contains("0 rendered, 16 kept from an earlier run"), "{}", text(&again));

    let store = bin().args(["store", "build", "--dataset"]).arg(&root).args(["--threads", "2"]).output().unwrap();
    assert!(store.status.success() && text(&store).contains("16 notes: built 1 shard in"), "{}", text(&store));
    let store = bin().args(["store", "build", "--dataset"]).arg(&root).output().unwrap();
    assert!(text(&store).contains("already up to date"), "{}", text(&store));

    let mixes = dir.path().join("mixes");
    let mix = bin()
        .args(["mix", "--dataset"])
        .arg(&root)
        .arg("--out")
        .arg(&mixes)
        .args(["--count", "3", "--sources", "2", "--seed", "9"])
        .output()
        .unwrap();
    assert!(mix.status.success(), "{}", text(&mix));
    assert_eq!(std::fs::read_dir(&mixes).unwrap().count(), 3);

    let note = root.join("audio/keyboard_acoustic_tiny_a_000-068-100.wav");
    let describe = bin().arg("describe").arg(&note).output().unwrap();
    assert!(describe.status.success(), "{}", text(&describe));
    let json: serde_json::Value = serde_json::from_slice(&describe.stdout).unwrap();
    assert_eq!(json["pitch"], 68.0);
    assert_eq!(json["pitch_source"], "file name");
    // The tiny bank's tone has partials 1-3 at amplitudes 1, 0.5, 0.25 (powers 1, 1/4, 1/16):
    // its centroid sits between f0 and 2 f0 and almost all energy lies on the partials.
    let f0 = 440.0 * 2_f64.powf(-1.0 / 12.0);
    let centroid = json["centroid_hz"].as_f64().unwrap();
    assert!(centroid > f0 && centroid < 2.0 * f0, "centroid {centroid} for f0 {f0}");
    assert!(json["hbr_db"].as_f64().unwrap() > 20.0, "{json}");
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let missing =
        bin().args(["dataset", "synth", "--soundfont", "/nonexistent/bank.sf2", "--out"]).arg(&out).output().unwrap();
    assert!(!missing.status.success());
    assert!(text(&missing).contains("/nonexistent/bank.sf2"), "{}", text(&missing));
    assert!(!out.exists());

    let (a, _) = tiny_data::banks(dir.path());
    let zero_step = bin()
        .args(["dataset", "synth", "--soundfont"])
        .arg(&a)
        .arg("--out")
        .arg(&out)
        .args(["--pitch-step", "0"])
        .output()
        .unwrap();
    assert!(!zero_step.status.success() && text(&zero_step).contains("--pitch-step"), "{}", text(&zero_step));

    let no_data = bin().args(["store", "build", "--dataset"]).arg(dir.path()).output().unwrap();
    assert!(!no_data.status.success() && text(&no_data).contains("examples.json"), "{}", text(&no_data));

    let bad_pitch = bin().args(["describe", "/nonexistent.wav", "--pitch", "300"]).output().unwrap();
    assert!(!bad_pitch.status.success());
    let bad_sources = bin()
        .args(["mix", "--dataset"])
        .arg(dir.path())
        .args(["--out", "x", "--count", "1", "--sources", "two"])
        .output()
        .unwrap();
    assert!(!bad_sources.status.success() && text(&bad_sources).contains("MIN..MAX"), "{}", text(&bad_sources));
}
