//! NSynth's own labels end to end on a small download in NSynth's layout (nsynth-train,
//! nsynth-valid and nsynth-test under one root) whose notes span all 11 families: the heads follow
//! its schema through training, evaluation and prediction, and bad labels are refused by name.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use timbrescope::data::dataset::{Dataset, NOTE_SAMPLES, Split};
use timbrescope::data::schema::{NSYNTH_QUALITIES, SchemaKind};
use timbrescope::data::taxonomy::{NSYNTH_FAMILIES, NSYNTH_SOURCES};
use timbrescope::learn::eval::{EvalOptions, evaluate};
use timbrescope::learn::run::RunFolder;
use timbrescope::learn::{Predictor, Stage, TrainConfig, TrainOptions, modelfile, train};

/// A note of family `f` at `pitch`: partials whose strengths and decay depend on the family, so
/// the families differ in what the model sees.
fn tone(f: usize, pitch: u8, velocity: u8) -> Vec<f32> {
    let f0 = 440.0 * 2f32.powf((f32::from(pitch) - 69.0) / 12.0);
    let decay = 0.5 + f as f32 * 0.3;
    let gain = 0.05 + 0.25 * f32::from(velocity) / 127.0;
    (0..NOTE_SAMPLES)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let partials: f32 = (1..=6)
                .filter(|k| f0 * *k as f32 <= 7_500.0)
                .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() / (k as f32).powf(0.3 + f as f32 * 0.25))
                .sum();
            gain * partials * (-t * decay).exp()
        })
        .collect()
}

fn record(f: usize, instrument: usize, pitch: u8, velocity: u8, qualities: u16) -> (String, serde_json::Value) {
    let family = NSYNTH_FAMILIES[f];
    let source = NSYNTH_SOURCES[(f + instrument) % 3];
    let instrument_str = format!("{family}_{source}_{instrument:03}");
    let note_str = format!("{instrument_str}-{pitch:03}-{velocity:03}");
    let flags: Vec<u8> = (0..10).map(|q| (qualities >> q & 1) as u8).collect();
    let names: Vec<&str> = (0..10).filter(|q| qualities >> q & 1 == 1).map(|q| NSYNTH_QUALITIES[q]).collect();
    let value = serde_json::json!({
        "qualities": flags,
        "pitch": pitch,
        "note": 1000 * f + usize::from(pitch),
        "instrument_source_str": source,
        "velocity": velocity,
        "instrument_str": instrument_str,
        "instrument": 100 * f + instrument,
        "sample_rate": 16000,
        "qualities_str": names,
        "instrument_source": (f + instrument) % 3,
        "note_str": note_str,
        "instrument_family": f,
        "instrument_family_str": family,
    });
    (note_str, value)
}

/// Writes one split folder: `instruments` instruments per family, `pitches` pitches each.
fn split(root: &Path, name: &str, first_instrument: usize, pitches: &[u8]) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("audio")).unwrap();
    let mut examples = serde_json::Map::new();
    for f in 0..NSYNTH_FAMILIES.len() {
        for (k, &pitch) in pitches.iter().enumerate() {
            let velocity = [25, 50, 75, 100, 127][(f + k) % 5];
            // Bright (0) for the upper half of the families, dark (1) for the lower; percussive (7)
            // for every third.
            let qualities = (if f >= 6 { 1 } else { 2 }) | if f % 3 == 0 { 1 << 7 } else { 0 };
            let (note_str, value) = record(f, first_instrument, pitch, velocity, qualities);
            let clip = timbrescope::audio::Clip::new(note_str.clone(), tone(f, pitch, velocity), 16000);
            timbrescope::audio::save_wav_pcm16(&dir.join("audio").join(format!("{note_str}.wav")), &clip).unwrap();
            examples.insert(note_str, value);
        }
    }
    std::fs::write(dir.join("examples.json"), serde_json::to_string_pretty(&examples).unwrap()).unwrap();
}

/// An NSynth download's root: 11 families x 6 train, 2 valid and 2 test notes; the test split's
/// instruments are not the train split's, as in NSynth.
fn download(dir: &Path) -> PathBuf {
    let root = dir.join("nsynth");
    split(&root, "nsynth-train", 1, &[48, 52, 55, 60, 64, 67]);
    split(&root, "nsynth-valid", 1, &[50, 62]);
    split(&root, "nsynth-test", 7, &[53, 65]);
    root
}

fn tiny_config() -> TrainConfig {
    let mut c = TrainConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nsynth.toml")).unwrap();
    (c.model.width, c.model.fused, c.model.rnn_hidden, c.model.projection, c.model.dropout) = (24, 24, 12, 16, 0.0);
    (c.ssl.epochs, c.ssl.batch, c.mtl.epochs, c.mtl.batch, c.mtl.max_lr) = (1, 16, 12, 16, 0.01);
    // Clean draws only: 48 steps over 66 notes show learning, which degraded ones slow.
    (c.mtl.mixup_alpha, c.mtl.degraded_fraction, c.feature_eq) = (0.0, 0.0, None);
    c.pitch_shift = None;
    if let Some(r) = &mut c.feature_reverb {
        r.rooms = 4;
    }
    c
}

#[test]
fn nsynth_labels_make_the_heads_of_training_evaluation_and_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let root = download(dir.path());
    let dataset = Dataset::open(&root).unwrap();
    assert_eq!(dataset.notes.len(), 11 * 10);
    let schema = dataset.schema(tiny_config().mtl.pitch);
    assert_eq!(schema.kind, SchemaKind::Nsynth);
    let heads: Vec<(&str, usize)> = schema.heads.iter().map(|h| (h.name.as_str(), h.classes.len())).collect();
    assert_eq!(heads, [("family", 11), ("source", 3), ("pitch", 128), ("velocity", 5)]);
    assert_eq!(schema.qualities.len(), 10);
    for split in [Split::Train, Split::Valid, Split::Test] {
        let families: std::collections::BTreeSet<u16> =
            dataset.split_indices(split).iter().map(|&i| dataset.classes(i, &schema).unwrap().classes[0]).collect();
        assert_eq!(families.len(), 11, "{split:?} spans every family");
    }
    let bass = dataset.notes.iter().position(|n| n.record.note_str == "bass_electronic_001-048-025").unwrap();
    let c = dataset.classes(bass, &schema).unwrap();
    assert_eq!((c.classes[..4].to_vec(), c.qualities), (vec![0, 1, 48, 0], 2 | 1 << 7));

    let run = dir.path().join("run");
    let options = TrainOptions {
        config: tiny_config(),
        dataset: root.clone(),
        degraded: Vec::new(),
        run: run.clone(),
        stage: Stage::Both,
        device: Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    };
    train(&options, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let records = RunFolder::new(&run).read_metrics().unwrap();
    let steps: Vec<_> = records.iter().filter(|r| r.stage == "mtl" && r.split == "train").collect();
    for key in ["loss_family", "loss_source", "loss_pitch", "loss_velocity", "loss_qualities", "acc_family"] {
        assert!(steps.iter().all(|r| r.values.contains_key(key)), "a step lacks {key}");
    }
    let (first, last) = (steps[0].values["loss_family"], steps[steps.len() - 1].values["loss_family"]);
    assert!(last < 0.9 * first, "the family loss {first} -> {last}");
    let valid = records.iter().rfind(|r| r.split == "valid").unwrap();
    assert!(valid.values.contains_key("f1_qualities") && valid.values.contains_key("acc_source"), "{valid:?}");

    let (meta, _) = modelfile::read(&run.join("best.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(meta.schema, schema, "the model file carries its labels");
    assert_eq!(meta.primary_classes().len(), 11);

    // NSynth's test split, instruments unseen in training, is the held-out test.
    let report = evaluate(&EvalOptions::new(run.clone(), root.clone(), Split::Test), &|_, _| {}).unwrap();
    assert_eq!(report.notes, 22);
    assert_eq!(report.per_class_recall.len(), 11);
    assert_eq!((report.confusion.labels.len(), report.confusion.counts.len()), (11, 11));
    for key in ["acc_family", "acc_source", "acc_pitch", "acc_velocity", "f1_qualities", "f1_percussive"] {
        assert!(report.metrics.contains_key(key), "the report lacks {key}: {:?}", report.metrics.keys());
    }
    assert_eq!(report.confusion_head(), "family");

    let mut predictor = Predictor::load(&run.join("best.safetensors")).unwrap();
    let prediction = predictor.predict(&tone(4, 60, 100), 3).unwrap();
    let names: Vec<&str> = prediction.heads.iter().map(|h| h.head.as_str()).collect();
    assert_eq!(names, ["family", "source", "pitch", "velocity", "qualities"]);
    assert!(prediction.heads[0].top.iter().all(|(f, _)| NSYNTH_FAMILIES.contains(&f.as_str())));
}

#[test]
fn unknown_families_qualities_and_loss_weights_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = download(dir.path());
    let examples = root.join("nsynth-valid/examples.json");
    let text = std::fs::read_to_string(&examples).unwrap();
    std::fs::write(
        &examples,
        text.replacen("\"instrument_family_str\": \"flute\"", "\"instrument_family_str\": \"kazoo\"", 1),
    )
    .unwrap();
    let err = Dataset::open(&root).unwrap_err().to_string();
    assert!(err.contains("nsynth-valid") && err.contains("kazoo") && err.contains("flute_"), "{err}");
    std::fs::write(&examples, text.replacen("\"dark\"", "\"gloomy\"", 1)).unwrap();
    let err = Dataset::open(&root).unwrap_err().to_string();
    assert!(err.contains("gloomy") && err.contains("examples.json"), "{err}");
    std::fs::write(&examples, &text).unwrap();

    // The default config's weights name our heads: refused against NSynth's, by name.
    let config = TrainConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.toml")).unwrap();
    let options = TrainOptions {
        config,
        dataset: root,
        degraded: Vec::new(),
        run: dir.path().join("run"),
        stage: Stage::Mtl,
        device: Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    };
    let err = train(&options, &AtomicBool::new(false), &mut |_| {}).err().unwrap().to_string();
    assert!(err.contains("mtl.loss_weights.instrument") && err.contains("family, source"), "{err}");
}
