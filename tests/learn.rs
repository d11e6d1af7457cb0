//! Training, checkpoints, evaluation and prediction on the tiny data set (two instruments from
//! two tiny SoundFonts): a short run whose loss falls and whose folder holds every file, a killed
//! run resumed to the same weights, evaluation reports, and bad input refused by name.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::Device;
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::learn::assessment::eval::{EvalOptions, evaluate};
use timbrescope::learn::assessment::sweep::Sweep;
use timbrescope::learn::network::modelfile;
use timbrescope::learn::notes::augment::{PitchShift, PitchShiftConfig};
use timbrescope::learn::notes::store::{BuildOptions, StoreSettings, build};
use timbrescope::learn::scoring::vote::{Voter, argmax};
use timbrescope::learn::training::run::{RunFolder, RunState};
use timbrescope::learn::{LearnError, Predictor, Stages, TrainConfig, TrainEvent, TrainOptions, TrainStage, train};

/// The default config, shrunk so a run over ~60 notes takes seconds.
fn tiny_config() -> TrainConfig {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.toml")).unwrap();
    let mut c = TrainConfig::parse(&text, "default.toml").unwrap();
    c.model.width = 24;
    c.model.fused = 24;
    c.model.rnn_hidden = 12;
    c.model.projection = 16;
    // No dropout: its mask comes from Candle's unseeded generator, and the resume test compares weights.
    c.model.dropout = 0.0;
    c.ssl.epochs = 2;
    c.ssl.batch = 16;
    c.mtl.epochs = 4;
    c.mtl.batch = 16;
    // A few steps only: a higher peak rate than the default's 3e-3 shows learning within them.
    c.mtl.max_lr = 0.01;
    c.mtl.mixup_alpha = 0.0;
    // Shifted examples slow learning over so few steps; the shift has its own tests, and the
    // training panel's test runs the default recipe with it.
    c.pitch_shift = None;
    // Single notes only: mixtures have a test of their own below, and a quarter of sixteen
    // examples as mixtures slows what a few steps show of single notes.
    c.polyphony = None;
    // Four rooms are drawn in a moment; the default's 32 take seconds.
    if let Some(r) = &mut c.feature_reverb {
        r.rooms = 4;
    }
    c
}

fn options(data: &Path, run: &Path, config: TrainConfig, stage: Stages) -> TrainOptions {
    TrainOptions {
        config,
        dataset: data.to_owned(),
        degraded: Vec::new(),
        played: None,
        run: run.to_owned(),
        stage,
        device: Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    }
}

fn tiny_data() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = common::tiny_data::build(dir.path());
    (dir, data)
}

#[test]
fn a_tiny_run_learns_and_writes_every_file() {
    let (dir, data) = tiny_data();
    let run = dir.path().join("run");
    let mut events = Vec::new();
    let summary =
        train(&options(&data, &run, tiny_config(), Stages::Both), &AtomicBool::new(false), &mut |e| events.push(e))
            .unwrap();
    for name in [
        "config.toml",
        "dataset.json",
        "metrics.jsonl",
        "status.json",
        "best.safetensors",
        "ssl.safetensors",
        "checkpoints/ssl-last.safetensors",
        "checkpoints/mtl-last.safetensors",
        "confusion/epoch-000.json",
        "confusion/epoch-003.json",
    ] {
        assert!(run.join(name).is_file(), "{name} missing");
    }
    let folder = RunFolder::new(&run);
    assert_eq!(folder.read_status().unwrap().state, RunState::Done);
    assert_eq!(summary.best.as_deref(), Some(run.join("best.safetensors").as_path()));
    let records = folder.read_metrics().unwrap();
    let ssl: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Ssl && r.split == "train").collect();
    let mtl: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "train").collect();
    // ~58 training notes in batches of 16: 3 steps per epoch.
    assert_eq!(ssl.len(), 2 * 3);
    assert_eq!(mtl.len(), 4 * 3);
    for r in &ssl {
        for key in ["loss", "retrieval_acc", "lr", "temperature"] {
            assert!(r.values.contains_key(key), "ssl step lacks {key}");
        }
    }
    for key in [
        "loss",
        "loss_instrument",
        "loss_family",
        "loss_pitch_class",
        "loss_velocity",
        "loss_descriptors",
        "acc_instrument",
        "lr",
    ] {
        assert!(mtl.iter().all(|r| r.values.contains_key(key)), "mtl step lacks {key}");
    }
    // The temperature anneals, and the 1cycle rate peaks inside the stage.
    assert!(ssl.last().unwrap().values["temperature"] < ssl[0].values["temperature"]);
    let lrs: Vec<f64> = mtl.iter().map(|r| r.values["lr"]).collect();
    let peak = lrs.iter().cloned().fold(0.0, f64::max);
    assert!(peak > lrs[0] && peak > *lrs.last().unwrap());
    // The loss falls: the last epoch's mean below the first step's, the instrument's most.
    let mean_of = |key: &str, rows: &[&timbrescope::learn::MetricRecord]| {
        rows.iter().map(|r| r.values[key]).sum::<f64>() / rows.len() as f64
    };
    let (first, last) = (&mtl[..1], &mtl[mtl.len() - 3..]);
    let (total0, total1) = (mean_of("loss", first), mean_of("loss", last));
    let (inst0, inst1) = (mean_of("loss_instrument", first), mean_of("loss_instrument", last));
    eprintln!("multi-task loss {total0} -> {total1}, instrument {inst0} -> {inst1}");
    assert!(total1 < 0.95 * total0, "multi-task loss {total0} -> {total1}");
    assert!(inst1 < 0.75 * inst0, "instrument loss {inst0} -> {inst1}");
    let valid: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "valid").collect();
    assert_eq!(valid.len(), 4);
    assert!(valid.iter().all(|r| r.values.contains_key("acc_family") && r.values.contains_key("r2_descriptors")));
    // Events: preparation, both stages, every step, every validation, one confusion matrix per mtl epoch.
    let steps = events.iter().filter(|e| matches!(e, TrainEvent::Step { .. })).count();
    assert_eq!(steps, 18);
    assert_eq!(events.iter().filter(|e| matches!(e, TrainEvent::Confusion(_))).count(), 4);
    let confusion = folder.latest_confusion().unwrap();
    assert_eq!(confusion.epoch, 3);
    let total: u32 = confusion.counts.iter().flatten().sum();
    assert_eq!(total as usize, confusion.notes.len());

    // The best model evaluates on the test splits and predicts a clip.
    let report = evaluate(&EvalOptions::new(run.clone(), data.clone(), Split::Test), &|_, _| {}).unwrap();
    let counts: u32 = report.confusion.counts.iter().flatten().sum();
    assert_eq!(counts as usize, report.notes);
    let diagonal: u32 = (0..3).map(|i| report.confusion.counts[i][i]).sum();
    assert!((report.metrics["acc_instrument"] - f64::from(diagonal) / report.notes as f64).abs() < 1e-12);
    for key in ["acc_family", "acc_pitch_class", "acc_velocity", "r2_centroid_hz", "r2_descriptors"] {
        assert!(report.metrics.contains_key(key), "report lacks {key}");
    }
    // The best model, evaluated on the valid split by the evaluation path (features computed
    // afresh), scores what the training loop measured for it.
    let valid_report = evaluate(&EvalOptions::new(run.clone(), data.clone(), Split::Valid), &|_, _| {}).unwrap();
    let best_valid = valid.iter().map(|r| r.values["acc_instrument"]).fold(0.0, f64::max);
    assert!(
        (valid_report.metrics["acc_instrument"] - best_valid).abs() < 1e-9,
        "{:?} vs {best_valid}",
        valid_report.metrics
    );
    let bank = evaluate(&EvalOptions::new(run.clone(), data.clone(), Split::TestBank), &|_, _| {}).unwrap();
    assert!(bank.notes > 0);
    let chain = dir.path().join("noise.toml");
    std::fs::write(&chain, "[[stage]]\nkind = \"noise\"\ncolor = \"pink\"\nsnr_db = 10.0\n").unwrap();
    let noisy = evaluate(
        &EvalOptions {
            chain: Some((chain, 3)),
            shift_votes: Some(1),
            ..EvalOptions::new(run.clone(), data.clone(), Split::Test)
        },
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(noisy.notes, report.notes);
    assert_eq!((noisy.chain_seed, noisy.shift_votes, report.shift_votes), (Some(3), 1, 0));

    // A sweep scores the same notes as `evaluate`: its clean step is the clean report, and its
    // 50 dB step is the report through a chain file of white noise at 50 dB with the same seed.
    // The training split: more notes than the test split's, and ones the tiny model has learnt.
    let train_split = EvalOptions::new(run.clone(), data.clone(), Split::Train);
    let clean_train = evaluate(&train_split, &|_, _| {}).unwrap();
    // The same notes analysed from their audio instead of read from the store's 0.5-dB steps:
    // the steps cost next to nothing.
    let audio_split = EvalOptions { from_audio: true, ..EvalOptions::new(run.clone(), data.clone(), Split::Train) };
    let from_audio = evaluate(&audio_split, &|_, _| {}).unwrap();
    assert!(from_audio.from_audio && !clean_train.from_audio);
    assert_eq!(from_audio.notes, clean_train.notes);
    let (a, s) = (from_audio.metrics["acc_instrument"], clean_train.metrics["acc_instrument"]);
    eprintln!("train split from the audio {a:.4}, from the store {s:.4}");
    assert!((a - s).abs() <= 0.05, "from the audio {a}, from the store {s}");
    let sweep = Sweep::parse("snr=-30:50:20").unwrap();
    let swept = timbrescope::learn::assessment::sweep::sweep(&train_split, &sweep, 3, &|_, _, _, _| {}).unwrap();
    assert_eq!(swept.notes, clean_train.notes);
    assert_eq!(swept.clean.accuracy["acc_instrument"], clean_train.metrics["acc_instrument"]);
    let white = dir.path().join("white50.toml");
    std::fs::write(&white, "[[stage]]\nkind = \"noise\"\ncolor = \"white\"\nsnr_db = 50.0\n").unwrap();
    let at50 = evaluate(
        &EvalOptions { chain: Some((white, 3)), ..EvalOptions::new(run.clone(), data.clone(), Split::Train) },
        &|_, _| {},
    )
    .unwrap();
    let curve = swept.curve("instrument");
    eprintln!("clean {:.3}, sweep {curve:?}", swept.clean.accuracy["acc_instrument"]);
    assert_eq!(curve.iter().map(|c| c.0).collect::<Vec<_>>(), vec![-30.0, -10.0, 10.0, 30.0, 50.0]);
    assert_eq!(curve[4].1, at50.metrics["acc_instrument"]);
    // Each note keeps its noise across steps, only scaled, so accuracy can only rise with the
    // SNR, within one note of the test split.
    let one_note = 1.0 / clean_train.notes as f64;
    for w in curve.windows(2) {
        assert!(w[1].1 >= w[0].1 - one_note - 1e-12, "accuracy falls from {:?} to {:?}", w[0], w[1]);
    }
    assert!(curve[4].1 > curve[0].1, "50 dB {:?} is no better than -30 dB {:?}", curve[4], curve[0]);

    // Embeddings line up with the data set: one row per test note, each labelled as the data
    // set labels it, answered as the report scored it, and read back from the file as written.
    let embedded = timbrescope::learn::explanation::embed::embed(
        &EvalOptions::new(run.clone(), data.clone(), Split::Test),
        &|_, _| {},
    )
    .unwrap();
    let opened = timbrescope::data::dataset::Dataset::open(&data).unwrap();
    assert_eq!(embedded.len(), report.notes);
    assert_eq!(
        (embedded.fused.rows, embedded.z_stft.rows, embedded.z_cqt.rows),
        (report.notes, report.notes, report.notes)
    );
    assert_eq!((embedded.z_stft.cols, embedded.z_cqt.cols), (16, 16));
    assert_eq!(embedded.meta.classes, vec!["tone_a", "tone_b", "absent"]);
    for (row, note_str) in embedded.meta.notes.iter().enumerate() {
        let i = opened.notes.iter().position(|n| &n.record.note_str == note_str).unwrap();
        assert_eq!(opened.notes[i].split, Some(Split::Test));
        assert_eq!(opened.notes[i].labels.instrument.map(i32::from), Some(embedded.label[row]), "{note_str}");
        assert_eq!(embedded.meta.libraries[row], opened.notes[i].record.bank.clone().unwrap_or_default());
    }
    let right = embedded.label.iter().zip(&embedded.predicted).filter(|(a, b)| a == b).count();
    assert_eq!(right as f64 / report.notes as f64, report.metrics["acc_instrument"]);
    let file = dir.path().join("emb.npz");
    embedded.write(&file).unwrap();
    assert_eq!(timbrescope::learn::explanation::embed::Embeddings::read(&file).unwrap(), embedded);
    let alignment = embedded.cross_view_alignment();
    assert!((-1.0..=1.0).contains(&alignment), "{alignment}");

    let dataset = timbrescope::data::dataset::Dataset::open(&data).unwrap();
    let note = dataset.notes.iter().find(|n| n.split == Some(Split::Test)).unwrap();
    let samples = dataset.load_audio(note).unwrap();
    let mut predictor = Predictor::load(&run.join("best.safetensors")).unwrap();
    let p = predictor.predict(&samples, 2).unwrap();
    let inst = p.head("instrument").unwrap();
    assert_eq!(inst.top.len(), 2);
    assert!(inst.top[0].1 >= inst.top[1].1);
    let sum: f32 = predictor.predict(&samples, 16).unwrap().head("instrument").unwrap().top.iter().map(|t| t.1).sum();
    assert!((sum - 1.0).abs() < 1e-4, "probabilities sum to {sum}");
}

#[test]
fn training_and_evaluation_stream_from_the_store_once_the_audio_is_gone() {
    let (dir, data) = tiny_data();
    let mut config = tiny_config();
    config.ssl.epochs = 1;
    config.mtl.epochs = 2;
    let dataset = Dataset::open(&data).unwrap();
    let settings = StoreSettings::for_input(&config.input);
    build(&dataset, &settings, &BuildOptions { threads: 2, ..Default::default() }, &|_, _| {}).unwrap();
    std::fs::remove_dir_all(data.join("audio")).unwrap();
    let run = dir.path().join("run");
    let mut preparing = Vec::new();
    train(&options(&data, &run, config, Stages::Both), &AtomicBool::new(false), &mut |e| {
        if let TrainEvent::Preparing { what, .. } = e {
            preparing.push(what);
        }
    })
    .unwrap();
    // Nothing was analysed: the store was complete, and only the floored statistics were read.
    assert!(preparing.iter().all(|w| !w.contains("analys")), "{preparing:?}");
    let records = RunFolder::new(&run).read_metrics().unwrap();
    assert_eq!(records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "valid").count(), 2);
    let report = evaluate(
        &EvalOptions { shift_votes: Some(0), ..EvalOptions::new(run, data.clone(), Split::Valid) },
        &|_, _| {},
    )
    .unwrap();
    assert_eq!(report.notes, dataset.split_indices(Split::Valid).len());
    // Through a chain the waveform is needed, and its absence is named.
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/chains/eval/pink_10db.toml");
    let err = evaluate(
        &EvalOptions {
            chain: Some((chain, 1)),
            shift_votes: Some(0),
            ..EvalOptions::new(dir.path().join("run"), data, Split::Valid)
        },
        &|_, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains(".wav"), "{err}");
}

#[test]
fn a_killed_run_resumes_to_the_same_weights() {
    let (dir, data) = tiny_data();
    let mut config = tiny_config();
    config.mtl.epochs = 3;
    // Uninterrupted.
    let whole = dir.path().join("whole");
    train(&options(&data, &whole, config.clone(), Stages::Mtl), &AtomicBool::new(false), &mut |_| {}).unwrap();
    // Cancelled once the first epoch's checkpoint is written, then resumed.
    let parts = dir.path().join("parts");
    let cancel = AtomicBool::new(false);
    let err = train(&options(&data, &parts, config.clone(), Stages::Mtl), &cancel, &mut |e| {
        if matches!(e, TrainEvent::Validated(_)) {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .err()
    .unwrap();
    assert!(matches!(err, LearnError::Cancelled), "{err}");
    let folder = RunFolder::new(&parts);
    assert_eq!(folder.read_status().unwrap().state, RunState::Cancelled);
    assert_eq!(folder.read_status().unwrap().epoch, 1);
    // Refused without --resume: the folder holds a run.
    let again = train(&options(&data, &parts, config.clone(), Stages::Mtl), &AtomicBool::new(false), &mut |_| {});
    assert!(matches!(again, Err(LearnError::Config { .. })));
    let mut resume = options(&data, &parts, config.clone(), Stages::Mtl);
    resume.resume = true;
    train(&resume, &AtomicBool::new(false), &mut |_| {}).unwrap();
    // Every step logged once, in order.
    let steps: Vec<usize> =
        folder.read_metrics().unwrap().iter().filter(|r| r.split == "train").map(|r| r.step).collect();
    assert_eq!(steps, (0..9).collect::<Vec<_>>());
    let (_, a) = modelfile::read(&whole.join("checkpoints/mtl-last.safetensors"), &Device::Cpu).unwrap();
    let (meta, b) = modelfile::read(&parts.join("checkpoints/mtl-last.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(meta.epoch, 3);
    let mut worst = 0f32;
    for (name, t) in &a {
        let d = (t - &b[name]).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        worst = worst.max(d);
    }
    // The same data order, weights and Adam moments: only summation order in threaded matrix
    // products can differ, far below a training step's change (lr 3e-3).
    assert!(worst < 1e-4, "resumed weights differ by {worst}");
}

#[test]
fn bad_input_is_refused_before_work_starts() {
    let (dir, data) = tiny_data();
    let cancel = AtomicBool::new(false);
    // A data set with no valid split.
    let examples = data.join("examples.json");
    let text = std::fs::read_to_string(&examples).unwrap();
    let no_valid = dir.path().join("no_valid");
    std::fs::create_dir_all(no_valid.join("audio")).unwrap();
    std::fs::write(no_valid.join("examples.json"), text.replace("\"split\": \"valid\"", "\"split\": \"train\""))
        .unwrap();
    std::fs::copy(data.join("taxonomy.json"), no_valid.join("taxonomy.json")).unwrap();
    for entry in std::fs::read_dir(data.join("audio")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), no_valid.join("audio").join(entry.file_name())).unwrap();
    }
    let err = train(&options(&no_valid, &dir.path().join("r1"), tiny_config(), Stages::Mtl), &cancel, &mut |_| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("valid split"), "{err}");
    assert!(!dir.path().join("r1/metrics.jsonl").exists());

    // Two degraded copies, the second lacking a train note: refused, naming the note and the copy.
    let partial = dir.path().join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    let mut records: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    let dropped = records.iter().find(|(_, r)| r["split"] == "train").map(|(k, _)| k.clone()).unwrap();
    records.remove(&dropped);
    std::fs::write(partial.join("examples.json"), serde_json::to_string(&records).unwrap()).unwrap();
    std::fs::copy(data.join("taxonomy.json"), partial.join("taxonomy.json")).unwrap();
    std::fs::create_dir_all(partial.join("audio")).unwrap();
    for entry in std::fs::read_dir(data.join("audio")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), partial.join("audio").join(entry.file_name())).unwrap();
    }
    let mut opts = options(&data, &dir.path().join("r1b"), tiny_config(), Stages::Mtl);
    opts.degraded = vec![data.clone(), partial.clone()];
    let err = train(&opts, &cancel, &mut |_| {}).err().unwrap();
    assert!(err.to_string().contains(&dropped) && err.to_string().contains("partial"), "{err}");
    // Both copies complete (here the clean notes twice): each has its store and the run trains.
    let mut config = tiny_config();
    config.mtl.epochs = 1;
    let mut opts = options(&data, &dir.path().join("r1c"), config, Stages::Mtl);
    opts.degraded = vec![data.clone(), data.clone()];
    let mut copies = Vec::new();
    train(&opts, &cancel, &mut |e| {
        if let TrainEvent::Preparing { what, .. } = e {
            copies.push(what);
        }
    })
    .unwrap();
    assert!(copies.iter().any(|w| w.contains("copy 2 of 2")), "{copies:?}");

    // An exploding loss stops the run with a message and a failed status.
    let mut config = tiny_config();
    config.mtl.loss_weights.set("descriptors", 1e30);
    let run = dir.path().join("r2");
    let err = train(&options(&data, &run, config, Stages::Mtl), &cancel, &mut |_| {}).err().unwrap();
    assert!(matches!(err, LearnError::Diverged { step: 0, .. }), "{err}");
    let status = RunFolder::new(&run).read_status().unwrap();
    assert_eq!(status.state, RunState::Failed);
    assert!(status.message.contains("loss"), "{}", status.message);

    // A model of another architecture as the starting point.
    let small = dir.path().join("r3");
    let mut config = tiny_config();
    config.mtl.epochs = 1;
    train(&options(&data, &small, config.clone(), Stages::Mtl), &cancel, &mut |_| {}).unwrap();
    config.model.width = 32;
    let mut opts = options(&data, &dir.path().join("r4"), config, Stages::Mtl);
    opts.init = Some(small.join("best.safetensors"));
    let err = train(&opts, &cancel, &mut |_| {}).err().unwrap();
    assert!(matches!(err, LearnError::Architecture { .. }), "{err}");

    // An empty split for evaluation, and a file that is not a model.
    let err = evaluate(&EvalOptions::new(small.join("best.safetensors"), no_valid.clone(), Split::Valid), &|_, _| {})
        .err()
        .unwrap();
    assert!(err.to_string().contains("valid split"), "{err}");
    let err = evaluate(
        &EvalOptions {
            shift_votes: Some(13),
            ..EvalOptions::new(small.join("best.safetensors"), data.clone(), Split::Test)
        },
        &|_, _| {},
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("--shift-votes"), "{err}");
    let err = Predictor::load(&small.join("config.toml")).err().unwrap();
    assert!(err.to_string().contains("config.toml"), "{err}");
}

#[test]
fn the_conformer_backbone_trains_and_round_trips_through_its_file() {
    let (dir, data) = tiny_data();
    let mut config = tiny_config();
    config.model.backbone = timbrescope::learn::network::model::Backbone::Conformer;
    (config.model.heads, config.model.conformer_blocks) = (4, 1);
    config.mtl.epochs = 2;
    // Never shifted in training, but voting over a semitone either way: the file carries it.
    config.pitch_shift = Some(PitchShiftConfig { probability: 0.0, semitones: 1, votes: 1 });
    let run = dir.path().join("conformer");
    train(&options(&data, &run, config, Stages::Mtl), &AtomicBool::new(false), &mut |_| {}).unwrap();
    let records = RunFolder::new(&run).read_metrics().unwrap();
    let losses: Vec<f64> = records.iter().filter(|r| r.split == "train").map(|r| r.values["loss"]).collect();
    assert_eq!(losses.len(), 6);
    assert!(losses.iter().all(|l| l.is_finite()));
    // Everything a prediction needs is in the file: two loads predict the same.
    let dataset = timbrescope::data::dataset::Dataset::open(&data).unwrap();
    let samples = dataset.load_audio(&dataset.notes[0]).unwrap();
    let model = run.join("best.safetensors");
    let a = Predictor::load(&model).unwrap().predict(&samples, 3).unwrap();
    let b = Predictor::load(&model).unwrap().predict(&samples, 3).unwrap();
    assert_eq!(a, b);
    let loaded = modelfile::load(&model, &Device::Cpu).unwrap();
    assert_eq!(loaded.meta.spec.model.backbone, timbrescope::learn::network::model::Backbone::Conformer);
    assert_eq!(loaded.meta.shift_votes, 1);
}

#[test]
fn shift_votes_read_every_copy_back_at_the_notes_own_pitch() {
    // The shipped model and the demo violin A4 (pitch class 9): a copy moved by k semitones
    // hears pitch class 9 + k, and the vote, which moves each copy's pitch class back, hears A.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clip = timbrescope::audio::load_clip(&root.join("assets/demo/violin_A4.wav")).unwrap();
    let mut predictor = Predictor::load(&root.join("models/timbrescope-small.safetensors")).unwrap();
    let (inputs, shape, _) = predictor.inputs(&clip.samples);
    let meta = &predictor.model.meta;
    let model = &predictor.model.model;
    let shift = PitchShift::new(
        PitchShiftConfig { probability: 1.0, semitones: 2, votes: 0 },
        &meta.standardizer,
        &meta.spec.input,
        meta.descriptor_mean,
        meta.descriptor_std,
    );
    let plain = Voter::new(meta, 0).unwrap();
    let mut embedded = Vec::new();
    for k in -2..=2 {
        let mut moved = inputs.clone();
        shift.apply(&mut moved, k);
        let p = plain.probabilities(model, &shape, &[&moved], &Device::Cpu).unwrap();
        assert_eq!(argmax(&p.classes[2][0]), (9 + k).rem_euclid(12) as usize, "moved by {k}");
        embedded.push(p.embedding[0].clone());
    }
    let voted = Voter::new(meta, 2).unwrap().probabilities(model, &shape, &[&inputs], &Device::Cpu).unwrap();
    // The vote's embedding is the unshifted input's, taken from the same batch as its copies.
    let distance = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(distance(&voted.embedding[0], &embedded[2]) < 1e-4);
    assert!(distance(&voted.embedding[0], &embedded[4]) > 1e-2, "a shifted copy's embedding differs");
    // The shipped model's heads, from its file written before label schemas.
    let heads: Vec<&str> = meta.schema.heads.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(heads, ["instrument", "family", "pitch_class", "velocity"]);
    assert_eq!(argmax(&voted.classes[2][0]), 9);
    // Read back at the wrong pitch, only the unshifted copy would put its weight on A: a fifth.
    assert!(voted.classes[2][0][9] > 0.8, "{:?}", voted.classes[2][0]);
    assert_eq!(meta.primary_classes()[argmax(&voted.classes[0][0])], "violin");
    // Each head's vote is still a distribution.
    for row in voted.classes.iter().map(|head| &head[0]) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    assert!(Voter::new(meta, 13).is_err());
}

#[test]
fn predict_from_the_command_line_votes_as_the_shipped_model_says() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = root.join("models/timbrescope-small.safetensors");
    let run = |clip: &Path, model: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_timbrescope"))
            .arg("predict")
            .arg(clip)
            .arg("--model")
            .arg(model)
            .output()
            .unwrap()
    };
    let out = run(&root.join("assets/demo/violin_A4.wav"), &model);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["shift_votes"], 2);
    assert_eq!(json["heads"]["instrument"][0]["label"], "violin");
    assert_eq!(json["heads"]["pitch_class"][0]["label"], "A");
    let missing = root.join("models/no-such-model.safetensors");
    let out = run(&root.join("assets/demo/violin_A4.wav"), &missing);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-model.safetensors"));
}

#[test]
fn two_libraries_train_with_the_adversary_and_cross_library_pairs_and_are_probed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = common::tiny_data::banks(dir.path());
    let data = dir.path().join("pool");
    let options_synth =
        timbrescope::data::synth::SynthOptions { train_banks: 2, ..common::tiny_data::options(&[a, b], &data) };
    timbrescope::data::synth::synthesize(&options_synth, &|_, _| {}).unwrap();
    let mut config = tiny_config();
    config.ssl.positives = timbrescope::learn::training::config::Positives::OtherLibrary;
    config.mtl.library_adversary =
        Some(timbrescope::learn::scoring::score::LibraryAdversary { weight: 0.5, reversal: 1.0 });
    let run = dir.path().join("run");
    train(&options(&data, &run, config, Stages::Both), &AtomicBool::new(false), &mut |_| {}).unwrap();
    let records = RunFolder::new(&run).read_metrics().unwrap();
    let mtl_steps: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "train").collect();
    assert!(mtl_steps.iter().all(|r| r.values.contains_key("loss_library")), "the adversary's loss is logged");
    let valid: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "valid").collect();
    for r in &valid {
        let (probe, chance) = (r.values["probe_library"], r.values["probe_chance"]);
        assert!((0.0..=1.0).contains(&probe) && (0.5..1.0).contains(&chance), "{probe} against {chance}");
    }
    let loaded = modelfile::load(&run.join("best.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(loaded.meta.libraries, ["tiny_a", "tiny_b"]);
    assert_eq!(loaded.meta.spec.classes.library, 2);

    // eval probes the libraries of the notes it scores; one library gives nothing to probe.
    let eval = |split: Split| evaluate(&EvalOptions::new(run.clone(), data.clone(), split), &|_, _| {}).unwrap();
    let report = eval(Split::Train);
    let probe = report.library_probe.clone().expect("two libraries in the train split");
    assert_eq!(probe.libraries, ["tiny_a", "tiny_b"]);
    assert_eq!(probe.notes_per_library.iter().sum::<usize>(), report.notes);
    assert!(probe.chance >= 0.5 && probe.accuracy <= 1.0);
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["library_probe"]["accuracy"].is_number());
}

#[test]
fn a_polyphonic_run_trains_its_heads_and_is_scored_on_mixtures() {
    use timbrescope::learn::assessment::mixture_eval::{MixtureEvalOptions, evaluate_mixtures};
    use timbrescope::learn::notes::polyphony::PolyphonyConfig;
    let (dir, data) = tiny_data();
    let run = dir.path().join("run");
    let mut config = tiny_config();
    config.polyphony = Some(PolyphonyConfig { share: 0.5, sources: [2, 2], label_weight: 1.0, mask_weight: 1.0 });
    train(&options(&data, &run, config, Stages::Both), &AtomicBool::new(false), &mut |_| {}).unwrap();
    let records = RunFolder::new(&run).read_metrics().unwrap();
    let steps: Vec<_> = records.iter().filter(|r| r.stage == TrainStage::Mtl && r.split == "train").collect();
    for key in ["loss_multi_label", "loss_mask"] {
        assert!(steps.iter().all(|r| r.values[key].is_finite()), "a step lacks {key}");
    }
    let model = run.join("best.safetensors");
    let meta = modelfile::load(&model, &Device::Cpu).unwrap().meta;
    assert_eq!(meta.spec.classes.multi_label, vec![0, 1], "instruments, then families");
    assert!(meta.spec.classes.masks);

    let opts = MixtureEvalOptions {
        model: model.clone(),
        dataset: data.clone(),
        split: Split::Test,
        sources: 2,
        count: 12,
        seed: 4,
        chain: None,
        threshold: 0.5,
        threads: 2,
        in_power: false,
    };
    let report = evaluate_mixtures(&opts, &|_, _| {}).unwrap();
    assert_eq!((report.count, report.sources, report.scores_from.as_str()), (12, 2, "multi_label"));
    let named: Vec<&str> = report.per_class_ap.keys().map(String::as_str).collect();
    assert_eq!(named, ["absent", "tone_a", "tone_b"]);
    // tone_a is in the most notes of the split: in some mixture, so it has an AP.
    assert!(report.per_class_ap["tone_a"].is_some_and(|ap| (0.0..=1.0).contains(&ap)));
    assert!((0.0..=1.0).contains(&report.map) && (0.0..=1.0).contains(&report.exact_set));
    let masks = report.masks.as_ref().expect("the model has a mask head");
    // The ideal masks on the model's grid are the bound: far above a mask that passes the mixture.
    assert!(masks.ideal_sdr_db > 10.0 && masks.ideal_sdr_db >= masks.sdr_db, "{masks:?}");
    assert!((0.0..=1.0).contains(&masks.l1));
    // The same seed draws the same mixtures.
    let again = evaluate_mixtures(&opts, &|_, _| {}).unwrap();
    assert_eq!(again.masks.as_ref().map(|m| m.sdr_db), Some(masks.sdr_db));
    // A clip's prediction lists every instrument and family with its own probability, and the
    // mask head gives asked classes masks that share each cell.
    let dataset = Dataset::open(&data).unwrap();
    let samples = dataset.load_audio(&dataset.notes[0]).unwrap();
    let mut predictor = Predictor::load(&model).unwrap();
    let multi = predictor.predict(&samples, 3).unwrap().multi.expect("a multi-label head");
    let heads: Vec<(&str, usize)> = multi.heads.iter().map(|h| (h.head.as_str(), h.top.len())).collect();
    assert_eq!(heads, [("instrument", 3), ("family", 3)]);
    assert!(multi.heads.iter().flat_map(|h| &h.top).all(|(_, p)| (0.0..=1.0).contains(p)));
    let masks = predictor.masks(&samples, &[1, 2]).unwrap().expect("a mask head");
    assert_eq!((masks.masks.len(), masks.frames, masks.bins), (2, 62, 128));
    assert!((0..masks.masks[0].len()).all(|c| (masks.masks[0][c] + masks.masks[1][c] - 1.0).abs() < 1e-4));
    // Bad settings are refused by name before any work.
    let bad = evaluate_mixtures(&MixtureEvalOptions { threshold: 1.5, ..opts }, &|_, _| {}).unwrap_err();
    assert!(bad.to_string().contains("--threshold"), "{bad}");
}
