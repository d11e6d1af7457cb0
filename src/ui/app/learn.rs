//! The workbench's side of learning: the training tab's actions, and live predictions for the
//! clip in the views (clean and degraded).

use std::path::PathBuf;

use eframe::egui;

use super::{Dialog, Workbench};
use crate::jobs::Report;
use crate::jobs::predict::{PredictEvent, PredictRequest, Version};
use crate::learn::ModelSource;
use crate::ui::train_panel::{TrainAction, TrainPanel};

impl Workbench {
    pub fn train_panel(&self) -> &TrainPanel {
        &self.train
    }

    pub fn train_panel_mut(&mut self) -> &mut TrainPanel {
        &mut self.train
    }

    pub fn prediction(&self) -> &crate::ui::predict_panel::PredictPanel {
        &self.prediction
    }

    /// Loads a model file for the prediction panel.
    pub fn use_model(&mut self, path: PathBuf) {
        self.settings.model = Some(path.clone());
        self.use_model_from(ModelSource::File(path));
    }

    pub(super) fn use_model_from(&mut self, source: ModelSource) {
        self.prediction.model = Some(source.clone());
        self.prediction.summary = None;
        self.predictor.submit(PredictRequest::Load(source));
        self.request_predictions();
    }

    /// Asks for predictions of the clip in the views and of its degraded version.
    pub(super) fn request_predictions(&mut self) {
        if self.prediction.model.is_none() {
            return;
        }
        if let Some(a) = &self.analysis {
            let request = PredictRequest::Predict { version: Version::Clean, samples: a.clip.samples.clone() };
            self.prediction.pending[0] = Some(self.predictor.submit(request));
        }
        if let Some(d) = self.shown_degraded() {
            let samples = d.analysis.clip.samples.clone();
            let request = PredictRequest::Predict { version: Version::Degraded, samples };
            self.prediction.pending[1] = Some(self.predictor.submit(request));
        }
    }

    pub(super) fn handle_learn_events(&mut self, ctx: &egui::Context) {
        match self.train.logic(ctx) {
            Some(TrainAction::UseModel(path)) => self.use_model(path),
            Some(TrainAction::LoadNote { dataset, note }) => self.load_run_note(dataset, &note),
            Some(TrainAction::Failed(message)) => self.error(format!("Training failed: {message}")),
            None => {}
        }
        for report in self.predictor.poll() {
            match report {
                Report::Event { event: PredictEvent::Loaded { source, summary }, .. }
                    if self.prediction.model.as_ref() == Some(&source) =>
                {
                    self.prediction.summary = Some(summary);
                    self.prediction.error = None;
                }
                Report::Event { event: PredictEvent::Loaded { .. }, .. } | Report::Done { .. } => {}
                Report::Event { ticket, event: PredictEvent::Ready { version, prediction, millis } } => {
                    let slot = version as usize;
                    if self.prediction.pending[slot] == Some(ticket) {
                        self.prediction.pending[slot] = None;
                    }
                    match version {
                        Version::Clean => self.prediction.clean = Some(prediction),
                        Version::Degraded => self.prediction.degraded = Some(prediction),
                    }
                    self.prediction.millis = Some(millis);
                }
                Report::Failed { ticket, message } => {
                    self.prediction.pending.iter_mut().filter(|p| **p == Some(ticket)).for_each(|p| *p = None);
                    self.prediction.error = Some(message);
                }
                Report::Stopped { message } => {
                    self.prediction.pending = [None, None];
                    self.prediction.error = Some(format!("Predictions: {message}"));
                }
            }
        }
    }

    fn load_run_note(&mut self, dataset: PathBuf, note: &str) {
        match crate::data::dataset::check_note_str(note) {
            Ok(()) => self.open(crate::data::dataset::audio_path(&dataset, note)),
            Err(problem) => self.error(format!("{note}: {problem}")),
        }
        self.mode = super::Mode::Clip;
    }

    pub(super) fn predict_panel_ui(&mut self, ui: &mut egui::Ui) {
        let response = self.prediction.ui(ui, self.settings.degrade.enabled);
        if response.load_model {
            self.spawn_dialog(Dialog::Model, ui.ctx());
        }
    }

    pub(super) fn training_ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if let Some(action) = self.train.ui(ui, std::sync::Arc::new(move || ctx.request_repaint())) {
            match action {
                TrainAction::UseModel(path) => self.use_model(path),
                TrainAction::LoadNote { dataset, note } => self.load_run_note(dataset, &note),
                TrainAction::Failed(message) => self.error(format!("Training failed: {message}")),
            }
        }
    }
}
