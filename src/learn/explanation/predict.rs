//! Predictions for one clip: the 4 s from its onset through the model, top classes per head.

use std::path::Path;

use candle_core::Device;
use serde::Serialize;

use crate::dsp::descriptors::Descriptors;
use crate::features::Analyzer;
use crate::learn::error::LearnError;
use crate::learn::network::modelfile::{self, LoadedModel};
use crate::learn::notes::inputs::{InputShape, NOTE_SAMPLES, NoteInputs, raw_views};
use crate::learn::scoring::vote::Voter;

/// How far below the clip's peak the onset is found, and how much before it the window opens.
const ONSET_BELOW_PEAK: f32 = 0.01;
const PRE_ONSET_SAMPLES: usize = 160;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeadPrediction {
    pub head: String,
    /// Labels and probabilities, most probable first.
    pub top: Vec<(String, f32)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    pub heads: Vec<HeadPrediction>,
    /// Predicted timbre descriptors in their units.
    pub descriptors: Vec<(String, f32)>,
    /// Where the analysed 4 s start in the clip.
    pub window_start_secs: f64,
    /// The multi-label head's probabilities, for a model with one: several may hold at once.
    pub multi: Option<MultiPrediction>,
}

/// Every label of the multi-label head with its own probability, most probable first, per head
/// it names (instruments, then families).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MultiPrediction {
    pub heads: Vec<HeadPrediction>,
}

impl MultiPrediction {
    /// The labels of head `k` at or above `threshold`.
    pub fn present(&self, k: usize, threshold: f32) -> Vec<(String, f32)> {
        self.heads.get(k).map_or_else(Vec::new, |h| h.top.iter().filter(|(_, p)| *p >= threshold).cloned().collect())
    }
}

impl Prediction {
    pub fn head(&self, name: &str) -> Option<&HeadPrediction> {
        self.heads.iter().find(|h| h.head == name)
    }
}

pub struct Predictor {
    pub model: LoadedModel,
    analyzer: Analyzer,
    /// The model's own pitch-shift votes.
    voter: Voter,
    /// The last clip's inputs, by a hash of its samples: a mixture's prediction and then its
    /// masks (or a prediction and then its saliency) analyse the clip once.
    last: Option<(u64, (NoteInputs, InputShape, usize))>,
    analyses: u64,
}

/// The first sample within 40 dB of the peak, less 10 ms.
pub fn onset(samples: &[f32]) -> usize {
    let peak = samples.iter().fold(0f32, |m, x| m.max(x.abs()));
    let at = samples.iter().position(|x| x.abs() >= peak * ONSET_BELOW_PEAK).unwrap_or(0);
    at.saturating_sub(PRE_ONSET_SAMPLES)
}

/// Where a model comes from: the one inside the binary, or a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    Shipped,
    File(std::path::PathBuf),
}

impl ModelSource {
    /// The name a user sees: the file's name, or the shipped model's.
    pub fn name(&self) -> String {
        match self {
            Self::Shipped => format!("{} (shipped)", modelfile::SHIPPED_MODEL_NAME),
            Self::File(path) => {
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
            }
        }
    }
}

impl Predictor {
    pub fn load(path: &Path) -> Result<Self, LearnError> {
        Self::with_model(modelfile::load(path, &Device::Cpu)?)
    }

    /// The model shipped inside the binary.
    pub fn shipped() -> Result<Self, LearnError> {
        Self::with_model(modelfile::load_shipped(&Device::Cpu)?)
    }

    pub fn open(source: &ModelSource) -> Result<Self, LearnError> {
        match source {
            ModelSource::Shipped => Self::shipped(),
            ModelSource::File(path) => Self::load(path),
        }
    }

    fn with_model(model: modelfile::LoadedModel) -> Result<Self, LearnError> {
        let path = &model.path;
        let voter = Voter::new(&model.meta, model.meta.shift_votes)
            .map_err(|problem| LearnError::Model { path: path.to_owned(), problem })?;
        Ok(Self { model, analyzer: Analyzer::default(), voter, last: None, analyses: 0 })
    }

    /// The finished inputs of the 4 s from the clip's onset, their shape and where they start;
    /// the same samples as the last call's are not analysed again.
    pub fn inputs(&mut self, samples: &[f32]) -> (NoteInputs, InputShape, usize) {
        let key = xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice(samples));
        if let Some((k, inputs)) = &self.last
            && *k == key
        {
            return inputs.clone();
        }
        let start = onset(samples);
        let window = &samples[start..samples.len().min(start + NOTE_SAMPLES)];
        let raw = raw_views(&mut self.analyzer, window);
        let meta = &self.model.meta;
        let shape = InputShape::of(&meta.spec.input, raw.stft_bins, raw.cqt_bins);
        let inputs = (meta.standardizer.apply(&raw, &meta.spec.input), shape, start);
        self.analyses += 1;
        self.last = Some((key, inputs.clone()));
        inputs
    }

    /// Clips analysed so far (a clip asked about again in a row is counted once).
    pub fn analyses(&self) -> u64 {
        self.analyses
    }

    /// Predicts from 16 kHz mono samples; `top` labels per head.
    pub fn predict(&mut self, samples: &[f32], top: usize) -> Result<Prediction, LearnError> {
        let (inputs, shape, start) = self.inputs(samples);
        let meta = &self.model.meta;
        let p = self.voter.probabilities(&self.model.model, &shape, &[&inputs], &Device::Cpu)?;
        let rank = |labels: &[String], probabilities: &[f32]| {
            let mut ranked: Vec<(String, f32)> = labels.iter().cloned().zip(probabilities.iter().copied()).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            ranked.truncate(top);
            ranked
        };
        let mut heads: Vec<HeadPrediction> = meta
            .schema
            .heads
            .iter()
            .zip(&p.classes)
            .map(|(head, rows)| {
                let labels: Vec<String> = if head.name == "velocity" {
                    head.classes.iter().map(|v| format!("velocity {v}")).collect()
                } else {
                    head.classes.clone()
                };
                HeadPrediction { head: head.name.clone(), top: rank(&labels, &rows[0]) }
            })
            .collect();
        if let Some(q) = p.qualities.first() {
            // Each quality's own probability: several may hold at once.
            heads.push(HeadPrediction { head: "qualities".into(), top: rank(&meta.schema.qualities, q) });
        }
        let d = &p.descriptors[0];
        let descriptors = Descriptors::NAMES
            .iter()
            .enumerate()
            .map(|(k, name)| (name.to_string(), d[k] * meta.descriptor_std[k] + meta.descriptor_mean[k]))
            .collect();
        let multi = p.multi.first().map(|probabilities| {
            let mut offset = 0;
            let heads = meta
                .spec
                .classes
                .multi_label
                .iter()
                .map(|&h| {
                    let head = &meta.schema.heads[h];
                    let n = head.classes.len();
                    let mut ranked: Vec<(String, f32)> =
                        head.classes.iter().cloned().zip(probabilities[offset..offset + n].iter().copied()).collect();
                    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                    offset += n;
                    HeadPrediction { head: head.name.clone(), top: ranked }
                })
                .collect();
            MultiPrediction { heads }
        });
        Ok(Prediction { heads, descriptors, window_start_secs: start as f64 / 16_000.0, multi })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onset_is_the_first_sample_within_40_db_of_the_peak() {
        let mut x = vec![0.001f32; 1000];
        x[600] = 0.5;
        x[700] = 1.0;
        // 0.001 is 60 dB down: ignored; 0.5 at 600 is within 40 dB; the window opens 160 earlier.
        assert_eq!(onset(&x), 440);
        assert_eq!(onset(&[0.0; 10]), 0);
    }

    #[test]
    fn a_clip_asked_about_again_is_not_analysed_again() {
        let mut p = Predictor::shipped().unwrap();
        let tone: Vec<f32> = (0..32_000).map(|n| (n as f32 * 0.17).sin() * 0.3).collect();
        let first = p.predict(&tone, 3).unwrap();
        let (inputs, _, start) = p.inputs(&tone);
        assert_eq!((p.analyses(), start), (1, onset(&tone)));
        assert_eq!(p.predict(&tone, 3).unwrap(), first);
        let mut other = tone.clone();
        other[20_000] += 0.01;
        let (changed, ..) = p.inputs(&other);
        assert_eq!(p.analyses(), 2, "a changed sample is another clip");
        assert_ne!(changed, inputs);
        // The memo gives what a fresh analysis gives.
        assert_eq!(Predictor::shipped().unwrap().inputs(&tone).0, inputs);
    }
}
