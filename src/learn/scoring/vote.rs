//! Pitch-shift voting at inference: each head's class probabilities averaged over the input as
//! it is and moved by every whole semitone up to `votes` either way (`[pitch_shift] votes`). A
//! test note lies at a pitch its instrument never showed in training; its shifted copies land
//! on neighbouring pitches, most of which it did show. The pitch-class head's probabilities are
//! moved back by each copy's shift before they are averaged; the descriptors come from the input
//! as it is.

use candle_core::{D, Device, Result, Tensor};

use crate::data::schema::PitchLabels;
use crate::learn::network::model::Model;
use crate::learn::network::modelfile::ModelMeta;
use crate::learn::notes::augment::{PitchShift, PitchShiftConfig};
use crate::learn::notes::batch::to_tensors;
use crate::learn::notes::inputs::{InputConfig, InputShape, NoteInputs, Standardizer};

/// The pitch shift's own limit (`pitch_shift.semitones`): an octave either way.
pub const MAX_VOTES: u32 = 12;

/// A batch's class probabilities per head (one row per note) and its standardised descriptors.
pub struct HeadProbabilities {
    /// Each single-label head's class probabilities, `[head][example][class]`.
    pub classes: Vec<Vec<Vec<f32>>>,
    /// Each quality's probability (a sigmoid), `[example][quality]`; empty without the head.
    pub qualities: Vec<Vec<f32>>,
    /// Each label of the multi-label head (a sigmoid), `[example][label]`; empty without it.
    pub multi: Vec<Vec<f32>>,
    pub descriptors: Vec<Vec<f32>>,
    /// The fused embedding the heads read, of the input as it is (not of its shifted copies):
    /// what the library probe reads, without a second pass.
    pub embedding: Vec<Vec<f32>>,
}

/// The shift's own range is the number of votes; none runs the input as it is.
pub struct Voter {
    shift: Option<PitchShift>,
    /// The pitch head whose classes move with a shifted copy, and how it asks the pitch.
    pitch_head: (usize, PitchLabels),
}

impl Voter {
    /// Voting over `votes` semitones either way with the model's input statistics; 0 runs the
    /// input as it is.
    pub fn new(meta: &ModelMeta, votes: u32) -> std::result::Result<Self, String> {
        let voter = Self::from_statistics(&meta.standardizer, &meta.spec.input, votes)?;
        Ok(Self { pitch_head: (meta.schema.pitch_head(), meta.schema.pitch), ..voter })
    }

    /// The same from the per-bin statistics the inputs were standardised with.
    pub fn from_statistics(
        standardizer: &Standardizer,
        input: &InputConfig,
        votes: u32,
    ) -> std::result::Result<Self, String> {
        if votes > MAX_VOTES {
            return Err(format!("shift votes must lie in 0-{MAX_VOTES} semitones, got {votes}"));
        }
        // The copies' targets are never moved, so the descriptors' statistics do not matter.
        let shift = (votes > 0).then(|| {
            let config = PitchShiftConfig { probability: 1.0, semitones: votes, votes: 0 };
            PitchShift::new(config, standardizer, input, [0.0; 5], [1.0; 5])
        });
        Ok(Self { shift, pitch_head: (2, PitchLabels::Class) })
    }

    /// The input as it is: what training's validation uses, since five passes per epoch would
    /// cost minutes over a run.
    pub fn none() -> Self {
        Self { shift: None, pitch_head: (2, PitchLabels::Class) }
    }

    pub fn votes(&self) -> u32 {
        self.shift.as_ref().map_or(0, |s| s.config.semitones)
    }

    /// Every head's output for a batch of finished inputs, in evaluation mode. The note and its
    /// copies go through the network as one batch: for one note, one pass of five rows took
    /// about half as long as five passes of one (`learn/predict_one_voted` in `benches/learn.rs`).
    pub fn probabilities(
        &self,
        model: &Model,
        shape: &InputShape,
        inputs: &[&NoteInputs],
        device: &Device,
    ) -> Result<HeadProbabilities> {
        let votes = self.votes() as i32;
        let shifts: Vec<i32> = (-votes..=votes).filter(|&k| k != 0).collect();
        let mut moved: Vec<NoteInputs> = Vec::with_capacity(inputs.len() * shifts.len());
        if let Some(shift) = &self.shift {
            for &k in &shifts {
                moved.extend(inputs.iter().map(|x| {
                    let mut x = (*x).clone();
                    shift.apply(&mut x, k);
                    x
                }));
            }
        }
        let rows: Vec<(&[f32], &[f32])> =
            inputs.iter().copied().chain(&moved).map(|x| (x.stft.as_slice(), x.cqt.as_slice())).collect();
        let x = to_tensors(shape, &rows, device)?;
        let (e, out) = crate::learn::network::runtime::on_workers(|| {
            let e = model.embed(&x.stft, &x.cqt, false)?;
            let out = model.heads(&e)?;
            Ok::<_, candle_core::Error>((e, out))
        })?;
        let p = |logits: &Tensor| -> Result<Vec<Vec<f32>>> { candle_nn::ops::softmax(logits, D::Minus1)?.to_vec2() };
        let all: Vec<Vec<Vec<f32>>> = out.classes.iter().map(p).collect::<Result<_>>()?;
        let all_qualities: Vec<Vec<f32>> = match &out.qualities {
            Some(q) => candle_nn::ops::sigmoid(q)?.to_vec2()?,
            None => Vec::new(),
        };
        let all_multi: Vec<Vec<f32>> = match &out.multi {
            Some(m) => candle_nn::ops::sigmoid(m)?.to_vec2()?,
            None => Vec::new(),
        };
        let n = inputs.len();
        let mut descriptors: Vec<Vec<f32>> = out.descriptors.to_vec2()?;
        descriptors.truncate(n);
        let mut v = HeadProbabilities {
            classes: all.iter().map(|head| head[..n].to_vec()).collect(),
            qualities: all_qualities.iter().take(n).cloned().collect(),
            multi: all_multi.iter().take(n).cloned().collect(),
            descriptors,
            embedding: e.narrow(0, 0, n)?.to_vec2()?,
        };
        let (pitch, labels) = self.pitch_head;
        for (c, &k) in shifts.iter().enumerate() {
            let copy = (c + 1) * n..(c + 2) * n;
            for (h, (sum, head)) in v.classes.iter_mut().zip(&all).enumerate() {
                let offset = if h == pitch { k } else { 0 };
                add(sum, &head[copy.clone()], offset, labels == PitchLabels::Class);
            }
            for (sums, all) in [(&mut v.qualities, &all_qualities), (&mut v.multi, &all_multi)] {
                if !all.is_empty() {
                    for (sum, q) in sums.iter_mut().zip(&all[copy.clone()]) {
                        sum.iter_mut().zip(q).for_each(|(s, q)| *s += q);
                    }
                }
            }
        }
        let passes = (shifts.len() + 1) as f32;
        for rows in v.classes.iter_mut().chain([&mut v.qualities, &mut v.multi]) {
            rows.iter_mut().flatten().for_each(|p| *p /= passes);
        }
        Ok(v)
    }
}

/// Adds a shifted copy's probabilities, class `c` of the input read from class `c + offset` of
/// the copy (the pitch moves with the shift; other heads have offset 0): around the octave for
/// pitch classes, along the keyboard for MIDI notes, where a class pushed off the end adds
/// nothing.
fn add(sum: &mut [Vec<f32>], copy: &[Vec<f32>], offset: i32, wraps: bool) {
    for (s, c) in sum.iter_mut().zip(copy) {
        let classes = c.len() as i32;
        for (j, v) in s.iter_mut().enumerate() {
            let from = j as i32 + offset;
            if wraps {
                *v += c[from.rem_euclid(classes) as usize];
            } else if (0..classes).contains(&from) {
                *v += c[from as usize];
            }
        }
    }
}

/// The index of the largest value (the first of equals).
pub fn argmax(p: &[f32]) -> usize {
    p.iter().enumerate().fold(0, |best, (j, v)| if *v > p[best] { j } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copys_pitch_class_is_read_back_at_the_inputs_pitch() {
        // A copy moved up 2 semitones that hears pitch class 3 (D#) says the input was C# (1).
        let mut sum = vec![vec![0.0; 12]];
        let mut copy = vec![vec![0.0; 12]];
        copy[0][3] = 1.0;
        add(&mut sum, &copy, 2, true);
        assert_eq!(argmax(&sum[0]), 1);
        // Moved down 1 from B (11) wraps to C (0) in the copy.
        let mut sum = vec![vec![0.0; 12]];
        let mut copy = vec![vec![0.0; 12]];
        copy[0][0] = 1.0;
        add(&mut sum, &copy, -1, true);
        assert_eq!(argmax(&sum[0]), 1);
        // MIDI notes do not wrap: a copy moved up 2 that hears note 127 says 125, and what it
        // hears at 0 and 1 belongs to no note of the input.
        let mut sum = vec![vec![0.0; 128]];
        let mut copy = vec![vec![0.0; 128]];
        (copy[0][127], copy[0][1]) = (1.0, 0.5);
        add(&mut sum, &copy, 2, false);
        assert_eq!((argmax(&sum[0]), sum[0].iter().sum::<f32>()), (125, 1.0));
        assert_eq!(argmax(&[0.2, 0.5, 0.5, 0.1]), 1);
    }
}
