//! NSynth's own labels end to end on a small download in NSynth's layout (nsynth-train,
//! nsynth-valid and nsynth-test under one root) whose notes span all 11 families: the heads follow
//! its schema through training, evaluation and prediction, and bad labels are refused by name.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use common::nsynth_data::{download, tone};
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::schema::SchemaKind;
use timbrescope::data::taxonomy::NSYNTH_FAMILIES;
use timbrescope::learn::assessment::eval::{EvalOptions, evaluate};
use timbrescope::learn::network::modelfile;
use timbrescope::learn::training::run::RunFolder;
use timbrescope::learn::{Predictor, Stages, TrainConfig, TrainOptions, TrainStage, train};

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
        played: None,
        run: run.clone(),
        stage: Stages::Both,
        device: Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    };
    train(&options, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let records = RunFolder::new(&run).read_metrics().unwrap();
    let steps: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "train").collect();
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
        played: None,
        run: dir.path().join("run"),
        stage: Stages::Mtl,
        device: Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    };
    let err = train(&options, &AtomicBool::new(false), &mut |_| {}).err().unwrap().to_string();
    assert!(err.contains("mtl.loss_weights.instrument") && err.contains("family, source"), "{err}");
}
