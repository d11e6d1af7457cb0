//! Training examples and the batches drawn from them: class-balanced sampling, clean
//! or degraded versions, SpecAugment masks and Mixup.

use candle_core::{Device, Result, Tensor};
use rand::Rng;
use rand::seq::SliceRandom as _;
use rand_distr::{Beta, Distribution as _};
use serde::{Deserialize, Serialize};

use std::borrow::Cow;
use std::sync::Arc;

use crate::data::schema::MAX_HEADS;
use crate::learn::notes::augment::{FeatureAugment, FeatureEq, PitchShift, RandomCrop, crop_from};
use crate::learn::notes::inputs::{InputConfig, InputShape, NoteInputs, Standardizer};
use crate::learn::notes::store::{Store, StoreError, StoredNote};

/// The targets of one note (descriptors standardised).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Targets {
    /// The class of each single-label head of the schema, in its order; the primary first.
    pub classes: [u16; MAX_HEADS],
    /// Bit k set: the note has quality k.
    pub qualities: u16,
    pub descriptors: [f32; 5],
    /// Index of the note's sample library in the model's `libraries`; [`NO_LIBRARY`] if unknown.
    pub library: u8,
}

impl Targets {
    /// The primary head's class.
    pub fn primary(&self) -> usize {
        usize::from(self.classes[0])
    }
}

/// The library of a note that names none, or one the model was not trained on.
pub const NO_LIBRARY: u8 = u8::MAX;

/// Where a split's notes are read from: a store (training and evaluation) or notes analysed in
/// memory (evaluation through a chain, applied to the waveform as it is read).
pub enum NoteSource {
    Memory(Vec<StoredNote>),
    /// The store's notes at these data-set indices.
    Store {
        store: Arc<Store>,
        rows: Vec<usize>,
    },
}

impl NoteSource {
    pub fn len(&self) -> usize {
        match self {
            NoteSource::Memory(notes) => notes.len(),
            NoteSource::Store { rows, .. } => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Example `i`'s inputs as they are: its floor out (from the stored steps when it comes from
    /// a store), standardised, its bins pooled.
    pub fn inputs(
        &self,
        i: usize,
        standardizer: &Standardizer,
        input: &InputConfig,
    ) -> std::result::Result<NoteInputs, StoreError> {
        if let (NoteSource::Store { store, rows }, Some(floor)) = (self, &input.noise_floor) {
            return Ok(standardizer.pool_bins(&store.read_floored(rows[i], floor)?, input));
        }
        Ok(standardizer.finish(&self.get(i)?.raw, input))
    }

    /// Example `i`'s note.
    pub fn get(&self, i: usize) -> std::result::Result<Cow<'_, StoredNote>, StoreError> {
        match self {
            NoteSource::Memory(notes) => Ok(Cow::Borrowed(&notes[i])),
            NoteSource::Store { store, rows } => store.read(rows[i]).map(Cow::Owned),
        }
    }
}

/// A split as training reads it: each note's source, clean and in each degraded copy given, the
/// standardiser that finishes them, and their targets. Inputs are made per draw, so memory does
/// not grow with the number of notes.
pub struct Examples {
    pub shape: InputShape,
    pub notes: Vec<String>,
    pub clean: NoteSource,
    /// One entry per degraded copy of the data set, each holding every note.
    pub degraded: Vec<NoteSource>,
    pub standardizer: Standardizer,
    pub input: InputConfig,
    /// Degradations applied in the feature domain, more degraded versions beside the copies.
    pub augment: Option<FeatureAugment>,
    /// A random equaliser applied to drawn examples, clean or degraded.
    pub eq: Option<FeatureEq>,
    /// A random pitch shift of drawn examples and their targets (multi-task training only).
    pub shift: Option<PitchShift>,
    /// Drawn examples started at a random offset into the note.
    pub crop: Option<RandomCrop>,
    /// Each note's fixed start in input frames (empty: every note from its onset), applied to
    /// the note as it is ([`Self::clean`]): evaluation from inside the notes.
    pub offsets: Vec<usize>,
    /// A played version of each note (`dataset played`) and how often a draw starts from it.
    pub played: Option<(NoteSource, f64)>,
    pub targets: Vec<Targets>,
}

/// Inputs of a batch as tensors, `[B, T, bins]` per view.
pub struct BatchInputs {
    pub stft: Tensor,
    pub cqt: Tensor,
}

pub fn to_tensors(shape: &InputShape, rows: &[(&[f32], &[f32])], device: &Device) -> Result<BatchInputs> {
    let b = rows.len();
    let mut s = Vec::with_capacity(b * shape.frames * shape.stft_bins);
    let mut c = Vec::with_capacity(b * shape.frames * shape.cqt_bins);
    for (stft, cqt) in rows {
        s.extend_from_slice(stft);
        c.extend_from_slice(cqt);
    }
    Ok(BatchInputs {
        stft: Tensor::from_vec(s, (b, shape.frames, shape.stft_bins), device)?,
        cqt: Tensor::from_vec(c, (b, shape.frames, shape.cqt_bins), device)?,
    })
}

impl Examples {
    pub fn len(&self) -> usize {
        self.notes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Note `i` as it is, standardised and pooled.
    pub fn clean(&self, i: usize) -> std::result::Result<NoteInputs, StoreError> {
        let mut x = self.clean.inputs(i, &self.standardizer, &self.input)?;
        if let Some(&offset) = self.offsets.get(i) {
            crop_from(&mut x, &self.shape, offset);
        }
        Ok(x)
    }

    /// One epoch's order of note indices: a shuffle, or classes drawn uniformly then a note of
    /// the drawn class (with replacement), as many as there are notes.
    pub fn epoch_order(&self, class_balanced: bool, rng: &mut impl Rng) -> Vec<usize> {
        if !class_balanced {
            let mut order: Vec<usize> = (0..self.len()).collect();
            order.shuffle(rng);
            return order;
        }
        let mut by_class: Vec<Vec<usize>> = Vec::new();
        for (i, t) in self.targets.iter().enumerate() {
            let c = t.primary();
            if by_class.len() <= c {
                by_class.resize(c + 1, Vec::new());
            }
            by_class[c].push(i);
        }
        by_class.retain(|v| !v.is_empty());
        (0..self.len())
            .map(|_| {
                let class = &by_class[rng.random_range(0..by_class.len())];
                class[rng.random_range(0..class.len())]
            })
            .collect()
    }

    /// Note `i`: with probability `p` one of its degraded versions (each copy with weight 1, each
    /// kind of feature-domain degradation with its configured weight), otherwise the clean note;
    /// then, when configured, perhaps coloured by the equaliser.
    pub fn draw(&self, i: usize, p: f64, rng: &mut impl Rng) -> std::result::Result<NoteInputs, StoreError> {
        let mut x = self.version(i, p, rng)?;
        if let Some(crop) = &self.crop {
            crop_from(&mut x, &self.shape, crop.offset(rng));
        }
        if let Some(eq) = &self.eq
            && rng.random_bool(eq.config.probability)
        {
            eq.apply(&mut x, rng);
        }
        Ok(x)
    }

    /// [`Self::draw`], then perhaps shifted in pitch, with the targets of what was drawn.
    pub fn draw_shifted(
        &self,
        i: usize,
        p: f64,
        rng: &mut impl Rng,
    ) -> std::result::Result<(NoteInputs, Targets), StoreError> {
        let mut x = self.draw(i, p, rng)?;
        let Some(shift) = &self.shift else { return Ok((x, self.targets[i])) };
        match shift.semitones(rng) {
            0 => Ok((x, self.targets[i])),
            k => {
                shift.apply(&mut x, k);
                Ok((x, shift.targets(&self.targets[i], k)))
            }
        }
    }

    fn version(&self, i: usize, p: f64, rng: &mut impl Rng) -> std::result::Result<NoteInputs, StoreError> {
        // The note as the library holds it, or as a player plays it.
        let base = match &self.played {
            Some((played, q)) if rng.random_bool(*q) => played,
            _ => &self.clean,
        };
        let mut weights = vec![1.0; self.degraded.len()];
        weights.extend(self.augment.as_ref().map_or_else(Vec::new, FeatureAugment::weights));
        let total: f64 = weights.iter().sum();
        if total <= 0.0 || !rng.random_bool(p) {
            return base.inputs(i, &self.standardizer, &self.input);
        }
        let v = weighted_index(&weights, rng).expect("the weights add up to more than 0");
        match (self.degraded.get(v), &self.augment) {
            (Some(copy), _) => copy.inputs(i, &self.standardizer, &self.input),
            (None, Some(augment)) => {
                let note = base.get(i)?;
                Ok(self.standardizer.finish(&augment.draw(v - self.degraded.len(), &note, rng), &self.input))
            }
            (None, None) => unreachable!("the weights count the copies and the augmentations"),
        }
    }
}

/// An index drawn with probability proportional to its weight; None when no weight is positive.
pub fn weighted_index(weights: &[f64], rng: &mut impl Rng) -> Option<usize> {
    let total: f64 = weights.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let mut r = rng.random_range(0.0..total);
    let v = weights.iter().position(|&w| {
        r -= w;
        r < 0.0
    });
    // Rounding can leave r at zero past the last weight: that draw is the last one.
    Some(v.unwrap_or(weights.len() - 1))
}

/// Zeroes `masks` random spans of up to `width` frames (shared by both views, which share the
/// time axis) and, per view, `freq_masks` spans of up to `freq_fraction` of its bins.
pub fn spec_augment(
    stft: &mut [f32],
    cqt: &mut [f32],
    shape: &InputShape,
    config: &SpecAugmentConfig,
    rng: &mut impl Rng,
) {
    let t = shape.frames;
    for _ in 0..config.time_masks {
        let width = rng.random_range(0..=config.time_width.min(t));
        let start = rng.random_range(0..=t - width);
        for frame in start..start + width {
            stft[frame * shape.stft_bins..(frame + 1) * shape.stft_bins].fill(0.0);
            cqt[frame * shape.cqt_bins..(frame + 1) * shape.cqt_bins].fill(0.0);
        }
    }
    for (values, bins) in [(stft, shape.stft_bins), (cqt, shape.cqt_bins)] {
        let widest = (config.freq_fraction * bins as f64) as usize;
        for _ in 0..config.freq_masks {
            let width = rng.random_range(0..=widest.min(bins));
            let start = rng.random_range(0..=bins - width);
            for frame in values.chunks_exact_mut(bins) {
                frame[start..start + width].fill(0.0);
            }
        }
    }
}

/// Mixup's weight for a batch: Beta(alpha, alpha), folded to at least 0.5 so the first
/// example stays the dominant one (its label is the one accuracy is counted against).
pub fn mixup_lambda(alpha: f64, rng: &mut impl Rng) -> f32 {
    if alpha <= 0.0 {
        return 1.0;
    }
    let l = Beta::new(alpha, alpha).expect("alpha > 0").sample(rng) as f32;
    l.max(1.0 - l)
}

/// `lambda * a + (1 - lambda) * b`, elementwise.
pub fn mix(a: &[f32], b: &[f32], lambda: f32) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| lambda * x + (1.0 - lambda) * y).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecAugmentConfig {
    pub time_masks: usize,
    /// Widest time mask, in pooled frames.
    pub time_width: usize,
    pub freq_masks: usize,
    /// Widest frequency mask, as a fraction of the pooled bins.
    pub freq_fraction: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    fn examples(classes: &[u8]) -> Examples {
        let shape = InputShape { frames: 4, stft_bins: 2, cqt_bins: 3 };
        let raw = crate::learn::notes::inputs::RawViews {
            stft: vec![1.0; 8],
            cqt: vec![1.0; 12],
            stft_bins: 2,
            cqt_bins: 3,
            frames: 4,
        };
        Examples {
            shape,
            notes: classes.iter().enumerate().map(|(i, _)| format!("n{i}")).collect(),
            clean: NoteSource::Memory(classes.iter().map(|_| StoredNote { power: 1.0, raw: raw.clone() }).collect()),
            degraded: Vec::new(),
            standardizer: Standardizer {
                stft_mean: vec![0.0; 2],
                stft_std: vec![1.0; 2],
                cqt_mean: vec![0.0; 3],
                cqt_std: vec![1.0; 3],
            },
            input: InputConfig::pooled(1, 1, 1),
            augment: None,
            eq: None,
            shift: None,
            crop: None,
            offsets: Vec::new(),
            played: None,
            targets: classes
                .iter()
                .map(|&c| Targets {
                    classes: [u16::from(c), 0, 0, 0, 0, 0],
                    qualities: 0,
                    descriptors: [0.0; 5],
                    library: 0,
                })
                .collect(),
        }
    }

    fn memory(value: f32, notes: usize) -> NoteSource {
        let raw = crate::learn::notes::inputs::RawViews {
            stft: vec![value; 8],
            cqt: vec![value; 12],
            stft_bins: 2,
            cqt_bins: 3,
            frames: 4,
        };
        NoteSource::Memory((0..notes).map(|_| StoredNote { power: 1.0, raw: raw.clone() }).collect())
    }

    #[test]
    fn draws_start_from_the_played_copy_as_often_as_asked_and_evaluation_never() {
        let mut ex = examples(&[0, 1]);
        ex.played = Some((memory(5.0, 2), 0.3));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let played = (0..4000).filter(|_| ex.draw(1, 0.0, &mut rng).unwrap().stft[0] == 5.0).count();
        // 4000 Bernoulli(0.3) draws: 3 standard deviations is 0.022.
        assert!((played as f64 / 4000.0 - 0.3).abs() < 0.022, "{played}");
        // The note as it is, what validation and evaluation read, is never the played one.
        assert!((0..100).all(|_| ex.clean(1).unwrap().stft[0] == 1.0));
    }

    #[test]
    fn fixed_offsets_start_each_note_where_asked() {
        let mut ex = examples(&[0, 1]);
        // Frame t of note 1 holds t + 1: an offset of 2 starts it at its third frame.
        ex.clean = NoteSource::Memory(
            (0..2)
                .map(|_| StoredNote {
                    power: 1.0,
                    raw: crate::learn::notes::inputs::RawViews {
                        stft: (0..4).flat_map(|t| [t as f32 + 1.0; 2]).collect(),
                        cqt: (0..4).flat_map(|t| [t as f32 + 1.0; 3]).collect(),
                        stft_bins: 2,
                        cqt_bins: 3,
                        frames: 4,
                    },
                })
                .collect(),
        );
        ex.offsets = vec![0, 2];
        assert_eq!(ex.clean(0).unwrap().stft, vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
        assert_eq!(ex.clean(1).unwrap().stft, vec![3.0, 3.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]);
    }

    #[test]
    fn class_balanced_order_draws_rare_classes_as_often() {
        // 90 notes of class 0, 10 of class 1: balanced sampling draws each class about half the time.
        let mut classes = vec![0u8; 90];
        classes.extend([1u8; 10]);
        let ex = examples(&classes);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let draws: Vec<usize> = (0..50).flat_map(|_| ex.epoch_order(true, &mut rng)).collect();
        let rare = draws.iter().filter(|&&i| ex.targets[i].primary() == 1).count() as f64 / draws.len() as f64;
        // 5,000 draws: the standard error of a proportion of 0.5 is 0.007; 0.05 is 7 of them.
        assert!((rare - 0.5).abs() < 0.05, "{rare}");
        let plain = ex.epoch_order(false, &mut rng);
        let mut sorted = plain.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn spec_augment_masks_whole_spans() {
        let ex = examples(&[0]);
        let config = SpecAugmentConfig { time_masks: 1, time_width: 4, freq_masks: 0, freq_fraction: 0.0 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let first = ex.clean(0).unwrap();
        let (mut s, mut c) = (first.stft, first.cqt);
        spec_augment(&mut s, &mut c, &ex.shape, &config, &mut rng);
        // Whatever frames are masked are masked in both views, whole.
        for f in 0..4 {
            let sm = s[f * 2..f * 2 + 2].iter().all(|&v| v == 0.0);
            let cm = c[f * 3..f * 3 + 3].iter().all(|&v| v == 0.0);
            assert_eq!(sm, cm);
            assert!(sm || s[f * 2..f * 2 + 2].iter().all(|&v| v == 1.0));
        }
        let l = mixup_lambda(0.2, &mut rng);
        assert!((0.5..=1.0).contains(&l));
        assert_eq!(mix(&[1.0, 0.0], &[0.0, 1.0], 0.75), vec![0.75, 0.25]);
    }
}
