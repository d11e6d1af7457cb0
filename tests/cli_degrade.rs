//! `degrade`, `rir` and `dataset degrade` end to end through the binary.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::tiny_data;
use timbrescope::degrade::rt60::t30_secs;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timbrescope"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f32>>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => reader.samples::<i32>().map(|s| s.unwrap() as f32 / 32768.0).collect(),
    };
    let channels = usize::from(spec.channels);
    let split = (0..channels).map(|c| samples.iter().skip(c).step_by(channels).copied().collect()).collect();
    (spec, split)
}

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/violin_A4.wav")
}

#[test]
fn degrade_with_stage_flags_keeps_length_and_rate_and_reports_the_draw() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wet.wav");
    let run = || {
        bin()
            .arg("degrade")
            .arg(demo())
            .arg("--out")
            .arg(&out)
            .args(["--reverb-rt60", "0.6", "--binaural", "--noise", "pink", "--snr-db", "20"])
            .args(["--eq", "lowshelf:200:-3", "--eq", "bandpass:100:6000", "--codec", "opus:32", "--seed", "4"])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", text(&first));
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let kinds: Vec<&str> = report["stages"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reverb", "noise", "low_shelf", "band_pass", "opus"], "in the documented order");
    let (spec, channels) = read_wav(&out);
    assert_eq!((spec.channels, spec.sample_rate), (2, 16_000), "binaural output, the input's rate");
    assert_eq!(channels[0].len(), 64_000, "the input's length");
    let bytes = std::fs::read(&out).unwrap();
    assert!(run().status.success());
    assert_eq!(std::fs::read(&out).unwrap(), bytes, "same flags, same seed: the same file");
}

#[test]
fn a_wav_at_another_rate_comes_back_at_its_rate_and_length() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("tone_44k.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&input, spec).unwrap();
    for i in 0..44_100 {
        w.write_sample(((i as f32 * 0.05).sin() * 10_000.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    let out = dir.path().join("out.wav");
    let run =
        bin().arg("degrade").arg(&input).arg("--out").arg(&out).args(["--eq", "highshelf:3000:-6"]).output().unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let (spec, channels) = read_wav(&out);
    assert_eq!((spec.sample_rate, channels[0].len()), (44_100, 44_100));
}

#[test]
fn rir_writes_a_response_that_measures_its_rt60() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rir.wav");
    let run = bin().args(["rir", "--rt60", "0.9", "--seed", "2", "--out"]).arg(&out).output().unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let (spec, channels) = read_wav(&out);
    assert_eq!((spec.channels, spec.sample_rate), (1, 16_000));
    let t30 = t30_secs(&channels[0], 16_000).unwrap();
    assert!((t30 / 0.9 - 1.0).abs() < 0.1, "{t30}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(report["room"]["size_m"].as_array().is_some_and(|s| s.len() == 3), "{report}");
    let binaural =
        bin().args(["rir", "--rt60", "0.9", "--binaural", "--out"]).arg(dir.path().join("b.wav")).output().unwrap();
    assert!(binaural.status.success(), "{}", text(&binaural));
    assert_eq!(read_wav(&dir.path().join("b.wav")).0.channels, 2);
}

#[test]
fn bad_parameters_name_themselves_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.wav");
    let cases: [(&[&str], &str); 6] = [
        (&["--reverb-rt60", "-1"], "rt60_s"),
        (&["--noise", "pink", "--snr-db", "NaN"], "snr_db"),
        (&["--noise", "brown", "--snr-db", "10"], "brown"),
        (&["--codec", "opus:1000"], "kbps"),
        (&["--codec", "mp3:30"], "kbps = 30"),
        (&["--eq", "lowshelf:20000:3"], "freq_hz"),
    ];
    for (flags, expected) in cases {
        let run = bin().arg("degrade").arg(demo()).arg("--out").arg(&out).args(flags).output().unwrap();
        assert!(!run.status.success() && text(&run).contains(expected), "{flags:?}: {}", text(&run));
    }
    let nothing = bin().arg("degrade").arg(demo()).arg("--out").arg(&out).output().unwrap();
    assert!(!nothing.status.success() && text(&nothing).contains("nothing to do"));
    let missing = bin()
        .arg("degrade")
        .arg(dir.path().join("absent.wav"))
        .arg("--out")
        .arg(&out)
        .args(["--eq", "lowshelf:100:3"])
        .output()
        .unwrap();
    assert!(!missing.status.success() && text(&missing).contains("absent.wav"), "{}", text(&missing));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no partial files");
}

#[test]
fn dataset_degrade_writes_the_paired_domain_with_the_draws_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (clean, _) = tiny_data::build(dir.path());
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/chains/target_domain.toml");
    let out = dir.path().join("degraded");
    let run = || {
        bin()
            .args(["dataset", "degrade", "--dataset"])
            .arg(&clean)
            .arg("--out")
            .arg(&out)
            .arg("--chain")
            .arg(&chain)
            .args(["--seed", "5", "--threads", "2"])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", text(&first));
    assert!(text(&first).contains(&format!("{} degraded, 0 kept", tiny_data::KEPT_NOTES)), "{}", text(&first));
    // The copy opens as a data set with the same notes and labels, and a record of what was drawn.
    let degraded = timbrescope::data::dataset::Dataset::open(&out).unwrap();
    let original = timbrescope::data::dataset::Dataset::open(&clean).unwrap();
    assert_eq!(degraded.notes.len(), original.notes.len());
    for (d, o) in degraded.notes.iter().zip(&original.notes) {
        assert_eq!((d.labels, d.split), (o.labels, o.split));
        let drawn = &d.record.extra["degradation"]["stages"][0]["rt60_s"];
        assert!(drawn.as_f64().is_some_and(|t| (0.2..=1.2).contains(&t)), "{drawn}");
        let audio = degraded.load_audio(d).unwrap();
        assert_ne!(audio, original.load_audio(o).unwrap(), "{} unchanged", d.record.note_str);
    }
    let again = run();
    assert!(text(&again).contains(&format!("0 degraded, {} kept", tiny_data::KEPT_NOTES)), "{}", text(&again));
    // Into the data set itself: refused.
    let onto = bin()
        .args(["dataset", "degrade", "--dataset"])
        .arg(&clean)
        .arg("--out")
        .arg(&clean)
        .arg("--chain")
        .arg(&chain)
        .output()
        .unwrap();
    assert!(!onto.status.success() && text(&onto).contains("the data set itself"), "{}", text(&onto));
}
