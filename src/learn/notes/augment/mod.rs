//! Degradations applied in the feature domain, a fresh draw for every example. A degraded copy
//! of the data set holds one draw per note; here every step sees new noise at a new SNR, or a
//! new room, at the price of one pass over the note's time-pooled views. Both act on powers:
//! noise adds to a bin's power, a room convolves each bin's power envelope with the room's.
//! The views hold means of dB over pooled frames, so both are approximations; the tests of
//! each measure them against the same degradation applied to the waveform. A random smooth
//! equaliser (`eq`) colours any drawn example, clean or degraded.

mod crop;
mod eq;
mod log_add;
mod noise;
mod reverb;
mod shift;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use crop::{CropConfig, RandomCrop, crop_from, input_frames};
pub use eq::{FeatureEq, FeatureEqConfig};
pub use log_add::LogAdd;
pub use noise::NoiseBank;
pub use reverb::RoomBank;
pub use shift::{PitchShift, PitchShiftConfig};

use crate::degrade::noise::{NoiseColor, SNR_RANGE_DB};
use crate::degrade::rir::RT60_RANGE_S;
use crate::learn::notes::inputs::RawViews;
use crate::learn::notes::store::StoredNote;

/// `[feature_noise]` in the config: the colour and the range of SNRs, drawn uniformly in dB;
/// `weight` is how often it is drawn against one degraded copy (weight 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureNoiseConfig {
    pub color: NoiseColor,
    pub snr_db: [f64; 2],
    #[serde(default = "default_weight")]
    pub weight: f64,
}

fn default_weight() -> f64 {
    1.0
}

fn check_weight(section: &str, w: f64) -> Result<(), String> {
    if (0.0..=100.0).contains(&w) { Ok(()) } else { Err(format!("{section}.weight must lie in [0, 100], got {w}")) }
}

/// `[low, high]` inside `limits`, or a message naming the key.
fn check_interval(key: &str, [lo, hi]: [f64; 2], limits: [f64; 2], unit: &str) -> Result<(), String> {
    if (limits[0]..=limits[1]).contains(&lo) && (lo..=limits[1]).contains(&hi) {
        return Ok(());
    }
    Err(format!(
        "{key} must be [low, high] with {} <= low <= high <= {} {unit}, got [{lo}, {hi}]",
        limits[0], limits[1]
    ))
}

impl FeatureNoiseConfig {
    pub fn check(&self) -> Result<(), String> {
        check_interval("feature_noise.snr_db", self.snr_db, SNR_RANGE_DB, "dB")?;
        check_weight("feature_noise", self.weight)
    }
}

/// `[feature_reverb]` in the config: `rooms` responses drawn once with RT60s spread evenly over
/// `rt60_s`, binaural (heard as the mid, as the reverb stage does) or mono; `weight` as for
/// the noise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureReverbConfig {
    pub rt60_s: [f64; 2],
    #[serde(default = "default_binaural")]
    pub binaural: bool,
    #[serde(default = "default_rooms")]
    pub rooms: usize,
    #[serde(default = "default_weight")]
    pub weight: f64,
}

fn default_binaural() -> bool {
    true
}

fn default_rooms() -> usize {
    32
}

impl FeatureReverbConfig {
    pub fn check(&self) -> Result<(), String> {
        check_interval("feature_reverb.rt60_s", self.rt60_s, RT60_RANGE_S, "s")?;
        if !(1..=256).contains(&self.rooms) {
            return Err(format!("feature_reverb.rooms must lie in [1, 256], got {}", self.rooms));
        }
        check_weight("feature_reverb", self.weight)
    }
}

/// The feature-domain degradations of training: each draw degrades a note's time-pooled views
/// before they are standardised and their bins pooled.
pub struct FeatureAugment {
    pub noise: Option<(FeatureNoiseConfig, NoiseBank)>,
    pub rooms: Option<(FeatureReverbConfig, RoomBank)>,
}

impl FeatureAugment {
    /// The weights of the kinds of degraded version this offers: noise, rooms, or both.
    pub fn weights(&self) -> Vec<f64> {
        let noise = self.noise.as_ref().map(|(c, _)| c.weight);
        noise.into_iter().chain(self.rooms.as_ref().map(|(c, _)| c.weight)).collect()
    }

    /// A note's views degraded by version `v` (indexing [`Self::weights`]: the noise first when
    /// configured).
    pub fn draw(&self, v: usize, note: &StoredNote, rng: &mut impl Rng) -> RawViews {
        let raw = &note.raw;
        match (&self.noise, v) {
            (Some((config, bank)), 0) => {
                let [lo, hi] = config.snr_db;
                let snr = if hi > lo { rng.random_range(lo..hi) } else { lo };
                let which = rng.random_range(0..bank.realisations());
                let shift = rng.random_range(0..raw.frames.max(1));
                bank.add(raw, note.power, snr, which, shift)
            }
            _ => {
                let (_, rooms) = self.rooms.as_ref().expect("a version beyond the noise is a room");
                rooms.apply(raw, rng.random_range(0..rooms.len()))
            }
        }
    }
}

/// A decaying harmonic note for the tests: ten partials of 220 Hz at amplitude 1/k, 1 s decay.
#[cfg(test)]
fn test_note() -> Vec<f32> {
    (0..crate::learn::notes::inputs::NOTE_SAMPLES)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let partials: f32 = (1..=10).map(|k| (std::f32::consts::TAU * 220.0 * k as f32 * t).sin() / k as f32).sum();
            0.2 * partials * (-t).exp()
        })
        .collect()
}

#[cfg(test)]
fn mean_abs_db(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

#[cfg(test)]
fn mean_db(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x - y).sum::<f32>() / a.len() as f32
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;
    use crate::features::Analyzer;
    use crate::learn::notes::batch::{Examples, NoteSource, Targets};
    use crate::learn::notes::inputs::InputConfig;
    use crate::learn::notes::inputs::{InputShape, NoteInputs, Standardizer, note_power, raw_views};

    #[test]
    fn draws_spread_over_the_copies_and_both_feature_degradations_by_weight() {
        let input = InputConfig::pooled(4, 4, 4);
        let wave = test_note();
        let raw = raw_views(&mut Analyzer::default(), &wave).pool_time(4);
        let unit = |bins: usize| (vec![0f32; bins], vec![1f32; bins]);
        let ((stft_mean, stft_std), (cqt_mean, cqt_std)) = (unit(raw.stft_bins), unit(raw.cqt_bins));
        let standardizer = Standardizer { stft_mean, stft_std, cqt_mean, cqt_std };
        let clean = standardizer.finish(&raw, &input);
        // The degraded copy: the note at the dB floor everywhere, unlike any drawn version.
        let copy_raw = RawViews { stft: vec![-100.0; raw.stft.len()], cqt: vec![-100.0; raw.cqt.len()], ..raw.clone() };
        let copy = standardizer.finish(&copy_raw, &input);
        let noise = FeatureNoiseConfig { color: NoiseColor::Pink, snr_db: [0.0, 0.0], weight: 2.0 };
        let reverb = FeatureReverbConfig { rt60_s: [1.0, 1.0], binaural: false, rooms: 2, weight: 1.0 };
        let augment = FeatureAugment {
            noise: Some((noise.clone(), NoiseBank::new(noise.color, &input, 1))),
            rooms: Some((reverb.clone(), RoomBank::new(&reverb, &input, 1).unwrap())),
        };
        let (_, rooms) = augment.rooms.as_ref().unwrap();
        let in_a_room: Vec<NoteInputs> = (0..2).map(|k| standardizer.finish(&rooms.apply(&raw, k), &input)).collect();
        let stored = |raw: RawViews| StoredNote { power: note_power(&wave), raw };
        let examples = Examples {
            shape: InputShape::of(&input, raw.stft_bins, raw.cqt_bins),
            notes: vec!["n".into()],
            clean: NoteSource::Memory(vec![stored(raw.clone())]),
            degraded: vec![NoteSource::Memory(vec![stored(copy_raw)])],
            standardizer,
            input,
            augment: Some(augment),
            eq: None,
            shift: None,
            crop: None,
            offsets: Vec::new(),
            played: None,
            targets: vec![Targets { classes: [0; 6], qualities: 0, descriptors: [0.0; 5], library: 0 }],
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        assert!((0..20).all(|_| examples.draw(0, 0.0, &mut rng).unwrap() == clean));
        // A room draw is one of the two rooms exactly; noise only ever adds power.
        let (mut copies, mut noisy, mut roomy) = (0usize, 0usize, 0usize);
        for _ in 0..400 {
            let x = examples.draw(0, 1.0, &mut rng).unwrap();
            if x == copy {
                copies += 1;
            } else if in_a_room.contains(&x) {
                roomy += 1;
            } else {
                assert!(x.stft.iter().zip(&clean.stft).all(|(a, b)| a >= &(b - 1e-4)), "neither copy, room nor noise");
                noisy += 1;
            }
        }
        // 400 draws, weights 1 (copy), 2 (noise) and 1 (room): expected 100, 200 and 100, with
        // standard deviations 8.7, 10 and 8.7.
        for (what, n, expected) in [("copy", copies, 100), ("noise", noisy, 200), ("room", roomy, 100)] {
            assert!(n.abs_diff(expected) <= 30, "{what}: {n} of 400 ({copies} {noisy} {roomy})");
        }
    }
}
