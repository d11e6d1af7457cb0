//! A random smooth equaliser in the feature domain: a curve over log frequency added to every
//! frame's dB. Microphones, rooms and instrument bodies colour a note's spectral envelope; a
//! model that has only heard one sampled instrument per class otherwise learns that envelope
//! as the class. Adding dB before standardising and pooling is linear, so the curve can be
//! added to finished inputs directly, each pooled bin getting the mean of its bins' share.

use rand::Rng;
use rand_distr::{Distribution as _, Normal};
use serde::{Deserialize, Serialize};

use crate::dsp::cqt::CqtConfig;
use crate::dsp::stft::StftConfig;
use crate::learn::notes::inputs::{InputConfig, NoteInputs, Standardizer};

/// Cosines over log frequency that make up a curve: smooth, up to three bumps across the band.
const COSINES: usize = 3;
/// The band the curve spans; below and above it the curve is flat.
const LOW_HZ: f64 = 50.0;
const HIGH_HZ: f64 = 8000.0;

/// `[feature_eq]` in the config: how often a drawn example is coloured, and how strongly (the
/// curve's RMS over log frequency, in dB).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureEqConfig {
    pub probability: f64,
    pub gain_db: f64,
}

impl FeatureEqConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!("feature_eq.probability must lie in [0, 1], got {}", self.probability));
        }
        if !(0.0..=24.0).contains(&self.gain_db) {
            return Err(format!("feature_eq.gain_db must lie in [0, 24] dB, got {}", self.gain_db));
        }
        Ok(())
    }
}

/// Each cosine's share of every pooled input bin, per view: `[cosine][pooled bin]`.
pub struct FeatureEq {
    pub config: FeatureEqConfig,
    stft: Vec<Vec<f32>>,
    cqt: Vec<Vec<f32>>,
}

/// Position of a frequency in the band on a log axis, 0 to 1.
fn band_position(hz: f64) -> f64 {
    ((hz.max(LOW_HZ) / LOW_HZ).log2() / (HIGH_HZ / LOW_HZ).log2()).min(1.0)
}

impl FeatureEq {
    pub fn new(config: FeatureEqConfig, standardizer: &Standardizer, input: &InputConfig) -> Self {
        // The views come from `Analyzer::default()`: its two configurations place the bins.
        let stft = StftConfig::default();
        let stft_hz: Vec<f64> = (0..standardizer.stft_std.len())
            .map(|b| b as f64 * f64::from(stft.sample_rate_hz) / stft.n_fft as f64)
            .collect();
        let cqt = CqtConfig::default();
        let cqt_hz: Vec<f64> = (0..standardizer.cqt_std.len()).map(|b| cqt.bin_hz(b)).collect();
        let shares = |hz: &[f64], std: &[f32], pool: usize| -> Vec<Vec<f32>> {
            (1..=COSINES)
                .map(|k| {
                    let per_bin: Vec<f32> = hz
                        .iter()
                        .zip(std)
                        .map(|(&f, &s)| (std::f64::consts::PI * k as f64 * band_position(f)).cos() as f32 / s)
                        .collect();
                    per_bin.chunks_exact(pool).map(|c| c.iter().sum::<f32>() / pool as f32).collect()
                })
                .collect()
        };
        Self {
            stft: shares(&stft_hz, &standardizer.stft_std, input.stft_pool),
            cqt: shares(&cqt_hz, &standardizer.cqt_std, input.cqt_pool),
            config,
        }
    }

    /// Colours `x` by a fresh curve.
    pub fn apply(&self, x: &mut NoteInputs, rng: &mut impl Rng) {
        // Amplitudes of sd g * sqrt(2 / K): each cosine's mean square over the band is 1/2, so
        // the curve's expected mean square is g^2.
        let sd = self.config.gain_db * (2.0 / COSINES as f64).sqrt();
        let normal = Normal::new(0.0, sd.max(f64::MIN_POSITIVE)).expect("a finite deviation");
        let a: Vec<f32> = (0..COSINES).map(|_| normal.sample(rng) as f32).collect();
        for (values, shares) in [(&mut x.stft, &self.stft), (&mut x.cqt, &self.cqt)] {
            let bins = shares[0].len();
            let curve: Vec<f32> = (0..bins).map(|j| a.iter().zip(shares).map(|(a, s)| a * s[j]).sum()).collect();
            for frame in values.chunks_exact_mut(bins) {
                frame.iter_mut().zip(&curve).for_each(|(v, c)| *v += c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;
    use crate::learn::notes::augment::test_note;
    use crate::learn::notes::inputs::raw_views;

    #[test]
    fn the_curve_on_finished_inputs_equals_the_curve_on_the_raw_views() {
        let input = InputConfig::pooled(4, 4, 4);
        let raw = raw_views(&mut crate::features::Analyzer::default(), &test_note()).pool_time(4);
        let spread = |bins: usize, m: f32| (0..bins).map(|b| m + (b % 7) as f32).collect::<Vec<_>>();
        let standardizer = Standardizer {
            stft_mean: spread(raw.stft_bins, -40.0),
            stft_std: spread(raw.stft_bins, 3.0),
            cqt_mean: spread(raw.cqt_bins, -50.0),
            cqt_std: spread(raw.cqt_bins, 5.0),
        };
        let eq = FeatureEq::new(FeatureEqConfig { probability: 1.0, gain_db: 6.0 }, &standardizer, &input);
        let mut finished = standardizer.finish(&raw, &input);
        let clean = finished.clone();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        eq.apply(&mut finished, &mut rng);
        // The same draw, added as a curve in dB to every raw bin before standardising.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let sd = 6.0 * (2.0f64 / COSINES as f64).sqrt();
        let a: Vec<f64> = (0..COSINES).map(|_| Normal::new(0.0, sd).unwrap().sample(&mut rng)).collect();
        let curve = |hz: f64| -> f32 {
            a.iter()
                .enumerate()
                .map(|(k, a)| a * (std::f64::consts::PI * (k + 1) as f64 * band_position(hz)).cos())
                .sum::<f64>() as f32
        };
        let mut coloured = raw.clone();
        for frame in coloured.stft.chunks_exact_mut(raw.stft_bins) {
            frame.iter_mut().enumerate().for_each(|(b, v)| *v += curve(b as f64 * 16_000.0 / 1024.0));
        }
        let cqt = CqtConfig::default();
        for frame in coloured.cqt.chunks_exact_mut(raw.cqt_bins) {
            frame.iter_mut().enumerate().for_each(|(b, v)| *v += curve(cqt.bin_hz(b)));
        }
        let oracle = standardizer.finish(&coloured, &input);
        let worst = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst(&finished.stft, &oracle.stft) < 1e-3 && worst(&finished.cqt, &oracle.cqt) < 1e-3);
        // And it coloured something.
        assert!(worst(&finished.stft, &clean.stft) > 0.1);
        assert!(
            FeatureEqConfig { probability: 1.5, gain_db: 6.0 }.check().unwrap_err().contains("feature_eq.probability")
        );
    }
}
