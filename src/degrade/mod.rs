//! Target-domain degradations, x_target = T(x): rooms (RT60-driven impulse responses, binaural
//! through measured HRIRs), additive noise at an exact SNR, shelving and band-pass EQ, and lossy
//! codecs, chained under one seed so that a chain and a seed always give the same output.

pub mod chain;
pub mod codec;
pub mod convolve;
pub mod eq;
pub mod hrir;
pub mod noise;
pub mod rir;
pub mod rt60;
pub mod shipped;

pub use chain::{ChainRunner, ChainSpec, Degraded, Stage, StageSpec, apply_chain, apply_chain_ears};

/// Why a degradation could not be applied. Every message names the parameter or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum DegradeError {
    #[error("{name} = {value} is out of range: {allowed}")]
    Parameter { name: String, value: String, allowed: String },
    #[error("cannot read the HRIR set {path}: {reason}")]
    Sofa { path: std::path::PathBuf, reason: String },
    #[error("{codec}: {reason}")]
    Codec { codec: &'static str, reason: String },
    #[error("chain file {path}: {reason}")]
    ChainFile { path: std::path::PathBuf, reason: String },
}

impl DegradeError {
    pub(crate) fn parameter(name: &str, value: impl std::fmt::Display, allowed: impl Into<String>) -> Self {
        Self::Parameter { name: name.to_owned(), value: value.to_string(), allowed: allowed.into() }
    }
}

/// Checks that `value` is finite and within `[lo, hi]`, naming the parameter otherwise.
pub(crate) fn check_range(name: &str, value: f64, lo: f64, hi: f64, unit: &str) -> Result<f64, DegradeError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(DegradeError::parameter(name, value, format!("allowed {lo} to {hi}{unit}")))
    }
}
