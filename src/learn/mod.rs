//! Learning with Candle: contrastive STFT/CQT pretraining, multi-task training, evaluation and
//! prediction. Plain Rust: the workbench drives it through `jobs::train`.
//!
//! The sub-areas follow the flow, and each imports only from those before it (`tests/layout.rs`
//! holds them to it):
//! [`error`] → [`notes`] → [`network`] → [`scoring`] → [`training`] → [`assessment`] →
//! [`explanation`].

pub mod assessment;
pub mod error;
pub mod explanation;
pub mod network;
pub mod notes;
pub mod scoring;
pub mod training;

pub use assessment::eval::{EvalReport, evaluate};
pub use error::LearnError;
pub use explanation::predict::{ModelSource, Prediction, Predictor};
pub use network::runtime::parse_device;
pub use network::stage::{Stages, TrainStage};
pub use training::config::TrainConfig;
pub use training::run::{MetricRecord, RunFolder};
pub use training::train::{TrainEvent, TrainOptions, train};
