//! What the network reads: a note's STFT and CQT in dB, standardised per bin with the training
//! split's statistics, then averaged over blocks of frames and bins (`[input]` in the config).
//! An optional floor (`[input.noise_floor]`, [`crate::learn::notes::floor`]) comes out before standardising.
//! Training, evaluation and prediction all go through [`raw_views`] and [`Standardizer`]; training
//! and evaluation read the time-pooled views from the feature store ([`crate::learn::notes::store`]).

use serde::{Deserialize, Serialize};

use crate::data::dataset::{Dataset, Split};
use crate::data::schema::LabelSchema;
use crate::dsp::{Scale, View};
use crate::features::Analyzer;
use crate::learn::notes::floor::NoiseFloor;
use crate::learn::notes::moments::Moments;

/// NSynth's note length at 16 kHz: every clip is cut or padded to it before analysis.
pub const NOTE_SAMPLES: usize = 64_000;
pub const NOTE_RATE_HZ: u32 = 16_000;

/// Per-bin mean and standard deviation of the dB features over the training notes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub stft_mean: Vec<f32>,
    pub stft_std: Vec<f32>,
    pub cqt_mean: Vec<f32>,
    pub cqt_std: Vec<f32>,
}

/// The raw dB views of one note, frame-major.
#[derive(Clone, Debug)]
pub struct RawViews {
    pub stft: Vec<f32>,
    pub cqt: Vec<f32>,
    pub stft_bins: usize,
    pub cqt_bins: usize,
    pub frames: usize,
}

/// Pooled, standardised inputs of one note: `[frames][bins]` per view.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteInputs {
    pub stft: Vec<f32>,
    pub cqt: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputShape {
    pub frames: usize,
    pub stft_bins: usize,
    pub cqt_bins: usize,
}

impl InputShape {
    pub fn of(input: &InputConfig, raw_stft_bins: usize, raw_cqt_bins: usize) -> Self {
        Self {
            frames: CACHE_FRAMES / input.time_pool,
            stft_bins: raw_stft_bins / input.stft_pool,
            cqt_bins: raw_cqt_bins / input.cqt_pool,
        }
    }
}

/// Analyses a note (cut or zero-padded to 4 s) into its dB views.
pub fn raw_views(analyzer: &mut Analyzer, samples: &[f32]) -> RawViews {
    let mut note = samples[..samples.len().min(NOTE_SAMPLES)].to_vec();
    note.resize(NOTE_SAMPLES, 0.0);
    let stft = analyzer.compute(View::Stft, &note, Scale::Db);
    let cqt = analyzer.compute(View::Cqt, &note, Scale::Db);
    debug_assert_eq!(stft.frames, cqt.frames);
    RawViews { frames: stft.frames, stft_bins: stft.bins, cqt_bins: cqt.bins, stft: stft.values, cqt: cqt.values }
}

/// `(x - mean) / std` per bin, then means over `time_pool x bin_pool` blocks (remainders dropped).
pub fn standardize_pool(
    raw: &[f32],
    frames: usize,
    bins: usize,
    mean: &[f32],
    std: &[f32],
    time_pool: usize,
    bin_pool: usize,
) -> Vec<f32> {
    let (out_frames, out_bins) = (frames / time_pool, bins / bin_pool);
    let mut out = vec![0f32; out_frames * out_bins];
    let scale = 1.0 / (time_pool * bin_pool) as f32;
    // `x * (1 / std) - mean / std`: a product per value rather than a quotient, as this runs
    // for every drawn example; a frame is standardised whole first, so that loop is SIMD.
    let inverse: Vec<f32> = std.iter().map(|s| 1.0 / s).collect();
    let shift: Vec<f32> = mean.iter().zip(&inverse).map(|(m, i)| m * i).collect();
    let mut standard = vec![0f32; bins];
    for of in 0..out_frames {
        let row = &mut out[of * out_bins..(of + 1) * out_bins];
        for frame in raw[of * time_pool * bins..].chunks_exact(bins).take(time_pool) {
            for (((y, &x), &i), &s) in standard.iter_mut().zip(frame).zip(&inverse).zip(&shift) {
                *y = x * i - s;
            }
            if bin_pool == 4 {
                // The default pooling, in fixed-size blocks the compiler vectorises.
                for (acc, block) in row.iter_mut().zip(standard.as_chunks::<4>().0) {
                    *acc += (block[0] + block[1]) + (block[2] + block[3]);
                }
            } else {
                for (acc, block) in row.iter_mut().zip(standard.chunks_exact(bin_pool)) {
                    *acc += block.iter().sum::<f32>();
                }
            }
        }
        row.iter_mut().for_each(|v| *v *= scale);
    }
    out
}

impl RawViews {
    /// Means over blocks of `time_pool` frames (a remainder dropped). Standardising is per bin
    /// and linear, so it commutes with this: pooling first keeps what is stored small.
    pub fn pool_time(&self, time_pool: usize) -> RawViews {
        let pool = |values: &[f32], bins: usize| {
            standardize_pool(values, self.frames, bins, &vec![0.0; bins], &vec![1.0; bins], time_pool, 1)
        };
        RawViews {
            stft: pool(&self.stft, self.stft_bins),
            cqt: pool(&self.cqt, self.cqt_bins),
            stft_bins: self.stft_bins,
            cqt_bins: self.cqt_bins,
            frames: self.frames / time_pool,
        }
    }

    /// Both views with their stationary floor taken out.
    pub fn without_floor(&self, floor: &NoiseFloor) -> RawViews {
        let mut out = self.clone();
        floor.apply(&mut out.stft, out.frames, out.stft_bins);
        floor.apply(&mut out.cqt, out.frames, out.cqt_bins);
        out
    }
}

/// The STFT and CQT moments of time-pooled views with their floor taken out: what a standardiser
/// is fitted from when the floor is configured (without it, the moments of every raw frame).
pub fn floored_moments(pooled: &RawViews, floor: &NoiseFloor) -> (Moments, Moments) {
    let front = pooled.without_floor(floor);
    (Moments::of(&front.stft, front.stft_bins), Moments::of(&front.cqt, front.cqt_bins))
}

impl Standardizer {
    /// The standardiser of the notes whose per-bin sums these are.
    pub fn from_moments(stft: &Moments, cqt: &Moments) -> Self {
        let (s, c) = (stft.finish(), cqt.finish());
        Self { stft_mean: s.mean, stft_std: s.std, cqt_mean: c.mean, cqt_std: c.std }
    }

    /// Takes the floor out of time-pooled views when configured, standardises them and pools
    /// their bins.
    pub fn finish(&self, pooled: &RawViews, input: &InputConfig) -> NoteInputs {
        let front = input.noise_floor.map(|floor| pooled.without_floor(&floor));
        self.pool_bins(front.as_ref().unwrap_or(pooled), input)
    }

    /// Standardises time-pooled views whose floor is already out (when configured) and pools
    /// their bins.
    pub fn pool_bins(&self, p: &RawViews, input: &InputConfig) -> NoteInputs {
        NoteInputs {
            stft: standardize_pool(&p.stft, p.frames, p.stft_bins, &self.stft_mean, &self.stft_std, 1, input.stft_pool),
            cqt: standardize_pool(&p.cqt, p.frames, p.cqt_bins, &self.cqt_mean, &self.cqt_std, 1, input.cqt_pool),
        }
    }

    /// The whole pipeline for one note's raw views.
    pub fn apply(&self, raw: &RawViews, input: &InputConfig) -> NoteInputs {
        self.finish(&raw.pool_time(input.time_pool), input)
    }
}

/// Notes of a split that carry every label of the schema.
pub fn labelled(dataset: &Dataset, split: Split, schema: &LabelSchema) -> Vec<usize> {
    dataset.split_indices(split).into_iter().filter(|&i| dataset.classes(i, schema).is_some()).collect()
}

/// Mean power of a note as the noise augmentation measures it: over its first 4 s, zero-padded.
pub fn note_power(samples: &[f32]) -> f64 {
    let n = samples.len().min(NOTE_SAMPLES);
    crate::degrade::noise::power(&samples[..n]) * n as f64 / NOTE_SAMPLES as f64
}

/// Frames and bins of the cached features this configuration expects.
pub const CACHE_FRAMES: usize = 251;

/// How the cached 251 x 513 STFT and 251 x 761 CQT are reduced before the network sees them:
/// averages over `time_pool` frames and over `*_pool` neighbouring bins, with an optional
/// stationary floor taken out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    pub time_pool: usize,
    pub stft_pool: usize,
    pub cqt_pool: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_floor: Option<crate::learn::notes::floor::NoiseFloor>,
}

impl InputConfig {
    /// Pooling alone, without a floor.
    pub fn pooled(time_pool: usize, stft_pool: usize, cqt_pool: usize) -> Self {
        Self { time_pool, stft_pool, cqt_pool, noise_floor: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_averages_standardised_blocks() {
        // 4 frames x 4 bins, x = 10 * frame + bin; mean 1, std 2 everywhere.
        let raw: Vec<f32> = (0..16).map(|i| (10 * (i / 4) + i % 4) as f32).collect();
        let out = standardize_pool(&raw, 4, 4, &[1.0; 4], &[2.0; 4], 2, 2);
        // Block (frames 0-1, bins 0-1): mean of 0, 1, 10, 11 = 5.5 -> (5.5 - 1) / 2.
        let expect = |f0: f32, b0: f32| ((10.0 * (f0 + 0.5) + b0 + 0.5) - 1.0) / 2.0;
        assert_eq!(out, vec![expect(0.0, 0.0), expect(0.0, 2.0), expect(2.0, 0.0), expect(2.0, 2.0)]);
    }
}
