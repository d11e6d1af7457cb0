//! `train`, `eval` and `predict`: the learning stages from the command line.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use clap::Args;

use super::progress::{Progress, threads};
use timbrescope::data::dataset::Split;
use timbrescope::learn::assessment::eval::{EvalOptions, MIN_BALANCED_NOTES, NoteStart, evaluate};
use timbrescope::learn::assessment::mixture_eval::{MixtureEvalOptions, evaluate_mixtures};
use timbrescope::learn::assessment::sweep::Sweep;
use timbrescope::learn::network::modelfile;
use timbrescope::learn::{Predictor, Stages, TrainConfig, TrainEvent, TrainOptions, parse_device, train};

#[derive(Args)]
pub struct TrainArgs {
    /// Training config (TOML); left out, a new run uses the shipped models/default.toml and a resumed
    /// run its own.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data set folder (from `dataset synth`, or NSynth's layout).
    #[arg(long)]
    dataset: PathBuf,
    /// A degraded copy of the data set (from `dataset degrade`) to train with as well; repeat it
    /// for several copies (each degraded example is drawn from one of them).
    #[arg(long)]
    degraded: Vec<PathBuf>,
    /// A played copy of the data set's train notes (from `dataset played`): each drawn example
    /// starts from it as often as the config's `[played] probability` says (0.5 without it).
    #[arg(long, conflicts_with = "clean")]
    played: Option<PathBuf>,
    /// Train on clean notes only: the config's `feature_noise`, `feature_reverb` and `feature_eq` are dropped
    /// (the saved config says so), for a model to compare the degraded training against.
    #[arg(long, conflicts_with = "degraded")]
    clean: bool,
    /// Run folder: config, metrics.jsonl, checkpoints, best model, confusion matrices.
    #[arg(long)]
    run: PathBuf,
    /// ssl (contrastive only), mtl (multi-task only) or both.
    #[arg(long, default_value = "both")]
    stage: String,
    /// cpu, or cuda:N with a build that has the `cuda` feature.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Continue a killed run from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Start from this model file's weights (e.g. another run's ssl.safetensors).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Threads for analysing the notes (the network uses every core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct LoloArgs {
    /// A folder with one folder per held-out library, each holding that fold's test_bank.json.
    folds: PathBuf,
    /// The report (JSON) the workbench opens as a heatmap; the matrix is printed as Markdown.
    #[arg(long)]
    out: PathBuf,
}

pub fn run_lolo(args: LoloArgs) -> anyhow::Result<()> {
    let report = timbrescope::learn::assessment::lolo::LoloReport::gather(&args.folds)?;
    let text = serde_json::to_string_pretty(&report)?;
    timbrescope::atomic_file::write_atomically(&args.out, |w| std::io::Write::write_all(w, text.as_bytes()))
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    print!("{}", report.markdown());
    Ok(())
}

/// A model and the split of a data set it reads (`eval`, `embed`).
#[derive(Args)]
pub struct ModelSplit {
    /// A run folder (its best model is used).
    #[arg(long, conflicts_with = "model", required_unless_present = "model")]
    run: Option<PathBuf>,
    /// A model file (.safetensors from a run; `shipped:timbrescope-small.safetensors` is the one
    /// inside the binary).
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long)]
    dataset: PathBuf,
    /// train, valid, test, test_bank or test_real.
    #[arg(long, default_value = "test")]
    split: String,
}

impl ModelSplit {
    /// Evaluation options for this model and split, clean, with the model's own votes.
    pub fn options(self, threads: Option<usize>) -> anyhow::Result<EvalOptions> {
        let split = Split::parse(&self.split)
            .with_context(|| format!("--split {:?}: use train, valid, test, test_bank or test_real", self.split))?;
        let model = self.run.or(self.model).expect("clap requires one");
        Ok(EvalOptions { threads: super::progress::threads(threads)?, ..EvalOptions::new(model, self.dataset, split) })
    }
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    source: ModelSplit,
    /// Degrade every note with this chain first (seeded per note).
    #[arg(long, conflicts_with = "sweep")]
    chain: Option<PathBuf>,
    /// Seed of the chain's or the sweep's draws (each note's own is hash(seed, note)).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Step one degradation and report accuracy at every step: snr=-5:30:5 (white noise, dB),
    /// pink=..., rt60=0.2:2.0:0.2 (s), opus=6,12,24,64 or mp3=... (kbit/s).
    #[arg(long)]
    sweep: Option<String>,
    /// Average the predictions over the input shifted by up to this many semitones either way
    /// (0: the input as it is; default: the model's own setting, `[pitch_shift] votes`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=12))]
    shift_votes: Option<u32>,
    /// Report (JSON).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    threads: Option<usize>,
    /// Where each note starts: at its onset, or at the middle of its sounding part.
    #[arg(long, value_enum, default_value = "onset")]
    from: FromArg,
    /// Analyse the clean notes from their audio instead of reading the feature store (whose
    /// values are kept in 0.5-dB steps), to measure what the steps cost.
    #[arg(long, conflicts_with_all = ["chain", "sweep", "mixtures"])]
    from_audio: bool,
    /// Score mixtures of this many notes of different instruments instead of single notes:
    /// mAP, F1, per-class AP, exact set, and the mask head's SDR (seeded by --seed).
    #[arg(long, conflicts_with_all = ["sweep", "from"], value_parser = clap::value_parser!(u32).range(1..=8))]
    mixtures: Option<u32>,
    /// How many mixtures.
    #[arg(long, default_value_t = 1000, requires = "mixtures")]
    count: usize,
    /// An instrument counts as named at this probability.
    #[arg(long, default_value_t = 0.5, requires = "mixtures")]
    threshold: f32,
    /// Mix the notes' waveforms, as `mix` does, or their stored views in power, as training does.
    #[arg(long, value_enum, default_value = "waveform", requires = "mixtures")]
    mix_in: MixIn,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MixIn {
    Waveform,
    Power,
}

#[derive(Args)]
pub struct PredictArgs {
    /// Clip (WAV, FLAC, MP3, Ogg Vorbis, or a mixture .npz from `mix`); its first 4 s from the
    /// onset are analysed.
    clip: PathBuf,
    /// Model file; without it, the model shipped inside the binary (models/timbrescope-small.safetensors).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Labels per head.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Also every instrument and family the multi-label head hears at or above --threshold
    /// (several at once in a mixture); refused for a model without that head.
    #[arg(long)]
    multi: bool,
    #[arg(long, default_value_t = 0.5, requires = "multi")]
    threshold: f32,
}

pub fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    // This process only trains, so the allocator's thresholds may be set for training steps.
    timbrescope::learn::network::runtime::keep_freed_memory();
    let stage =
        Stages::parse(&args.stage).with_context(|| format!("--stage {:?}: use ssl, mtl or both", args.stage))?;
    let mut config = match &args.config {
        Some(p) => TrainConfig::load(p)?,
        None if args.resume => TrainConfig::load(&args.run.join(timbrescope::learn::training::run::CONFIG_TOML))?,
        None => {
            log::info!("no --config: the shipped models/default.toml");
            TrainConfig::shipped_default()
        }
    };
    if args.clean {
        config.feature_noise = None;
        config.feature_reverb = None;
        config.feature_eq = None;
    }
    let options = TrainOptions {
        config,
        dataset: args.dataset,
        degraded: args.degraded,
        played: args.played,
        run: args.run.clone(),
        stage,
        device: parse_device(&args.device)?,
        resume: args.resume,
        init: args.init,
        threads: threads(args.threads)?,
    };
    let cancel = AtomicBool::new(false);
    let mut bar: Option<(String, Progress)> = None;
    let summary = train(&options, &cancel, &mut |event| match event {
        TrainEvent::Preparing { what, done, total } => {
            if bar.as_ref().is_none_or(|(w, _)| *w != what) {
                bar = Some((what.clone(), Progress::new(&what)));
            }
            if let Some((_, b)) = &bar {
                b.update(done, total);
            }
        }
        TrainEvent::Started { stage, epochs, steps, parameters } => {
            if let Some((_, b)) = bar.take() {
                b.finish();
            }
            eprintln!("{stage}: {epochs} epochs, {steps} steps, {parameters} parameters");
            bar = Some((stage.to_string(), Progress::new(stage.name())));
        }
        TrainEvent::Step { record, steps, .. } => {
            if let Some((_, b)) = &bar {
                b.update(record.step + 1, steps);
            }
        }
        TrainEvent::Validated(record) => {
            let values: Vec<String> = record.values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            eprintln!("{} epoch {} valid: {}", record.stage, record.epoch + 1, values.join(", "));
        }
        TrainEvent::Confusion(_) | TrainEvent::Finished { .. } => {}
    });
    if let Some((_, b)) = bar {
        b.finish();
    }
    let summary = summary.with_context(|| format!("run {}", args.run.display()))?;
    match summary.best {
        Some(best) => println!("best model: {}", best.display()),
        None => println!("run folder: {}", args.run.display()),
    }
    Ok(())
}

pub fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let sweep = args.sweep.as_deref().map(Sweep::parse).transpose().map_err(|e| anyhow::anyhow!("--sweep {e}"))?;
    let opts = EvalOptions {
        chain: args.chain.map(|c| (c, args.seed)),
        shift_votes: args.shift_votes,
        from: args.from.into(),
        from_audio: args.from_audio,
        ..args.source.options(args.threads)?
    };
    if let Some(sweep) = sweep {
        return run_sweep(&opts, &sweep, args.seed, &args.out);
    }
    if let Some(k) = args.mixtures {
        let mix = MixtureEvalOptions {
            model: opts.model,
            dataset: opts.dataset,
            split: opts.split,
            sources: k as usize,
            count: args.count,
            seed: args.seed,
            chain: opts.chain,
            threshold: args.threshold,
            threads: opts.threads,
            in_power: args.mix_in == MixIn::Power,
        };
        return run_mixture_eval(&mix, &args.out);
    }
    let progress = Progress::new("evaluating");
    let report = evaluate(&opts, &|d, t| progress.update(d, t))?;
    progress.finish();
    write_json(&args.out, &report)?;
    let m = &report.metrics;
    // Every head's accuracy, in the order the report's metrics name them.
    let heads: Vec<String> = m
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("acc_").map(|h| format!("{} {:.2}%", h.replace('_', " "), 100.0 * v)))
        .collect();
    println!(
        "{} notes ({}{}{}{}): {}{}{}",
        report.notes,
        report.split,
        if report.from_audio { ", analysed from the audio" } else { "" },
        report.chain.as_ref().map(|c| format!(", chain {c}")).unwrap_or_default(),
        if report.shift_votes > 0 { format!(", shift votes ±{}", report.shift_votes) } else { String::new() },
        heads.join(", "),
        m.get("f1_qualities").map(|f| format!(", qualities F1 {f:.3}")).unwrap_or_default(),
        m.get("r2_descriptors").map(|r| format!(", descriptor R² {r:.3}")).unwrap_or_default(),
    );
    if let Some(balanced) = m.get(&format!("balanced_{}", report.confusion_head())) {
        println!(
            "class-balanced {} accuracy {:.2}% (classes with at least {MIN_BALANCED_NOTES} notes)",
            report.confusion_head(),
            100.0 * balanced
        );
    }
    if let (Some(acc), Some(n)) = (m.get("acc_family_unseen"), m.get("unseen_notes")) {
        println!("family of {n} notes of instruments outside the model's classes: {:.2}%", 100.0 * acc);
    }
    if let Some(p) = &report.library_probe {
        println!(
            "library probe ({} libraries, {}-fold): {:.1}% against chance {:.1}% ({:.2}x); balanced {:.1}% against {:.1}%",
            p.libraries.len(),
            p.folds,
            100.0 * p.accuracy,
            100.0 * p.chance,
            p.over_chance(),
            100.0 * p.balanced_accuracy,
            100.0 * p.balanced_chance,
        );
    }
    Ok(())
}

fn run_mixture_eval(opts: &MixtureEvalOptions, out: &std::path::Path) -> anyhow::Result<()> {
    let progress = Progress::new("mixing and scoring");
    let report = evaluate_mixtures(opts, &|d, t| progress.update(d, t))?;
    progress.finish();
    write_json(out, &report)?;
    println!(
        "{} mixtures of {} ({}{}{}, scores from the {} head): mAP {:.3}, F1 micro {:.3} macro {:.3} at {}, exact set {:.1}%{}",
        report.count,
        report.sources,
        report.split,
        report.chain.as_ref().map(|c| format!(", chain {c}")).unwrap_or_default(),
        if report.in_power { ", mixed in power" } else { "" },
        report.scores_from.replace('_', "-"),
        report.map,
        report.micro_f1,
        report.macro_f1,
        report.threshold,
        100.0 * report.exact_set,
        report.family_map.map(|f| format!(", family mAP {f:.3}")).unwrap_or_default(),
    );
    if let Some(m) = &report.masks {
        println!(
            "masks: SDR {:.2} dB mean, {:.2} dB median (ideal masks on the same grid {:.2} dB), L1 {:.3}",
            m.sdr_db, m.sdr_median_db, m.ideal_sdr_db, m.l1
        );
    }
    Ok(())
}

fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    timbrescope::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn run_sweep(opts: &EvalOptions, sweep: &Sweep, seed: u64, out: &std::path::Path) -> anyhow::Result<()> {
    let progress = Progress::new("sweeping");
    let steps = sweep.values.len() + 1;
    // One bar over every step's notes.
    let report = timbrescope::learn::assessment::sweep::sweep(opts, sweep, seed, &|k, _, d, t| {
        progress.update(k * t.max(1) + d, steps * t.max(1))
    })?;
    progress.finish();
    write_json(out, &report)?;
    let head = if report.clean.accuracy.contains_key("acc_instrument") { "instrument" } else { "family" };
    let key = format!("acc_{head}");
    println!("{} notes, {head} accuracy by {} ({}):", report.notes, report.param.name(), report.unit);
    println!("  clean  {:6.2}%", 100.0 * report.clean.accuracy.get(&key).copied().unwrap_or(0.0));
    for (value, accuracy) in report.curve(head) {
        println!("  {value:>5}  {:6.2}%", 100.0 * accuracy);
    }
    Ok(())
}

pub fn run_predict(args: PredictArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.top >= 1, "--top must be at least 1");
    let clip = super::mix::load_clip_or_mixture(&args.clip)?;
    let mut predictor = match &args.model {
        Some(path) => Predictor::load(path)?,
        None => Predictor::shipped()?,
    };
    let prediction = predictor.predict(&clip.samples, args.top)?;
    let multi = if args.multi {
        anyhow::ensure!(
            args.threshold > 0.0 && args.threshold < 1.0,
            "--threshold must lie in (0, 1), got {}",
            args.threshold
        );
        let Some(multi) = &prediction.multi else {
            anyhow::bail!(
                "--multi: the model {} has no multi-label head (train it with a [polyphony] section)",
                args.model.as_deref().map_or(modelfile::SHIPPED_MODEL_NAME.into(), |p| p.display().to_string())
            );
        };
        let present: serde_json::Map<String, serde_json::Value> = multi
            .heads
            .iter()
            .enumerate()
            .map(|(k, h)| {
                let labels: Vec<serde_json::Value> = multi
                    .present(k, args.threshold)
                    .iter()
                    .map(|(label, p)| serde_json::json!({ "label": label, "probability": p }))
                    .collect();
                (h.head.clone(), serde_json::Value::Array(labels))
            })
            .collect();
        Some(serde_json::json!({ "threshold": args.threshold, "present": present }))
    } else {
        None
    };
    let heads: serde_json::Map<String, serde_json::Value> = prediction
        .heads
        .iter()
        .map(|h| {
            let top: Vec<serde_json::Value> =
                h.top.iter().map(|(label, p)| serde_json::json!({ "label": label, "probability": p })).collect();
            (h.head.clone(), serde_json::Value::Array(top))
        })
        .collect();
    let descriptors: serde_json::Map<String, serde_json::Value> =
        prediction.descriptors.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
    let out = serde_json::json!({
        "clip": args.clip.display().to_string(),
        "model": args.model.as_deref().map_or(modelfile::SHIPPED_MODEL_NAME.into(), |p| p.display().to_string()),
        "shift_votes": predictor.model.meta.shift_votes,
        "window_start_secs": prediction.window_start_secs,
        "heads": heads,
        "descriptors": descriptors,
    });
    let mut out = out;
    if let Some(multi) = multi {
        out["multi"] = multi;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FromArg {
    Onset,
    Middle,
}

impl From<FromArg> for NoteStart {
    fn from(f: FromArg) -> Self {
        match f {
            FromArg::Onset => NoteStart::Onset,
            FromArg::Middle => NoteStart::Middle,
        }
    }
}
