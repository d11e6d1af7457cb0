//! A mono clip at the analysis rate: the unit every view and feature works on.

use std::path::PathBuf;
use std::sync::Arc;

/// Every clip is analysed at 16 kHz, NSynth's rate.
pub const ANALYSIS_RATE_HZ: u32 = 16_000;

/// Mono audio at [`ANALYSIS_RATE_HZ`], samples finite and shared cheaply between threads.
#[derive(Clone, Debug)]
pub struct Clip {
    pub name: String,
    pub samples: Arc<[f32]>,
    pub sample_rate_hz: u32,
    /// Where it came from, if a file.
    pub source: Option<PathBuf>,
}

impl Clip {
    pub fn new(name: impl Into<String>, samples: Vec<f32>, sample_rate_hz: u32) -> Self {
        Self { name: name.into(), samples: samples.into(), sample_rate_hz, source: None }
    }

    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate_hz as f64
    }
}
