//! Time-frequency analysis: STFT, CQT, decibels and the note/frequency helpers the views need.

mod batch_fft;
pub mod cqt;
pub mod db;
pub mod descriptors;
pub mod notes;
pub mod pitch_track;
pub mod pyramid;
pub mod segment;
pub mod spectrogram;
pub mod stft;

pub use cqt::{Cqt, CqtConfig};
pub use spectrogram::{FrequencyAxis, Scale, Spectrogram};
pub use stft::{Stft, StftConfig};

/// Which time-frequency view of a clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum View {
    Stft,
    Cqt,
}

impl View {
    pub fn label(self) -> &'static str {
        match self {
            View::Stft => "STFT",
            View::Cqt => "CQT",
        }
    }
}

/// Errors from analysis parameters that cannot describe a valid transform.
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    #[error("invalid parameter {name}: {message}")]
    Parameter { name: &'static str, message: String },
}
