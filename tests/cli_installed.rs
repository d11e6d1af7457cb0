//! The binary away from its source tree, as `cargo install` leaves it: copied into a temporary
//! folder and run from there, `predict` without `--model` answers with the model shipped inside
//! it.

use std::process::Command;

#[test]
fn a_moved_binary_predicts_with_its_shipped_model() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("timbrescope");
    std::fs::copy(env!("CARGO_BIN_EXE_timbrescope"), &bin).unwrap();
    let clip = dir.path().join("piano.wav");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/piano_C4.wav"), &clip).unwrap();
    let out = Command::new(&bin).current_dir(dir.path()).args(["predict", "piano.wav", "--top", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["model"], "timbrescope-small.safetensors");
    let text = json.to_string();
    assert!(text.contains("acoustic_grand_piano"), "{text}");
}
