//! Where in a note the model starts listening. Every rendered note begins at its onset, but a
//! window cut from a recording may begin anywhere in a note: training crops start at a random
//! offset into the note (`[crop]`), and evaluation can start every note at its middle. The
//! frames from the offset on move to the front; the tail repeats the note's last frame, which
//! for a note that has ended is its own silence and noise floor.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::dataset::NOTE_RATE_HZ;
use crate::dsp::StftConfig;
use crate::learn::notes::inputs::{InputConfig, InputShape, NoteInputs};

/// `[crop]` in the config: how often a drawn training example starts later than its onset, and
/// the latest start, in seconds (drawn uniformly from a frame to it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropConfig {
    pub probability: f64,
    pub max_offset_secs: f64,
}

impl CropConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!("crop.probability must lie in [0, 1], got {}", self.probability));
        }
        if !(self.max_offset_secs > 0.0 && self.max_offset_secs <= 3.5) {
            return Err(format!("crop.max_offset_secs must lie in (0, 3.5], got {}", self.max_offset_secs));
        }
        Ok(())
    }
}

/// The network's input frames in `secs` (rounded).
pub fn input_frames(secs: f64, input: &InputConfig) -> usize {
    let hop = StftConfig::default().hop_len * input.time_pool.max(1);
    (secs * f64::from(NOTE_RATE_HZ) / hop as f64).round().max(0.0) as usize
}

/// A note's inputs from input frame `offset` on, the tail filled with its last frame.
pub fn crop_from(x: &mut NoteInputs, shape: &InputShape, offset: usize) {
    let offset = offset.min(shape.frames.saturating_sub(1));
    if offset == 0 {
        return;
    }
    for (view, bins) in [(&mut x.stft, shape.stft_bins), (&mut x.cqt, shape.cqt_bins)] {
        view.copy_within(offset * bins.., 0);
        let last = (shape.frames - 1) * bins;
        for t in shape.frames - offset..shape.frames - 1 {
            view.copy_within(last..last + bins, t * bins);
        }
    }
}

/// Random crops of drawn training examples.
#[derive(Clone, Debug)]
pub struct RandomCrop {
    pub config: CropConfig,
    max_frames: usize,
}

impl RandomCrop {
    pub fn new(config: CropConfig, input: &InputConfig) -> Self {
        let max_frames = input_frames(config.max_offset_secs, input).max(1);
        Self { config, max_frames }
    }

    /// The offset of one draw: none, or 1 to the latest start in frames.
    pub fn offset(&self, rng: &mut impl Rng) -> usize {
        if rng.random_bool(self.config.probability) { rng.random_range(1..=self.max_frames) } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn a_crop_moves_the_frames_forward_and_repeats_the_last_one() {
        let shape = InputShape { frames: 6, stft_bins: 2, cqt_bins: 1 };
        // Frame t holds t in every bin (STFT) and 10 t (CQT).
        let mut x = NoteInputs {
            stft: (0..6).flat_map(|t| [t as f32, t as f32]).collect(),
            cqt: (0..6).map(|t| 10.0 * t as f32).collect(),
        };
        crop_from(&mut x, &shape, 2);
        assert_eq!(x.stft, vec![2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]);
        assert_eq!(x.cqt, vec![20.0, 30.0, 40.0, 50.0, 50.0, 50.0]);
        let before = x.clone();
        crop_from(&mut x, &shape, 0);
        assert_eq!(x, before);
    }

    #[test]
    fn random_offsets_cover_one_frame_to_the_latest_start_and_none_as_often_as_asked() {
        let input = InputConfig::pooled(4, 4, 4);
        let crop = RandomCrop::new(CropConfig { probability: 0.5, max_offset_secs: 2.0 }, &input);
        // 2 s at 16 kHz, hop 256, pooled by 4: 31.25 -> 31 frames.
        assert_eq!(crop.max_frames, 31);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let draws: Vec<usize> = (0..4000).map(|_| crop.offset(&mut rng)).collect();
        let none = draws.iter().filter(|&&d| d == 0).count() as f64 / 4000.0;
        // 4000 Bernoulli(0.5) draws: 3 standard deviations is 0.024.
        assert!((none - 0.5).abs() < 0.024, "{none}");
        assert_eq!(draws.iter().copied().max(), Some(31));
        assert_eq!(draws.iter().copied().filter(|&d| d > 0).min(), Some(1));
        assert!(CropConfig { probability: 0.5, max_offset_secs: 0.0 }.check().is_err());
        assert!(CropConfig { probability: 1.5, max_offset_secs: 1.0 }.check().is_err());
    }
}
