//! Live predictions on a named thread: holds the loaded model, works on the newest clip of each
//! kind (clean, degraded) and drops the requests it was too slow for.

use std::sync::Arc;
use std::time::Instant;

use super::worker::{Context, Job, Worker};
use crate::dsp::{Spectrogram, View};
use crate::learn::explanation::activity::{Activity, PredictedMasks, activity};
use crate::learn::explanation::saliency::{Explanation, explain};
use crate::learn::network::modelfile::ModelMeta;
use crate::learn::{ModelSource, Prediction, Predictor};

/// Which version of the clip in the views a prediction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    Clean,
    Degraded,
}

/// What the prediction worker is asked to do. Loading a model travels in the first lane, so it
/// comes before the predictions queued with it; each version of the clip has its own lane.
pub enum PredictRequest {
    Load(ModelSource),
    Predict {
        version: Version,
        samples: Arc<[f32]>,
    },
    /// Saliency of `class` (the top class when None) for a version of the clip, spread onto the
    /// grids of its STFT and CQT (`grids`: their shapes, without values).
    Explain {
        version: Version,
        samples: Arc<[f32]>,
        class: Option<usize>,
        grids: [Spectrogram; 2],
    },
    /// Per-class presence over sliding windows of the clean clip.
    Activity {
        samples: Arc<[f32]>,
    },
    /// The mask head's masks of `classes` for a mixture, for the mixture at `of` (so an answer for a
    /// mixture since closed is recognised).
    Masks {
        samples: Arc<[f32]>,
        classes: Vec<usize>,
        of: std::path::PathBuf,
    },
}

pub enum PredictEvent {
    /// A model is loaded: what it is, and its primary head's classes.
    Loaded {
        source: ModelSource,
        summary: String,
        classes: Vec<String>,
        /// What one answer of this model shows in the panel.
        rows: AnswerRows,
    },
    Ready {
        version: Version,
        prediction: Prediction,
        millis: f64,
    },
    Explained {
        version: Version,
        explanation: Arc<Explanation>,
        /// The STFT and CQT overlays on the grids asked for, made here rather than on the
        /// window's thread.
        overlays: Arc<[Spectrogram; 2]>,
        millis: f64,
    },
    Activity {
        activity: Arc<Activity>,
        millis: f64,
    },
    /// None: the model has no mask head.
    Masks {
        of: std::path::PathBuf,
        masks: Option<Arc<PredictedMasks>>,
        millis: f64,
    },
}

/// The activity strip's windows: 1 s every quarter second.
pub const ACTIVITY_WINDOW_SECS: f64 = 1.0;
pub const ACTIVITY_HOP_SECS: f64 = 0.25;

/// Labels per head the panel shows.
pub const TOP: usize = 5;

/// What one answer shows in the prediction panel: bars (three for the primary head, and with a
/// multi-label head room for three instruments heard at once) and lines of small text (a line for
/// each other head and the time it took; with a multi-label head, its title, the families and a
/// title for the bars below). The panel keeps their room before the first answer, so nothing
/// under it moves when the answer comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerRows {
    pub bars: usize,
    pub lines: usize,
}

impl AnswerRows {
    pub fn of(heads: usize, multi_label: bool) -> Self {
        let multi = usize::from(multi_label);
        Self { bars: 3 + 3 * multi, lines: heads.saturating_sub(1) + 1 + 3 * multi }
    }

    /// An answer of the model `meta` describes: a line for each head and for the qualities.
    pub fn of_model(meta: &ModelMeta) -> Self {
        let heads = meta.schema.heads.len() + usize::from(!meta.schema.qualities.is_empty());
        Self::of(heads, !meta.spec.classes.multi_label.is_empty())
    }
}

/// Holds the loaded model and predicts the newest clip of each version.
#[derive(Default)]
pub struct PredictJob {
    predictor: Option<Predictor>,
}

impl Job for PredictJob {
    type Request = PredictRequest;
    type Event = PredictEvent;
    const LANES: usize = 7;

    fn lane(request: &PredictRequest) -> usize {
        match request {
            PredictRequest::Load(_) => 0,
            PredictRequest::Predict { version, .. } => 1 + *version as usize,
            PredictRequest::Explain { version, .. } => 3 + *version as usize,
            PredictRequest::Activity { .. } => 5,
            PredictRequest::Masks { .. } => 6,
        }
    }

    fn run(&mut self, request: PredictRequest, ctx: &Context<'_, PredictEvent>) -> Result<(), String> {
        match request {
            PredictRequest::Load(source) => {
                self.predictor = None;
                let p = Predictor::open(&source).map_err(|e| e.to_string())?;
                let m = &p.model.meta;
                let primary = m.schema.primary();
                let summary = format!(
                    "{} {}, {:?} backbone, trained {} epochs ({})",
                    primary.classes.len(),
                    if primary.name == "family" { "families" } else { "instruments" },
                    m.spec.model.backbone,
                    m.epoch,
                    m.stage.map_or("untrained", |s| s.name())
                );
                let classes = primary.classes.clone();
                let rows = AnswerRows::of_model(m);
                self.predictor = Some(p);
                ctx.report(PredictEvent::Loaded { source, summary, classes, rows });
            }
            PredictRequest::Predict { version, samples } => {
                // Without a model (its load failed, and said so) there is nothing to answer.
                let Some(p) = self.predictor.as_mut() else { return Ok(()) };
                let start = Instant::now();
                let prediction = p.predict(&samples, TOP).map_err(|e| e.to_string())?;
                ctx.report(PredictEvent::Ready { version, prediction, millis: start.elapsed().as_secs_f64() * 1e3 });
            }
            PredictRequest::Explain { version, samples, class, grids } => {
                let Some(p) = self.predictor.as_mut() else { return Ok(()) };
                let start = Instant::now();
                let explanation = explain(p, &samples, class).map_err(|e| e.to_string())?;
                let scale = explanation.display_scale();
                let [stft, cqt] = &grids;
                let overlays = Arc::new([
                    explanation.overlay(View::Stft, stft, scale),
                    explanation.overlay(View::Cqt, cqt, scale),
                ]);
                let millis = start.elapsed().as_secs_f64() * 1e3;
                ctx.report(PredictEvent::Explained { version, explanation: Arc::new(explanation), overlays, millis });
            }
            PredictRequest::Activity { samples } => {
                // A clip over a minute gets a longer hop (up to the window, so windows still tile
                // it): 240 windows until 4 minutes, then one a second.
                let secs = samples.len() as f64 / f64::from(crate::audio::ANALYSIS_RATE_HZ);
                let hop = (secs / 240.0).clamp(ACTIVITY_HOP_SECS, ACTIVITY_WINDOW_SECS);
                let Some(p) = self.predictor.as_ref() else { return Ok(()) };
                let start = Instant::now();
                let activity = activity(p, &samples, ACTIVITY_WINDOW_SECS, hop).map_err(|e| e.to_string())?;
                let millis = start.elapsed().as_secs_f64() * 1e3;
                ctx.report(PredictEvent::Activity { activity: Arc::new(activity), millis });
            }
            PredictRequest::Masks { samples, classes, of } => {
                let Some(p) = self.predictor.as_mut() else { return Ok(()) };
                let start = Instant::now();
                let masks = p.masks(&samples, &classes).map_err(|e| e.to_string())?.map(Arc::new);
                let millis = start.elapsed().as_secs_f64() * 1e3;
                ctx.report(PredictEvent::Masks { of, masks, millis });
            }
        }
        Ok(())
    }
}

/// Live predictions for the clip in the views.
pub type PredictWorker = Worker<PredictJob>;
