//! The training panel: choose data, config and stage, start and cancel a background run, watch
//! its progress, and plot every logged series of one or more runs side by side.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32};

pub use self::mixtures::MixtureChoice;
use super::confusion::CellAction;
use crate::jobs::train::{TrainJob, TrainJobEvent};
use crate::learn::assessment::lolo::LoloReport;
use crate::learn::training::run::RunWatch;
use crate::learn::{Stages, TrainConfig, TrainEvent, TrainOptions, TrainStage};

/// Choices that survive a restart.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainSettings {
    pub dataset: String,
    pub degraded: String,
    /// A played copy of the data set's train notes (`dataset played`), or empty.
    pub played: String,
    pub config: String,
    pub stage: Stages,
    /// Where new runs are made, one folder each.
    pub runs_dir: String,
    /// Runs shown in the plots.
    pub watched: Vec<PathBuf>,
    /// The extra series plotted below the fixed ones.
    pub extra_series: String,
    /// Exponential smoothing of the per-step (train) series, 0 for none.
    pub smoothing: f64,
    /// Mixtures in training: as the config says, none, or a share of each batch.
    pub mixtures: MixtureChoice,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            dataset: "data/nsynth-sf2".into(),
            degraded: String::new(),
            played: String::new(),
            // Empty: the config inside the binary, which is models/default.toml.
            config: String::new(),
            stage: Stages::Both,
            runs_dir: "runs".into(),
            watched: Vec::new(),
            extra_series: "loss_instrument".into(),
            smoothing: 0.9,
            mixtures: MixtureChoice::FromConfig,
        }
    }
}

/// What the panel asks of the workbench.
pub enum TrainAction {
    /// Load this note of this data set into the views.
    LoadNote { dataset: PathBuf, note: String },
    /// Load this note, and beside it the training note of `class` nearest in the run's model's
    /// embedding.
    Nearest { run: PathBuf, dataset: PathBuf, note: String, class: usize },
    /// Use this model file for predictions.
    UseModel(PathBuf),
    /// The run failed: say so in the status bar too.
    Failed(String),
}

#[derive(Clone, Debug, Default)]
pub struct Progress {
    pub preparing: Option<(String, usize, usize)>,
    pub stage: Option<TrainStage>,
    pub step: usize,
    pub steps: usize,
    pub samples_per_sec: f64,
    pub eta_secs: f64,
}

/// A file dialog's answer: what was asked for, and the path chosen.
type Picked = (Pick, PathBuf);

enum Pick {
    Dataset,
    Degraded,
    Played,
    Config,
    Run,
    Lolo,
    Sweep,
}

pub struct TrainPanel {
    pub settings: TrainSettings,
    job: Option<TrainJob>,
    live: Option<PathBuf>,
    pub progress: Option<Progress>,
    pub watches: Vec<RunWatch>,
    last_refresh: Option<Instant>,
    pub message: Option<(String, bool)>,
    picks: (Sender<Picked>, Receiver<Picked>),
    /// The run whose confusion matrix is shown.
    pub confusion_run: usize,
    pub confusion: super::confusion::ConfusionState,
    /// A leave-one-library-out report (`timbrescope lolo`) and its heatmap's state.
    pub lolo: Option<(PathBuf, LoloReport)>,
    pub lolo_state: super::lolo::LoloState,
    /// Robustness sweep reports (`eval --sweep`), overlaid by parameter.
    pub sweeps: Vec<(PathBuf, crate::learn::assessment::sweep::SweepReport)>,
}

impl TrainPanel {
    pub fn new(settings: TrainSettings) -> Self {
        let watches = settings.watched.iter().filter(|p| p.is_dir()).map(|p| RunWatch::new(p)).collect();
        Self {
            settings,
            job: None,
            live: None,
            progress: None,
            watches,
            last_refresh: None,
            message: None,
            picks: channel(),
            confusion_run: 0,
            confusion: Default::default(),
            lolo: None,
            lolo_state: Default::default(),
            sweeps: Vec::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.job.as_ref().is_some_and(|j| !j.is_finished())
    }

    /// The run in progress or last started here.
    pub fn live_run(&self) -> Option<&Path> {
        self.live.as_deref()
    }

    /// Starts a run in a new folder under the runs folder.
    pub fn start(&mut self, notify: Arc<dyn Fn() + Send + Sync>) -> Result<PathBuf, String> {
        if self.is_running() {
            return Err("a run is already in progress; cancel it first".into());
        }
        let s = &self.settings;
        let stage = s.stage;
        let config = match s.config.trim() {
            "" => TrainConfig::shipped_default(),
            path => TrainConfig::load(Path::new(path)).map_err(|e| e.to_string())?,
        };
        let config = s.mixtures.apply(config)?;
        let dataset = PathBuf::from(&s.dataset);
        if !dataset.join("examples.json").exists() {
            return Err(format!("{} is not a data set folder (no examples.json)", dataset.display()));
        }
        let degraded = degraded_copies(&s.degraded);
        if let Some(missing) = degraded.iter().find(|d| !d.join("examples.json").exists()) {
            return Err(format!("degraded copy {} is not a data set folder (no examples.json)", missing.display()));
        }
        let played = Some(PathBuf::from(s.played.trim())).filter(|p| !p.as_os_str().is_empty());
        if let Some(copy) = played.as_ref().filter(|p| !p.join("examples.json").exists()) {
            return Err(format!("played copy {} is not a data set folder (no examples.json)", copy.display()));
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let run = Path::new(&s.runs_dir).join(format!("run-{stamp}"));
        let options = TrainOptions {
            config,
            dataset,
            degraded,
            played,
            run: run.clone(),
            stage,
            device: candle_core::Device::Cpu,
            resume: false,
            init: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        self.job = Some(TrainJob::start(options, notify));
        self.live = Some(run.clone());
        self.progress = Some(Progress::default());
        self.watch(run.clone());
        self.confusion_run = self.watches.len() - 1;
        self.message = Some((format!("Training into {}", run.display()), false));
        Ok(run)
    }

    pub fn cancel(&mut self) {
        if let Some(job) = &mut self.job {
            job.cancel();
            self.message = Some(("Cancelling after the current step…".into(), false));
        }
    }

    /// Adds a run folder to the plots (one started elsewhere, e.g. on a GPU server).
    pub fn watch(&mut self, dir: PathBuf) {
        if !self.watches.iter().any(|w| w.folder.dir == dir) {
            let mut watch = RunWatch::new(&dir);
            watch.refresh();
            self.watches.push(watch);
            self.settings.watched.push(dir);
        }
    }

    /// Drains the job's events and re-reads the watched folders (at most twice a second).
    pub fn logic(&mut self, ctx: &egui::Context) -> Option<TrainAction> {
        let mut action = None;
        while let Ok((pick, path)) = self.picks.1.try_recv() {
            let text = path.display().to_string();
            match pick {
                Pick::Dataset => self.settings.dataset = text,
                // A pick adds a copy to the list; the field takes several, separated by ';'.
                Pick::Degraded if !self.settings.degraded.trim().is_empty() => {
                    self.settings.degraded = format!("{}; {text}", self.settings.degraded.trim());
                }
                Pick::Degraded => self.settings.degraded = text,
                Pick::Played => self.settings.played = text,
                Pick::Config => self.settings.config = text,
                Pick::Run => self.watch(path),
                Pick::Lolo => self.open_lolo(path),
                Pick::Sweep => self.open_sweep(path),
            }
        }
        let mut refresh_now = false;
        if let Some(job) = &mut self.job {
            for event in job.drain() {
                refresh_now = true;
                let progress = self.progress.get_or_insert_with(Progress::default);
                match event {
                    TrainJobEvent::Progress(TrainEvent::Preparing { what, done, total }) => {
                        progress.preparing = Some((what, done, total))
                    }
                    TrainJobEvent::Progress(TrainEvent::Started { stage, steps, .. }) => {
                        progress.preparing = None;
                        progress.stage = Some(stage);
                        progress.steps = steps;
                        progress.step = 0;
                    }
                    TrainJobEvent::Progress(TrainEvent::Step { record, steps, samples_per_sec, eta_secs }) => {
                        progress.step = record.step + 1;
                        progress.steps = steps;
                        progress.samples_per_sec = samples_per_sec;
                        progress.eta_secs = eta_secs;
                    }
                    TrainJobEvent::Progress(TrainEvent::Finished { best: Some(best) }) => {
                        action = Some(TrainAction::UseModel(best));
                    }
                    TrainJobEvent::Progress(_) => {}
                    TrainJobEvent::Ended(Ok(())) => self.message = Some(("Training finished".into(), false)),
                    TrainJobEvent::Ended(Err(e)) => {
                        let is_error = e != "cancelled";
                        if is_error {
                            action = Some(TrainAction::Failed(e.clone()));
                        }
                        self.message = Some((e, is_error));
                    }
                }
            }
        }
        let due = self.last_refresh.is_none_or(|t| t.elapsed() > Duration::from_millis(500));
        if refresh_now || due {
            self.last_refresh = Some(Instant::now());
            for w in &mut self.watches {
                w.refresh();
            }
        }
        if self.is_running() || !self.watches.is_empty() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        action
    }

    /// Opens a leave-one-library-out report; a bad file is named in the panel's message.
    pub fn open_lolo(&mut self, path: PathBuf) {
        let read = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<LoloReport>(&text).map_err(|e| e.to_string()));
        match read {
            Ok(report) => {
                self.lolo = Some((path, report));
                self.lolo_state = Default::default();
            }
            Err(e) => self.message = Some((format!("{} is not a LOLO report: {e}", path.display()), true)),
        }
    }

    /// Adds a sweep report to the overlaid curves (again: read anew); a bad file is named.
    pub fn open_sweep(&mut self, path: PathBuf) {
        match super::sweep_plot::read_sweep(&path) {
            Ok(report) => {
                self.sweeps.retain(|(p, _)| *p != path);
                self.sweeps.push((path, report));
            }
            Err(e) => self.message = Some((e, true)),
        }
    }

    fn pick(&self, pick: Pick, ctx: &egui::Context) {
        super::file_dialog::spawn(ctx, self.picks.0.clone(), move |dialog| {
            let path = match pick {
                Pick::Config => dialog.add_filter("Config", &["toml"]).pick_file(),
                Pick::Lolo => dialog.add_filter("LOLO report", &["json"]).pick_file(),
                Pick::Sweep => dialog.add_filter("Sweep report", &["json"]).pick_file(),
                _ => dialog.pick_folder(),
            };
            path.map(|path| (pick, path))
        });
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, notify: Arc<dyn Fn() + Send + Sync>) -> Option<TrainAction> {
        let mut action = None;
        egui::Panel::left("train_controls").default_size(400.0).show(ui, |ui| {
            self.controls_ui(ui, notify);
            ui.separator();
            action = self.confusion_ui(ui);
        });
        egui::ScrollArea::vertical().id_salt("curves").show(ui, |ui| {
            // The report needs the width of the plots: a column per instrument.
            if let Some((path, report)) = &self.lolo {
                egui::CollapsingHeader::new(format!("Leave one library out: {}", path.display()))
                    .id_salt("lolo")
                    .default_open(true)
                    .show(ui, |ui| {
                        if let Some((dataset, note)) = super::lolo::lolo_ui(ui, report, &mut self.lolo_state) {
                            action = Some(TrainAction::LoadNote { dataset, note });
                        }
                    });
            }
            if !self.sweeps.is_empty() {
                egui::CollapsingHeader::new(format!("Robustness sweeps ({})", self.sweeps.len()))
                    .id_salt("sweeps")
                    .default_open(true)
                    .show(ui, |ui| {
                        super::sweep_plot::sweep_ui(ui, &self.sweeps, run_color);
                        if ui.small_button("close the sweeps").clicked() {
                            self.sweeps.clear();
                        }
                    });
            }
            self.curves_ui(ui);
        });
        action
    }

    fn confusion_ui(&mut self, ui: &mut egui::Ui) -> Option<TrainAction> {
        if self.watches.is_empty() {
            ui.label("Start a run or open a run folder to see its curves and confusion matrix.");
            return None;
        }
        let names: Vec<String> = self.watches.iter().map(|w| w.name()).collect();
        egui::ComboBox::from_label("confusion matrix of")
            .selected_text(names.get(self.confusion_run).cloned().unwrap_or_default())
            .show_ui(ui, |ui| {
                for (i, name) in names.iter().enumerate() {
                    ui.selectable_value(&mut self.confusion_run, i, name);
                }
            });
        let watch = self.watches.get(self.confusion_run)?;
        let Some(confusion) = &watch.confusion else {
            ui.label("No validation epoch has finished yet.");
            return None;
        };
        let dataset = dataset_of(&watch.folder.dir);
        let run = watch.folder.dir.clone();
        let action = super::confusion::confusion_ui(ui, confusion, &mut self.confusion)?;
        let dataset = dataset?;
        Some(match action {
            CellAction::Load(note) => TrainAction::LoadNote { dataset, note },
            CellAction::Nearest(note, class) => TrainAction::Nearest { run, dataset, note, class },
        })
    }
}

/// The data set a run trained on (from its dataset.json).
pub fn dataset_of(run: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(run.join("dataset.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("dataset")?.as_str().map(PathBuf::from)
}

pub fn run_color(i: usize) -> Color32 {
    const PALETTE: [Color32; 6] = [
        Color32::from_rgb(66, 135, 245),
        Color32::from_rgb(245, 130, 48),
        Color32::from_rgb(60, 180, 75),
        Color32::from_rgb(230, 25, 75),
        Color32::from_rgb(145, 30, 180),
        Color32::from_rgb(70, 240, 240),
    ];
    PALETTE[i % PALETTE.len()]
}

mod controls;
mod mixtures;
use controls::degraded_copies;
mod curves;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_played_copy_that_is_no_data_set_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("examples.json"), "{}").unwrap();
        let mut panel = TrainPanel::new(TrainSettings {
            dataset: dir.path().display().to_string(),
            played: dir.path().join("nowhere-played").display().to_string(),
            ..TrainSettings::default()
        });
        let err = panel.start(Arc::new(|| {})).unwrap_err();
        assert!(err.contains("played copy") && err.contains("nowhere-played"), "{err}");
        assert!(!panel.is_running(), "nothing started");
    }
}
