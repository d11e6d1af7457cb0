//! The learning mode: the training tab, and live predictions for the clip in the views (clean and
//! degraded).

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::{Dialog, Effect, Effects, Mode};
use crate::dsp::Spectrogram;
use crate::jobs::data::MixtureView;
use crate::jobs::degrade::DegradedView;
use crate::jobs::predict::{PredictEvent, PredictJob, PredictRequest, PredictWorker, Version};
use crate::jobs::{Analysis, Report};
use crate::learn::ModelSource;
use crate::learn::explanation::activity::PredictedMasks;
use crate::ui::mixture_view::ModelMasks as MaskState;
use crate::ui::predict_panel::PredictPanel;
use crate::ui::train_panel::{TrainAction, TrainPanel, TrainSettings};

pub(super) struct LearnMode {
    pub train: TrainPanel,
    predictor: PredictWorker,
    pub prediction: PredictPanel,
    /// The model file chosen for predictions; the shipped model when unset. Saved with the settings.
    pub model_path: Option<PathBuf>,
    /// Saliency overlays (STFT, CQT) arrived and not yet drawn.
    arrived: Vec<(Version, Arc<[Spectrogram; 2]>)>,
    /// The model's masks of a mixture (None: it has no mask head), arrived and not yet shown.
    masks: Option<(PathBuf, Option<Arc<PredictedMasks>>, f64)>,
}

impl LearnMode {
    pub fn new(ctx: &egui::Context, train: TrainSettings, model_path: Option<PathBuf>) -> Self {
        let ctx = ctx.clone();
        let mut mode = Self {
            train: TrainPanel::new(train),
            predictor: PredictWorker::start("predict", PredictJob::default, Arc::new(move || ctx.request_repaint())),
            prediction: PredictPanel::default(),
            model_path: None,
            arrived: Vec::new(),
            masks: None,
        };
        // A first launch, or a remembered model that has gone, uses the one inside the binary.
        let mut ignored = Effects::default();
        match model_path.filter(|p| p.exists()) {
            Some(model) => mode.use_model(model, &mut ignored),
            None => mode.use_model_from(ModelSource::Shipped, &mut ignored),
        }
        mode
    }

    /// Loads a model file for the prediction panel.
    pub fn use_model(&mut self, path: PathBuf, fx: &mut Effects) {
        self.model_path = Some(path.clone());
        self.use_model_from(ModelSource::File(path), fx);
    }

    fn use_model_from(&mut self, source: ModelSource, fx: &mut Effects) {
        self.prediction.model = Some(source.clone());
        self.prediction.summary = None;
        self.predictor.submit(PredictRequest::Load(source));
        fx.push(Effect::Predict);
        fx.push(Effect::MaskMixture);
    }

    /// Asks for the model's masks of a mixture's sources, found among its classes by name.
    pub fn request_masks(&mut self, view: &MixtureView) -> MaskState {
        if self.prediction.model.is_none() {
            return MaskState::NoModel;
        }
        let mut classes = Vec::new();
        for k in 0..view.masks.len() {
            let name = view.file.meta["notes"][k]["instrument"].as_str().unwrap_or_default();
            // Before the model has loaded its classes are not known: ask anyway, by the
            // taxonomy's order (what `mix` wrote as instrument16).
            let index = match self.prediction.classes.iter().position(|c| c == name) {
                Some(i) => Some(i),
                None if self.prediction.classes.is_empty() => {
                    view.file.meta["notes"][k]["instrument16"].as_u64().map(|i| i as usize)
                }
                None => None,
            };
            match index {
                Some(i) => classes.push(i),
                None => return MaskState::Unknown(format!("the model has no class for source {k} ({name:?})")),
            }
        }
        let samples: Arc<[f32]> = view.file.mixture.clone().into();
        self.predictor.submit(PredictRequest::Masks { samples, classes, of: view.path.clone() });
        MaskState::Waiting
    }

    /// The model's masks of a mixture that arrived since the last call.
    pub fn take_masks(&mut self) -> Option<(PathBuf, Option<Arc<PredictedMasks>>, f64)> {
        self.masks.take()
    }

    /// A new clip is in the views: the degraded prediction and both saliencies were of the old one.
    pub fn clip_changed(&mut self) {
        self.prediction.degraded = None;
        self.prediction.activity = None;
        self.prediction.explained = [None, None];
    }

    /// Asks for predictions of the clip in the views and of its degraded version.
    pub fn request_predictions(&mut self, clean: Option<&Analysis>, degraded: Option<&DegradedView>) {
        if self.prediction.model.is_none() {
            return;
        }
        if let Some(a) = clean {
            let request = PredictRequest::Predict { version: Version::Clean, samples: a.clip.samples.clone() };
            self.prediction.pending[0] = Some(self.predictor.submit(request));
            self.predictor.submit(PredictRequest::Activity { samples: a.clip.samples.clone() });
        }
        if let Some(d) = degraded {
            let samples = d.analysis.clip.samples.clone();
            let request = PredictRequest::Predict { version: Version::Degraded, samples };
            self.prediction.pending[1] = Some(self.predictor.submit(request));
        }
        self.request_saliency(clean, degraded);
    }

    /// Asks for the saliency of both versions of the clip, when it is shown.
    pub fn request_saliency(&mut self, clean: Option<&Analysis>, degraded: Option<&DegradedView>) {
        if !self.prediction.saliency || self.prediction.model.is_none() {
            return;
        }
        let class = self.prediction.saliency_class;
        let versions = [(Version::Clean, clean), (Version::Degraded, degraded.map(|d| &d.analysis))];
        for (version, analysis) in versions {
            let Some(a) = analysis else { continue };
            let samples = a.clip.samples.clone();
            let grids = [a.stft.clone_shape(), a.cqt.clone_shape()];
            self.predictor.submit(PredictRequest::Explain { version, samples, class, grids });
        }
    }

    /// Saliency that arrived since the last call, to be drawn over the views.
    pub fn take_explained(&mut self) -> Vec<(Version, Arc<[Spectrogram; 2]>)> {
        std::mem::take(&mut self.arrived)
    }

    pub fn logic(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        if let Some(action) = self.train.logic(ctx) {
            self.train_action(action, fx);
        }
        for report in self.predictor.poll() {
            match report {
                Report::Event { event: PredictEvent::Loaded { source, summary, classes, rows }, .. }
                    if self.prediction.model.as_ref() == Some(&source) =>
                {
                    self.prediction.summary = Some(summary);
                    self.prediction.answer_rows = rows;
                    self.prediction.error = None;
                    if classes != self.prediction.classes {
                        self.prediction.saliency_class = None;
                    }
                    self.prediction.classes = classes;
                }
                Report::Event { event: PredictEvent::Explained { version, explanation, overlays, millis }, .. } => {
                    self.prediction.explained[version as usize] = Some(explanation);
                    self.prediction.saliency_millis = Some(millis);
                    self.arrived.push((version, overlays));
                }
                Report::Event { event: PredictEvent::Activity { activity, .. }, .. } => {
                    self.prediction.activity = Some(activity);
                }
                Report::Event { event: PredictEvent::Masks { of, masks, millis }, .. } => {
                    self.masks = Some((of, masks, millis));
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

    fn train_action(&mut self, action: TrainAction, fx: &mut Effects) {
        match action {
            TrainAction::UseModel(path) => self.use_model(path, fx),
            TrainAction::LoadNote { dataset, note } => {
                match crate::data::dataset::check_note_str(&note) {
                    Ok(()) => fx.push(Effect::Open(crate::data::dataset::audio_path(&dataset, &note))),
                    Err(problem) => fx.error(format!("{note}: {problem}")),
                }
                fx.push(Effect::SetMode(Mode::Clip));
            }
            TrainAction::Nearest { run, dataset, note, class } => {
                let model = crate::learn::assessment::eval::resolve_model(&run);
                fx.push(Effect::Nearest { model, dataset, note, class: Some(class) });
            }
            TrainAction::Failed(message) => fx.error(format!("Training failed: {message}")),
        }
    }

    /// The prediction panel, above the chain in the clip views' side panel.
    pub fn predict_ui(&mut self, ui: &mut egui::Ui, chain_on: bool, fx: &mut Effects) {
        let response = self.prediction.ui(ui, chain_on);
        if response.load_model {
            fx.push(Effect::Dialog(Dialog::Model));
        }
        if response.saliency_changed {
            fx.push(Effect::Explain);
        }
    }

    /// How strongly the views show the saliency (0 when off).
    pub fn overlay_opacity(&self) -> f32 {
        if self.prediction.saliency { self.prediction.saliency_opacity } else { 0.0 }
    }

    /// The training tab.
    pub fn training_ui(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        let ctx = ui.ctx().clone();
        if let Some(action) = self.train.ui(ui, Arc::new(move || ctx.request_repaint())) {
            self.train_action(action, fx);
        }
    }
}
