//! The binary away from its source tree, as `cargo install` leaves it: copied into a temporary
//! folder and run from there, `predict` without `--model` answers with the model shipped inside
//! it, and `degrade --chain shipped:NAME` reads a chain shipped inside it.

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

#[test]
fn a_moved_binary_degrades_with_a_shipped_chain_and_names_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("timbrescope");
    std::fs::copy(env!("CARGO_BIN_EXE_timbrescope"), &bin).unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/violin_A4.wav"), dir.path().join("violin.wav"))
        .unwrap();
    let degrade = |chain: &str| {
        Command::new(&bin)
            .current_dir(dir.path())
            .args(["degrade", "violin.wav", "--chain", chain, "--seed", "3", "--out", "out.wav"])
            .output()
            .unwrap()
    };
    let out = degrade("shipped:eval/pink_10db");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (clean, noisy) = (read(&dir.path().join("violin.wav")), read(&dir.path().join("out.wav")));
    assert_eq!(clean.len(), noisy.len());
    // The chain adds pink noise at 10 dB SNR: the difference's power is a tenth of the clip's.
    let power = |x: &mut dyn Iterator<Item = f64>| x.map(|v| v * v).sum::<f64>();
    let snr_db = 10.0
        * (power(&mut clean.iter().map(|&v| f64::from(v)))
            / power(&mut clean.iter().zip(&noisy).map(|(&c, &n)| f64::from(n - c))))
        .log10();
    assert!((snr_db - 10.0).abs() < 0.5, "SNR {snr_db:.2} dB");

    std::fs::remove_file(dir.path().join("out.wav")).unwrap();
    let out = degrade("chains/none.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("chains/none.toml") && stderr.contains("shipped:target_domain"), "{stderr}");
    assert!(!dir.path().join("out.wav").exists(), "nothing written for a missing chain");
}

fn read(path: &std::path::Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    match reader.spec().sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => reader.samples::<i32>().map(|s| s.unwrap() as f32 / 32768.0).collect(),
    }
}
