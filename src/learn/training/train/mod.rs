//! The training loop for both stages: prepares the examples, runs the steps, logs every step to
//! `metrics.jsonl`, validates and checkpoints every epoch, and stops cleanly on cancel or a
//! diverging loss.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Device;
use candle_nn::VarMap;
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use crate::learn::error::LearnError;
use crate::learn::network::model::{Model, build};
use crate::learn::network::modelfile::{self, ModelMeta};
use crate::learn::network::optim::AdamW;
use crate::learn::network::schedule::{OneCycle, Temperature};
use crate::learn::network::stage::{Stages, TrainStage};
use crate::learn::scoring::confusion::Confusion;
use crate::learn::training::config::TrainConfig;
use crate::learn::training::prepare::{PrepareInputs, Prepared, prepare};
use crate::learn::training::run::{BEST_MODEL, CONFIG_TOML, MetricRecord, RunFolder, RunState, RunStatus, STATUS_JSON};

/// A loss above this (or not finite) stops the run: far beyond any honest start (ln 16 = 2.8).
pub const EXPLODED_LOSS: f64 = 1e4;

pub struct TrainOptions {
    pub config: TrainConfig,
    pub dataset: PathBuf,
    /// Degraded copies of the data set (`dataset degrade`), same notes; a degraded example is
    /// drawn from one of them, each as likely.
    pub degraded: Vec<PathBuf>,
    /// A played copy of the data set's train notes (`dataset played`): the note a drawn example
    /// starts from, as often as the config's `[played] probability` says (0.5 without it).
    pub played: Option<PathBuf>,
    pub run: PathBuf,
    pub stage: Stages,
    pub device: Device,
    pub resume: bool,
    /// Start the multi-task stage from this model file's encoders (e.g. another run's SSL).
    pub init: Option<PathBuf>,
    pub threads: usize,
}

/// What the trainer reports while it works.
#[derive(Clone, Debug)]
pub enum TrainEvent {
    Preparing { what: String, done: usize, total: usize },
    Started { stage: TrainStage, epochs: usize, steps: usize, parameters: usize },
    Step { record: MetricRecord, steps: usize, samples_per_sec: f64, eta_secs: f64 },
    Validated(MetricRecord),
    Confusion(Confusion),
    Finished { best: Option<PathBuf> },
}

pub struct TrainSummary {
    pub best: Option<PathBuf>,
    pub last_valid: Option<MetricRecord>,
}

/// Trains as `opts` says; `on_event` hears every step. Returns when done, cancelled (an error
/// of kind [`LearnError::Cancelled`]) or stopped by a diverging loss.
pub fn train(
    opts: &TrainOptions,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<TrainSummary, LearnError> {
    let run = RunFolder::create(&opts.run)?;
    let config_path = run.path(CONFIG_TOML);
    if opts.resume && config_path.exists() {
        let stored = TrainConfig::load(&config_path)?;
        if stored != opts.config {
            return Err(LearnError::Config {
                path: config_path.display().to_string(),
                problem: "the run was started with another config; resume it with that one".into(),
            });
        }
    } else if !opts.resume && run.path(crate::learn::training::run::METRICS_JSONL).exists() {
        return Err(LearnError::Config {
            path: opts.run.display().to_string(),
            problem: "this run folder already holds a run; pass --resume to continue it or choose another folder"
                .into(),
        });
    }
    run.write_json(
        &run.path("dataset.json"),
        &serde_json::json!({ "dataset": opts.dataset, "degraded": opts.degraded, "played": opts.played }),
    )?;
    std::fs::write(&config_path, opts.config.to_toml())
        .map_err(|source| LearnError::Write { path: config_path.clone(), source })?;
    let inputs = PrepareInputs {
        config: &opts.config,
        dataset: &opts.dataset,
        degraded: &opts.degraded,
        played: opts.played.as_deref(),
        threads: opts.threads,
    };
    let prepared =
        prepare(&inputs, &mut |what, done, total| on_event(TrainEvent::Preparing { what: what.into(), done, total }))?;
    let mut trainer = Trainer::new(opts, run, prepared, cancel)?;
    let result = trainer.run_stages(on_event);
    let (state, message) = match &result {
        Ok(_) => (RunState::Done, String::new()),
        Err(LearnError::Cancelled) => (RunState::Cancelled, "cancelled".into()),
        Err(e) => (RunState::Failed, e.to_string()),
    };
    trainer.status.state = state;
    trainer.status.message = message;
    let _ = trainer.run.write_json(&trainer.run.path(STATUS_JSON), &trainer.status);
    if let Ok(summary) = &result {
        on_event(TrainEvent::Finished { best: summary.best.clone() });
    }
    result
}

struct Trainer<'a> {
    opts: &'a TrainOptions,
    run: RunFolder,
    data: Prepared,
    varmap: VarMap,
    model: Model,
    cancel: &'a AtomicBool,
    status: RunStatus,
    start: Instant,
    /// Wall time already spent before a resume.
    wall_offset: f64,
    /// The best model's validation instrument accuracy and loss.
    best: (f64, f64),
    /// Training notes by instrument, then by library: where a contrastive pair's partner comes
    /// from when positives are drawn across libraries.
    partners: Vec<Vec<Vec<usize>>>,
    last_valid: Option<MetricRecord>,
}

/// Whether a validation result beats the best so far: higher instrument accuracy, or the same with
/// a lower loss. Validation accuracy saturates (100% of 405 notes from epoch 27 of 60 in one
/// run), and the first epoch to reach it scored 7 points lower in pink noise than the last.
fn improves(accuracy: f64, loss: f64, (best_accuracy, best_loss): (f64, f64)) -> bool {
    accuracy > best_accuracy || (accuracy == best_accuracy && loss < best_loss)
}

impl<'a> Trainer<'a> {
    fn new(opts: &'a TrainOptions, run: RunFolder, data: Prepared, cancel: &'a AtomicBool) -> Result<Self, LearnError> {
        if !crate::learn::network::fused::runs_fused(&opts.device) {
            log::info!("training on {:?}: the fused CPU kernels give way to Candle's composed ops", opts.device);
        }
        let (varmap, model) = build(&data.meta.spec, opts.config.seed, &opts.device)?;
        if let Some(init) = &opts.init {
            let (meta, tensors) = modelfile::read(init, &opts.device)?;
            if meta.spec != data.meta.spec {
                return Err(LearnError::Architecture {
                    path: init.clone(),
                    problem: "its model config differs from this run's".into(),
                });
            }
            modelfile::fill(&varmap, &tensors, init)?;
        }
        let status = RunStatus {
            state: RunState::Running,
            stage: None,
            epoch: 0,
            epochs: 0,
            step: 0,
            steps: 0,
            message: String::new(),
            pid: Some(std::process::id()),
            host: crate::learn::training::run::host_name(),
        };
        let partners = partner_index(&data.train.targets);
        Ok(Self {
            opts,
            run,
            data,
            varmap,
            model,
            cancel,
            status,
            start: Instant::now(),
            wall_offset: 0.0,
            best: (-1.0, f64::INFINITY),
            last_valid: None,
            partners,
        })
    }

    fn run_stages(&mut self, on_event: &mut dyn FnMut(TrainEvent)) -> Result<TrainSummary, LearnError> {
        let stages = self.opts.stage;
        let mtl_started = self.opts.resume && self.run.checkpoint(TrainStage::Mtl).exists();
        if stages.includes(TrainStage::Ssl) && !mtl_started {
            self.stage(TrainStage::Ssl, on_event)?;
        }
        if stages.includes(TrainStage::Mtl) {
            self.stage(TrainStage::Mtl, on_event)?;
        }
        let best = self.run.path(BEST_MODEL);
        Ok(TrainSummary { best: best.exists().then_some(best), last_valid: self.last_valid.clone() })
    }

    fn wall(&self) -> f64 {
        self.wall_offset + self.start.elapsed().as_secs_f64()
    }

    fn meta(&self, stage: TrainStage, epoch: usize, step: usize) -> ModelMeta {
        let mut meta = self.data.meta.clone();
        meta.stage = Some(stage);
        meta.epoch = epoch;
        meta.step = step;
        meta.notes.insert("wall_secs".into(), serde_json::json!(self.wall()));
        meta
    }

    /// Restores the stage's last checkpoint when resuming; returns the epoch to start from.
    fn restore(&mut self, stage: TrainStage, optimizer: &mut AdamW) -> Result<usize, LearnError> {
        let path = self.run.checkpoint(stage);
        if !(self.opts.resume && path.exists()) {
            // A fresh stage: drop anything logged for it (and later stages) by an earlier attempt.
            self.run.truncate_metrics(|r| r.stage < stage)?;
            return Ok(0);
        }
        let (meta, tensors) = modelfile::read(&path, &self.opts.device)?;
        if meta.spec != self.data.meta.spec {
            return Err(LearnError::Architecture { path, problem: "its model config differs from this run's".into() });
        }
        modelfile::fill(&self.varmap, &tensors, &path)?;
        optimizer
            .restore(&tensors, meta.step)
            .map_err(|e| LearnError::Model { path: path.clone(), problem: e.to_string() })?;
        self.wall_offset = meta.notes.get("wall_secs").and_then(|v| v.as_f64()).unwrap_or(0.0);
        if let Some(best) = meta.notes.get("best_accuracy").and_then(|v| v.as_f64()) {
            // Checkpoints from before the loss was kept count any tie as better.
            self.best = (best, meta.notes.get("best_loss").and_then(|v| v.as_f64()).unwrap_or(f64::INFINITY));
        }
        let epoch = meta.epoch;
        self.run.truncate_metrics(|r| if r.stage == stage { r.epoch < epoch } else { r.stage < stage })?;
        Ok(epoch)
    }

    fn stage(&mut self, stage: TrainStage, on_event: &mut dyn FnMut(TrainEvent)) -> Result<(), LearnError> {
        let config = &self.opts.config;
        let (epochs, batch, max_lr, wd) = match stage {
            TrainStage::Ssl => (config.ssl.epochs, config.ssl.batch, config.ssl.max_lr, config.ssl.weight_decay),
            TrainStage::Mtl => (config.mtl.epochs, config.mtl.batch, config.mtl.max_lr, config.mtl.weight_decay),
        };
        let batch = batch.min(self.data.train.len());
        let steps_per_epoch = (self.data.train.len() / batch).max(1);
        let total = epochs * steps_per_epoch;
        let named = self.varmap.data().lock().expect("the var map is not poisoned").clone();
        let mut optimizer = AdamW::new(&named, wd)?;
        let first_epoch = self.restore(stage, &mut optimizer)?;
        let lr = OneCycle { max_lr, total_steps: total };
        let temperature =
            Temperature { start: config.ssl.temperature_start, end: config.ssl.temperature_end, total_steps: total };
        on_event(TrainEvent::Started {
            stage,
            epochs,
            steps: total,
            parameters: crate::learn::network::model::parameters(&self.varmap),
        });
        self.status.stage = stage.into();
        self.status.epochs = epochs;
        self.status.steps = total;
        let stage_start = Instant::now();
        let mut stage_samples = 0usize;
        for epoch in first_epoch..epochs {
            // One generator per (seed, stage, epoch): a resumed epoch draws what it would have.
            let stream = if stage == TrainStage::Ssl { 1 } else { 2 };
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ (stream << 32) ^ epoch as u64);
            let balanced = stage == TrainStage::Mtl && config.mtl.class_balanced;
            let order = self.data.train.epoch_order(balanced, &mut rng);
            let (train, partners) = (&self.data.train, &self.partners);
            let classes = crate::learn::notes::polyphony::by_class(&train.targets);
            // The next batches are drawn from the store on another thread while this one steps;
            // the queue is bounded, so memory stays a few batches whatever the data set's size.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Drawn, LearnError>>(PREFETCH_BATCHES);
            let mut steps_done = self.status.step;
            let this = &*self;
            let outcome = std::thread::scope(|scope| -> Result<(), LearnError> {
                let producer = std::thread::Builder::new().name("batches".into());
                producer
                    .spawn_scoped(scope, move || {
                        for chunk in order.chunks_exact(batch).take(steps_per_epoch) {
                            let drawn = if stage == TrainStage::Ssl {
                                draw_ssl(train, partners, &config.ssl, chunk, &mut rng).map(Drawn::Ssl)
                            } else {
                                let poly = config.polyphony.as_ref().map(|p| (p, classes.as_slice()));
                                draw_mtl(train, &config.mtl, poly, chunk, &mut rng).map(Drawn::Mtl)
                            };
                            let failed = drawn.is_err();
                            if tx.send(drawn).is_err() || failed {
                                break;
                            }
                        }
                    })
                    .map_err(|e| LearnError::Config { path: "threads".into(), problem: e.to_string() })?;
                for (k, drawn) in rx.iter().enumerate() {
                    if this.cancel.load(Ordering::Relaxed) {
                        return Err(LearnError::Cancelled);
                    }
                    let drawn = drawn?;
                    let step = epoch * steps_per_epoch + k;
                    optimizer.lr = lr.lr(step);
                    let mut values = crate::learn::network::runtime::on_workers(|| match &drawn {
                        Drawn::Ssl(rows) => this.ssl_step(rows, temperature.at(step), &mut optimizer),
                        Drawn::Mtl(b) => this.mtl_step(b, &mut optimizer),
                    })?;
                    let loss = values.get("loss").copied().unwrap_or(f64::NAN);
                    if !loss.is_finite() || loss > EXPLODED_LOSS {
                        return Err(LearnError::Diverged { step, problem: format!("the loss is {loss}") });
                    }
                    values.insert("lr".into(), optimizer.lr);
                    if stage == TrainStage::Ssl {
                        values.insert("temperature".into(), temperature.at(step));
                    }
                    let record =
                        MetricRecord { stage, split: "train".into(), step, epoch, wall_secs: this.wall(), values };
                    this.run.append_metrics(std::slice::from_ref(&record))?;
                    stage_samples += drawn.len();
                    let elapsed = stage_start.elapsed().as_secs_f64();
                    let done = step + 1 - first_epoch * steps_per_epoch;
                    let eta = elapsed / done as f64 * (total - step - 1) as f64;
                    on_event(TrainEvent::Step {
                        record,
                        steps: total,
                        samples_per_sec: stage_samples as f64 / elapsed,
                        eta_secs: eta,
                    });
                    steps_done = step + 1;
                }
                Ok(())
            });
            self.status.step = steps_done;
            outcome?;
            let step = (epoch + 1) * steps_per_epoch;
            let valid = if stage == TrainStage::Ssl {
                self.ssl_valid(epoch, step)?
            } else {
                self.mtl_valid(epoch, step, on_event)?
            };
            self.run.append_metrics(std::slice::from_ref(&valid))?;
            on_event(TrainEvent::Validated(valid.clone()));
            self.last_valid = Some(valid.clone());
            let mut meta = self.meta(stage, epoch + 1, optimizer.step);
            if stage == TrainStage::Mtl {
                let primary = format!("acc_{}", self.data.meta.schema.primary().name);
                let acc = valid.values.get(&primary).copied().unwrap_or(0.0);
                let loss = valid.values.get("loss").copied().unwrap_or(f64::INFINITY);
                if improves(acc, loss, self.best) {
                    self.best = (acc, loss);
                    let mut best = meta.clone();
                    best.notes.insert("valid_instrument_accuracy".into(), serde_json::json!(acc));
                    best.notes.insert("valid_instrument_loss".into(), serde_json::json!(loss));
                    modelfile::save(&self.run.path(BEST_MODEL), &best, &self.varmap, &[])?;
                }
                meta.notes.insert("best_accuracy".into(), serde_json::json!(self.best.0));
                meta.notes.insert("best_loss".into(), serde_json::json!(self.best.1));
            } else {
                // The encoders after contrastive training, usable as `--init` for another run.
                modelfile::save(&self.run.path("ssl.safetensors"), &meta, &self.varmap, &[])?;
            }
            modelfile::save(&self.run.checkpoint(stage), &meta, &self.varmap, &optimizer.state())?;
            self.status.epoch = epoch + 1;
            self.run.write_json(&self.run.path(STATUS_JSON), &self.status)?;
        }
        Ok(())
    }
}

mod draw;
mod steps;

use draw::{Drawn, PREFETCH_BATCHES, draw_mtl, draw_ssl, partner_index};

#[cfg(test)]
mod tests {
    use super::improves;

    #[test]
    fn a_tie_in_accuracy_goes_to_the_lower_loss() {
        assert!(improves(0.5, 2.0, (-1.0, f64::INFINITY)), "the first epoch is the best so far");
        assert!(improves(1.0, 0.05, (0.99, 0.01)), "higher accuracy wins whatever the loss");
        assert!(!improves(0.99, 0.01, (1.0, 0.05)), "lower accuracy loses whatever the loss");
        assert!(improves(1.0, 0.03, (1.0, 0.05)));
        assert!(!improves(1.0, 0.05, (1.0, 0.05)), "an exact tie keeps the earlier model");
    }
}
