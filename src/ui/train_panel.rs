//! The training panel: choose data, config and stage, start and cancel a background run, watch
//! its progress, and plot every logged series of one or more runs side by side.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use crate::jobs::train::{TrainJob, TrainJobEvent};
use crate::learn::lolo::LoloReport;
use crate::learn::run::{MetricRecord, RunWatch};
use crate::learn::{Stages, TrainConfig, TrainEvent, TrainOptions, TrainStage};

/// Choices that survive a restart.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainSettings {
    pub dataset: String,
    pub degraded: String,
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
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            dataset: "data/nsynth-sf2".into(),
            degraded: String::new(),
            // Empty: the config inside the binary, which is models/default.toml.
            config: String::new(),
            stage: Stages::Both,
            runs_dir: "runs".into(),
            watched: Vec::new(),
            extra_series: "loss_instrument".into(),
            smoothing: 0.9,
        }
    }
}

/// What the panel asks of the workbench.
pub enum TrainAction {
    /// Load this note of this data set into the views.
    LoadNote { dataset: PathBuf, note: String },
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
    Config,
    Run,
    Lolo,
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
        let dataset = PathBuf::from(&s.dataset);
        if !dataset.join("examples.json").exists() {
            return Err(format!("{} is not a data set folder (no examples.json)", dataset.display()));
        }
        let degraded = degraded_copies(&s.degraded);
        if let Some(missing) = degraded.iter().find(|d| !d.join("examples.json").exists()) {
            return Err(format!("degraded copy {} is not a data set folder (no examples.json)", missing.display()));
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let run = Path::new(&s.runs_dir).join(format!("run-{stamp}"));
        let options = TrainOptions {
            config,
            dataset,
            degraded,
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
                Pick::Config => self.settings.config = text,
                Pick::Run => self.watch(path),
                Pick::Lolo => self.open_lolo(path),
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

    fn pick(&self, pick: Pick, ctx: &egui::Context) {
        super::file_dialog::spawn(ctx, self.picks.0.clone(), move |dialog| {
            let path = match pick {
                Pick::Config => dialog.add_filter("Config", &["toml"]).pick_file(),
                Pick::Lolo => dialog.add_filter("LOLO report", &["json"]).pick_file(),
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
            self.curves_ui(ui);
        });
        action
    }

    fn controls_ui(&mut self, ui: &mut egui::Ui, notify: Arc<dyn Fn() + Send + Sync>) {
        ui.heading("Training");
        let running = self.is_running();
        egui::Grid::new("train_form").num_columns(3).show(ui, |ui| {
            let row = |ui: &mut egui::Ui, label: &str, value: &mut String, pick: Pick, hint: &str| {
                let l = ui.label(label);
                ui.add_enabled(!running, egui::TextEdit::singleline(value).desired_width(190.0).hint_text(hint))
                    .labelled_by(l.id);
                if ui.add_enabled(!running, egui::Button::new("…")).on_hover_text("Browse").clicked() {
                    self.pick(pick, ui.ctx());
                }
                ui.end_row();
            };
            let mut s = self.settings.clone();
            row(ui, "data set", &mut s.dataset, Pick::Dataset, "folder with examples.json");
            row(ui, "degraded copies", &mut s.degraded, Pick::Degraded, "optional: `dataset degrade` folders; a; b");
            row(ui, "config", &mut s.config, Pick::Config, "empty: the shipped models/default.toml");
            self.settings = s;
            ui.label("stage");
            ui.add_enabled_ui(!running, |ui| {
                egui::ComboBox::from_id_salt("stage").selected_text(self.settings.stage.name()).show_ui(ui, |ui| {
                    for stage in Stages::ALL {
                        ui.selectable_value(&mut self.settings.stage, stage, stage.name());
                    }
                });
            });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(!running, egui::Button::new("Start training")).clicked()
                && let Err(e) = self.start(notify)
            {
                self.message = Some((e, true));
            }
            if ui
                .add_enabled(running, egui::Button::new("Cancel"))
                .on_hover_text("Stops after the current step")
                .clicked()
            {
                self.cancel();
            }
            if ui.button("Open run…").on_hover_text("Watch a run folder, e.g. one training on a GPU server").clicked()
            {
                self.pick(Pick::Run, ui.ctx());
            }
            if ui
                .button("Open LOLO…")
                .on_hover_text("A leave-one-library-out report (`timbrescope lolo`): recall by held-out library")
                .clicked()
            {
                self.pick(Pick::Lolo, ui.ctx());
            }
        });
        if let Some(p) = &self.progress {
            if let Some((what, done, total)) = &p.preparing {
                ui.add(
                    egui::ProgressBar::new(*done as f32 / (*total).max(1) as f32)
                        .text(format!("{what}: {done}/{total}")),
                );
            } else if p.steps > 0 {
                let text = format!(
                    "{} step {}/{} · {:.0} samples/s · ETA {}",
                    p.stage.map_or("", TrainStage::name),
                    p.step,
                    p.steps,
                    p.samples_per_sec,
                    format_secs(p.eta_secs)
                );
                ui.add(egui::ProgressBar::new(p.step as f32 / p.steps as f32).text(text));
            }
        }
        if let Some((text, is_error)) = &self.message {
            let color = if *is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
            ui.colored_label(color, text);
        }
        let mut remove = None;
        for (i, w) in self.watches.iter().enumerate() {
            ui.horizontal(|ui| {
                let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, run_color(i));
                let state = w.status.as_ref().map_or("no status yet".to_string(), |s| {
                    let state = if s.is_orphaned() {
                        "stopped (its process is gone; --resume continues it)".to_string()
                    } else {
                        format!("{:?}", s.state).to_lowercase()
                    };
                    format!("{state}, {} epoch {}/{}", s.stage.map_or("preparing", TrainStage::name), s.epoch, s.epochs)
                });
                ui.label(format!("{}: {state}", w.name())).on_hover_text(w.folder.dir.display().to_string());
                if Some(&w.folder.dir) != self.live.as_ref()
                    && ui.small_button("x").on_hover_text("Stop watching").clicked()
                {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            let gone = self.watches.remove(i);
            self.settings.watched.retain(|p| *p != gone.folder.dir);
            self.confusion_run = self.confusion_run.min(self.watches.len().saturating_sub(1));
        }
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
        let note = super::confusion::confusion_ui(ui, confusion, &mut self.confusion)?;
        Some(TrainAction::LoadNote { dataset: dataset?, note })
    }

    fn curves_ui(&mut self, ui: &mut egui::Ui) {
        let keys: BTreeSet<String> =
            self.watches.iter().flat_map(|w| w.records.iter().flat_map(|r| r.values.keys().cloned())).collect();
        // The primary head: the instrument, or NSynth's family for a run on its labels.
        let primary = if keys.contains("acc_instrument") || !keys.contains("acc_family") {
            "acc_instrument"
        } else {
            "acc_family"
        };
        let plots: [(&str, &[&str]); 4] = [
            ("loss", &["loss"]),
            // The library-leak probe beside the primary head (dotted): near its chance line, the
            // model has not learnt the recordings apart.
            ("accuracy", &[primary, "retrieval_acc", "probe_library", "probe_chance"]),
            ("learning rate", &["lr"]),
            ("temperature", &["temperature"]),
        ];
        let height = ((ui.available_height() - 110.0) / 5.0).max(120.0);
        for (title, series) in plots {
            ui.label(title);
            self.plot_ui(ui, title, series, height);
        }
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.settings.smoothing, 0.0..=0.99).text("smoothing of train steps"));
        });
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("series").selected_text(self.settings.extra_series.clone()).show_ui(ui, |ui| {
                for key in &keys {
                    ui.selectable_value(&mut self.settings.extra_series, key.clone(), key);
                }
            });
        });
        let extra = self.settings.extra_series.clone();
        self.plot_ui(ui, "extra", &[extra.as_str()], height);
    }

    fn plot_ui(&self, ui: &mut egui::Ui, id: &str, series: &[&str], height: f32) {
        Plot::new(id).height(height).legend(Legend::default()).x_axis_label("step").show(ui, |plot| {
            for (r, watch) in self.watches.iter().enumerate() {
                // Stage 2's steps continue after stage 1's on the axis.
                let offset =
                    watch.records.iter().filter(|x| x.stage == TrainStage::Ssl).map(|x| x.step + 1).max().unwrap_or(0);
                for key in series {
                    for (stage, split) in [
                        (TrainStage::Ssl, "train"),
                        (TrainStage::Ssl, "valid"),
                        (TrainStage::Mtl, "train"),
                        (TrainStage::Mtl, "valid"),
                    ] {
                        let mut points: Vec<[f64; 2]> = watch
                            .records
                            .iter()
                            .filter(|x| x.split == split && x.stage == stage)
                            .filter_map(|x| x.values.get(*key).map(|v| [global_step(x, offset), *v]))
                            .collect();
                        if points.is_empty() {
                            continue;
                        }
                        if split == "train" {
                            smooth(&mut points, self.settings.smoothing);
                        }
                        // One legend entry per run, series and split: both stages share it.
                        let name = format!("{} {key} ({split})", watch.name());
                        let mut line = Line::new(name, PlotPoints::from(points)).color(run_color(r));
                        // The probe and its chance line are dotted, so they read apart from the
                        // accuracy of the same run.
                        line = match *key {
                            "probe_library" => line.style(LineStyle::dotted_dense()).width(2.0),
                            "probe_chance" => line.style(LineStyle::dotted_loose()).width(1.0),
                            _ if split == "valid" => line.style(LineStyle::dashed_loose()).width(2.0),
                            _ => line,
                        };
                        plot.line(line);
                    }
                }
            }
        });
    }
}

/// Exponential moving average of the values in place (TensorBoard's smoothing).
fn smooth(points: &mut [[f64; 2]], weight: f64) {
    for i in 1..points.len() {
        points[i][1] = weight * points[i - 1][1] + (1.0 - weight) * points[i][1];
    }
}

fn global_step(record: &MetricRecord, ssl_steps: usize) -> f64 {
    (if record.stage == TrainStage::Mtl { record.step + ssl_steps } else { record.step }) as f64
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

fn format_secs(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The degraded copies named in the form's field: folders separated by ';', blanks skipped.
fn degraded_copies(field: &str) -> Vec<PathBuf> {
    field.split(';').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copies_field_splits_on_semicolons() {
        assert_eq!(degraded_copies(" data/a ;; data/b c;"), vec![PathBuf::from("data/a"), PathBuf::from("data/b c")]);
        assert!(degraded_copies("  ").is_empty());
    }
}
