//! Pitch shifts in the feature domain: a note's spectra moved along frequency by whole
//! semitones, its pitch-class target with them. The data set splits each instrument by pitch,
//! so every test note lies at a pitch its instrument never showed in training; a shift of a
//! semitone or two shows each instrument over a wider range. It acts on finished inputs: each
//! pooled bin goes back to dB through the mean statistics of the bins it pools (exact for a
//! block of equal values), moves with linear interpolation, and is standardised again. Bins
//! shifted in from beyond either end repeat the end bin.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::schema::PitchLabels;
use crate::dsp::cqt::CqtConfig;
use crate::learn::notes::batch::Targets;
use crate::learn::notes::inputs::{InputConfig, NoteInputs, Standardizer};

/// Descriptors that scale with frequency (centroid, spread, zero-crossing rate), by their index
/// in `Descriptors::NAMES`; flatness and the harmonic balance do not move.
const SCALING_DESCRIPTORS: [usize; 3] = [0, 1, 3];

/// `[pitch_shift]` in the config: how often a drawn training example is shifted, and by at most
/// how many semitones either way (each nonzero shift equally likely); `votes`, at most
/// `semitones`, makes the trained model's predictions average over its input shifted by up to
/// that many semitones either way (`learn::scoring::vote`; 0, the default, does not).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PitchShiftConfig {
    pub probability: f64,
    pub semitones: u32,
    #[serde(default)]
    pub votes: u32,
}

impl PitchShiftConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(format!("pitch_shift.probability must lie in [0, 1], got {}", self.probability));
        }
        if !(1..=12).contains(&self.semitones) {
            return Err(format!("pitch_shift.semitones must lie in 1-12, got {}", self.semitones));
        }
        if self.votes > self.semitones {
            return Err(format!(
                "pitch_shift.votes ({}) must not exceed pitch_shift.semitones ({}): the model never saw larger shifts",
                self.votes, self.semitones
            ));
        }
        Ok(())
    }
}

/// Where each pooled output bin reads from: the lower source bin and the weight of the upper.
type Taps = Vec<(usize, f32)>;

/// One view's pooled statistics and its taps for every shift.
struct ViewShift {
    /// A pooled bin in dB is `(z + c) / a`: `a` the mean of `1/std`, `c` of `mean/std`.
    a: Vec<f32>,
    c: Vec<f32>,
    /// Indexed by `semitones + max`.
    taps: Vec<Taps>,
}

impl ViewShift {
    /// `position(bin, ratio)`: the fractional raw bin whose content lands on raw bin `bin` after
    /// a shift by the frequency ratio.
    fn new(mean: &[f32], std: &[f32], pool: usize, max: i32, position: impl Fn(f64, f64) -> f64) -> Self {
        let blocks = mean.len() / pool;
        let avg = |f: &dyn Fn(usize) -> f32| -> Vec<f32> {
            (0..blocks).map(|p| (0..pool).map(|k| f(p * pool + k)).sum::<f32>() / pool as f32).collect()
        };
        let a = avg(&|b| 1.0 / std[b]);
        let c = avg(&|b| mean[b] / std[b]);
        let centre = (pool as f64 - 1.0) / 2.0;
        let taps = (-max..=max)
            .map(|k| {
                let ratio = 2f64.powf(f64::from(k) / 12.0);
                (0..blocks)
                    .map(|p| {
                        let raw = position(p as f64 * pool as f64 + centre, ratio);
                        let src = ((raw - centre) / pool as f64).clamp(0.0, (blocks - 1) as f64);
                        let lo = (src.floor() as usize).min(blocks.saturating_sub(2));
                        (lo, (src - lo as f64) as f32)
                    })
                    .collect()
            })
            .collect();
        Self { a, c, taps }
    }

    fn apply(&self, values: &mut [f32], taps: &Taps) {
        let bins = self.a.len();
        let mut db = vec![0f32; bins];
        for frame in values.chunks_exact_mut(bins) {
            for (d, ((z, a), c)) in db.iter_mut().zip(frame.iter().zip(&self.a).zip(&self.c)) {
                *d = (z + c) / a;
            }
            for (b, (z, &(lo, w))) in frame.iter_mut().zip(taps).enumerate() {
                let hi = (lo + 1).min(bins - 1);
                *z = (db[lo] + w * (db[hi] - db[lo])) * self.a[b] - self.c[b];
            }
        }
    }
}

pub struct PitchShift {
    pub config: PitchShiftConfig,
    stft: ViewShift,
    cqt: ViewShift,
    descriptor_mean: [f32; 5],
    descriptor_std: [f32; 5],
    /// The pitch head's place among the targets' classes, and how it asks the pitch.
    pitch_head: (usize, PitchLabels),
}

impl PitchShift {
    pub fn new(
        config: PitchShiftConfig,
        standardizer: &Standardizer,
        input: &InputConfig,
        descriptor_mean: [f32; 5],
        descriptor_std: [f32; 5],
    ) -> Self {
        let max = config.semitones as i32;
        // STFT bins are linear in frequency; CQT bins are `bins_per_octave` to the octave.
        let stft = ViewShift::new(&standardizer.stft_mean, &standardizer.stft_std, input.stft_pool, max, |b, r| b / r);
        let per_octave = CqtConfig::default().bins_per_octave as f64;
        let cqt = ViewShift::new(&standardizer.cqt_mean, &standardizer.cqt_std, input.cqt_pool, max, |b, r| {
            b - per_octave * r.log2()
        });
        Self { config, stft, cqt, descriptor_mean, descriptor_std, pitch_head: (2, PitchLabels::Class) }
    }

    /// The pitch head whose class a shift moves: its index in the schema, and its labels
    /// (our schema's pitch class, third, by default).
    pub fn with_pitch_head(self, index: usize, labels: PitchLabels) -> Self {
        Self { pitch_head: (index, labels), ..self }
    }

    /// A draw of the shift for one example: 0 (none) with probability `1 - probability`.
    pub fn semitones(&self, rng: &mut impl Rng) -> i32 {
        let max = self.config.semitones as i32;
        if !rng.random_bool(self.config.probability) {
            return 0;
        }
        let k = rng.random_range(1..=max);
        if rng.random_bool(0.5) { k } else { -k }
    }

    /// Moves finished inputs up (positive) or down by `semitones`, at most the configured number.
    pub fn apply(&self, x: &mut NoteInputs, semitones: i32) {
        debug_assert!(semitones.unsigned_abs() <= self.config.semitones, "a shift beyond the configured range");
        let k = (semitones + self.config.semitones as i32) as usize;
        self.stft.apply(&mut x.stft, &self.stft.taps[k]);
        self.cqt.apply(&mut x.cqt, &self.cqt.taps[k]);
    }

    /// The targets of a note shifted by `semitones`: its pitch moves, and so do the descriptors
    /// measured in hertz or crossings per second.
    pub fn targets(&self, t: &Targets, semitones: i32) -> Targets {
        let ratio = 2f32.powf(semitones as f32 / 12.0);
        let mut descriptors = t.descriptors;
        for k in SCALING_DESCRIPTORS {
            let (m, s) = (self.descriptor_mean[k], self.descriptor_std[k]);
            descriptors[k] = (ratio * (descriptors[k] * s + m) - m) / s;
        }
        let mut classes = t.classes;
        let (head, labels) = self.pitch_head;
        classes[head] = labels.shift(classes[head], semitones);
        Targets { classes, descriptors, ..*t }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;
    use crate::features::Analyzer;
    use crate::learn::notes::inputs::raw_views;

    /// A harmonic note at `f0`: eight partials at amplitude 1/k, steady over the 4 s.
    fn note(f0: f32) -> Vec<f32> {
        (0..64_000)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                0.1 * (1..=8).map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() / k as f32).sum::<f32>()
            })
            .collect()
    }

    #[test]
    fn a_shifted_note_matches_the_note_played_at_the_shifted_pitch() {
        let input = InputConfig::pooled(4, 4, 4);
        let mut analyzer = Analyzer::default();
        let (low, high) = (note(220.0), note(220.0 * 2f32.powf(2.0 / 12.0)));
        let (low, high) = (raw_views(&mut analyzer, &low).pool_time(4), raw_views(&mut analyzer, &high).pool_time(4));
        // Statistics that vary from bin to bin, so that going back to dB matters.
        let spread = |bins: usize, m: f32, s: f32| -> (Vec<f32>, Vec<f32>) {
            ((0..bins).map(|b| m + (b % 5) as f32).collect(), (0..bins).map(|b| s + (b % 3) as f32).collect())
        };
        let ((stft_mean, stft_std), (cqt_mean, cqt_std)) =
            (spread(low.stft_bins, -60.0, 15.0), spread(low.cqt_bins, -70.0, 20.0));
        let standardizer = Standardizer { stft_mean, stft_std, cqt_mean, cqt_std };
        let config = PitchShiftConfig { probability: 1.0, semitones: 2, votes: 0 };
        let shift = PitchShift::new(config, &standardizer, &input, [0.0; 5], [1.0; 5]);
        let (mut up, target) = (standardizer.finish(&low, &input), standardizer.finish(&high, &input));
        let before = up.clone();
        shift.apply(&mut up, 2);
        // The strongest CQT bin, the fundamental, moves by four pooled bins (two a semitone).
        let peak = |v: &[f32]| (0..190).max_by(|&a, &b| v[a + 190 * 30].total_cmp(&v[b + 190 * 30])).unwrap();
        assert_eq!(peak(&up.cqt), peak(&before.cqt) + 4);
        assert_eq!(peak(&up.cqt), peak(&target.cqt));
        // Over the whole note the shifted input is much closer to the note at that pitch (0.52
        // and 0.37 of the distance unshifted). Not all the way: a pooled STFT bin is 31 Hz wide,
        // and the CQT's kernels leak between partials at levels that differ with pitch.
        let dist = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f32>() / x.len() as f32;
        for (view, moved, was, truth, most) in
            [("stft", &up.stft, &before.stft, &target.stft, 0.6), ("cqt", &up.cqt, &before.cqt, &target.cqt, 0.45)]
        {
            let (d, d0) = (dist(moved, truth), dist(was, truth));
            assert!(d < most * d0, "{view}: {d} from the note at the shifted pitch, {d0} unshifted");
        }
        // Shifting back down restores the CQT away from its ends.
        shift.apply(&mut up, -2);
        let inner = |v: &[f32]| v.chunks_exact(190).flat_map(|f| f[8..182].to_vec()).collect::<Vec<_>>();
        assert!(dist(&inner(&up.cqt), &inner(&before.cqt)) < 1e-3);
    }

    #[test]
    fn targets_move_with_the_shift_and_settings_are_named() {
        let shift = PitchShift::new(
            PitchShiftConfig { probability: 0.5, semitones: 3, votes: 0 },
            &Standardizer {
                stft_mean: vec![0.0; 8],
                stft_std: vec![1.0; 8],
                cqt_mean: vec![0.0; 8],
                cqt_std: vec![1.0; 8],
            },
            &InputConfig::pooled(1, 4, 4),
            [1000.0, 500.0, 0.1, 2000.0, 5.0],
            [400.0, 200.0, 0.05, 800.0, 3.0],
        );
        let t = Targets {
            classes: [3, 1, 11, 2, 0, 0],
            qualities: 0b101,
            descriptors: [0.5, -1.0, 0.3, 0.0, 1.0],
            library: 0,
        };
        let up = shift.targets(&t, 12);
        assert_eq!((up.classes, up.qualities), ([3, 1, 11, 2, 0, 0], 0b101));
        // An octave doubles the centroid: 1200 Hz -> 2400 Hz, (2400 - 1000) / 400 = 3.5.
        assert!((up.descriptors[0] - 3.5).abs() < 1e-5);
        assert_eq!((up.descriptors[2], up.descriptors[4]), (0.3, 1.0));
        assert_eq!(shift.targets(&t, 1).classes[2], 0);
        assert_eq!(shift.targets(&t, -2).classes[2], 9);
        // NSynth's MIDI pitch head, second here: moved along the keyboard, kept in 0-127.
        let midi = PitchShift { pitch_head: (1, PitchLabels::Midi), ..shift };
        let t = Targets { classes: [4, 126, 0, 0, 0, 0], ..t };
        assert_eq!((midi.targets(&t, 1).classes[1], midi.targets(&t, 3).classes[1]), (127, 127));
        assert_eq!(midi.targets(&t, -2).classes, [4, 124, 0, 0, 0, 0]);
        let shift = midi;
        // About half the draws shift, each by at most three semitones, both ways.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let draws: Vec<i32> = (0..2000).map(|_| shift.semitones(&mut rng)).collect();
        let moved = draws.iter().filter(|&&k| k != 0).count();
        assert!((900..1100).contains(&moved), "{moved} of 2000 shifted");
        assert!(draws.iter().all(|k| k.abs() <= 3) && draws.contains(&-3) && draws.contains(&3));
        let bad = PitchShiftConfig { probability: 0.5, semitones: 0, votes: 0 };
        assert!(bad.check().unwrap_err().contains("pitch_shift.semitones"));
        let bad = PitchShiftConfig { probability: 2.0, semitones: 1, votes: 0 };
        assert!(bad.check().unwrap_err().contains("pitch_shift.probability"));
        let bad = PitchShiftConfig { probability: 0.5, semitones: 2, votes: 3 };
        assert!(bad.check().unwrap_err().contains("pitch_shift.votes"));
    }
}
