//! What one mode asks of the window or of another mode, queued while a frame is handled and
//! routed in order once the modes are done (`Workbench::route`).

use std::collections::VecDeque;
use std::path::PathBuf;

use super::{Dialog, Mode};
use crate::audio::Clip;

/// What one mode asks of the window or of another mode.
pub(super) enum Effect {
    Info(String),
    Error(String),
    Dialog(Dialog),
    SetMode(Mode),
    /// Load an audio file into the clip views.
    Open(PathBuf),
    /// Load an audio file into the clip views and play it once analysed.
    OpenAndPlay(PathBuf),
    /// Load a data set's note into the clip views, replacing the last browsed one.
    LoadNote {
        path: PathBuf,
        name: String,
    },
    AddClip(Clip),
    Play {
        samples: std::sync::Arc<[f32]>,
        sample_rate_hz: u32,
        what: String,
    },
    /// A new clip is in the views: render its degraded version and predict both.
    Analysed,
    /// The model or the degraded version changed: predict again.
    Predict,
    /// A mixture opened, or the model changed with one open: ask for the model's masks of it.
    MaskMixture,
    /// The saliency was turned on or asked of another class: explain both versions again.
    Explain,
    /// Load a note and, beside it, the training note of `class` (default: the one it is heard as)
    /// nearest it in `model`'s embedding.
    Nearest {
        model: PathBuf,
        dataset: PathBuf,
        note: String,
        class: Option<usize>,
    },
}

/// The effects raised while handling one frame, routed in order once the modes are done.
#[derive(Default)]
pub(super) struct Effects(pub VecDeque<Effect>);

impl Effects {
    pub fn push(&mut self, effect: Effect) {
        self.0.push_back(effect);
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.push(Effect::Info(text.into()));
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Effect::Error(text.into()));
    }
}
