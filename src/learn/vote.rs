//! Pitch-shift voting at inference: each head's class probabilities averaged over the input as
//! it is and moved by every whole semitone up to `votes` either way (`[pitch_shift] votes`). A
//! test note lies at a pitch its instrument never showed in training; its shifted copies land
//! on neighbouring pitches, most of which it did show. The pitch-class head's probabilities are
//! moved back by each copy's shift before they are averaged; the descriptors come from the input
//! as it is.

use candle_core::{D, Device, Result, Tensor};

use super::augment::{PitchShift, PitchShiftConfig};
use super::batch::to_tensors;
use super::inputs::{InputShape, NoteInputs};
use super::model::Model;
use super::modelfile::ModelMeta;

/// Shifts beyond an octave would move every note out of the range it was trained on.
pub const MAX_VOTES: u32 = 12;

/// A batch's class probabilities per head (one row per note) and its standardised descriptors.
pub struct HeadProbabilities {
    pub instrument: Vec<Vec<f32>>,
    pub family: Vec<Vec<f32>>,
    pub pitch_class: Vec<Vec<f32>>,
    pub velocity: Vec<Vec<f32>>,
    pub descriptors: Vec<Vec<f32>>,
}

pub struct Voter {
    votes: i32,
    shift: Option<PitchShift>,
}

impl Voter {
    /// Voting over `votes` semitones either way with the model's statistics; 0 runs the input as it is.
    pub fn new(meta: &ModelMeta, votes: u32) -> std::result::Result<Self, String> {
        if votes > MAX_VOTES {
            return Err(format!("shift votes must lie in 0-{MAX_VOTES} semitones, got {votes}"));
        }
        let shift = (votes > 0).then(|| {
            PitchShift::new(
                PitchShiftConfig { probability: 1.0, semitones: votes, votes: 0 },
                &meta.standardizer,
                &meta.spec.input,
                meta.descriptor_mean,
                meta.descriptor_std,
            )
        });
        Ok(Self { votes: votes as i32, shift })
    }

    /// The input as it is: what training's validation uses, since five passes per epoch would
    /// cost minutes over a run.
    pub fn none() -> Self {
        Self { votes: 0, shift: None }
    }

    pub fn votes(&self) -> u32 {
        self.votes as u32
    }

    /// Every head's output for a batch of finished inputs, in evaluation mode.
    pub fn probabilities(
        &self,
        model: &Model,
        shape: &InputShape,
        inputs: &[&NoteInputs],
        device: &Device,
    ) -> Result<HeadProbabilities> {
        let run = |rows: &[&NoteInputs]| -> Result<[Tensor; 5]> {
            let rows: Vec<(&[f32], &[f32])> = rows.iter().map(|x| (x.stft.as_slice(), x.cqt.as_slice())).collect();
            let x = to_tensors(shape, &rows, device)?;
            let out = super::on_workers(|| model.forward(&x.stft, &x.cqt, false))?;
            let p = |logits: &Tensor| candle_nn::ops::softmax(logits, D::Minus1);
            Ok([p(&out.instrument)?, p(&out.family)?, p(&out.pitch_class)?, p(&out.velocity)?, out.descriptors])
        };
        let [instrument, family, pitch_class, velocity, descriptors] = run(inputs)?;
        let mut p = HeadProbabilities {
            instrument: instrument.to_vec2()?,
            family: family.to_vec2()?,
            pitch_class: pitch_class.to_vec2()?,
            velocity: velocity.to_vec2()?,
            descriptors: descriptors.to_vec2()?,
        };
        let Some(shift) = &self.shift else {
            return Ok(p);
        };
        for k in (-self.votes..=self.votes).filter(|&k| k != 0) {
            let moved: Vec<NoteInputs> = inputs
                .iter()
                .map(|x| {
                    let mut x = (*x).clone();
                    shift.apply(&mut x, k);
                    x
                })
                .collect();
            let [inst, fam, pc, vel, _] = run(&moved.iter().collect::<Vec<_>>())?;
            add(&mut p.instrument, &inst.to_vec2()?, 0);
            add(&mut p.family, &fam.to_vec2()?, 0);
            add(&mut p.pitch_class, &pc.to_vec2()?, k);
            add(&mut p.velocity, &vel.to_vec2()?, 0);
        }
        let n = (2 * self.votes + 1) as f32;
        for rows in [&mut p.instrument, &mut p.family, &mut p.pitch_class, &mut p.velocity] {
            rows.iter_mut().flatten().for_each(|v| *v /= n);
        }
        Ok(p)
    }
}

/// Adds a shifted copy's probabilities, class `c` of the input read from class `c + offset` of
/// the copy (the pitch class moves with the shift; other heads have offset 0).
fn add(sum: &mut [Vec<f32>], copy: &[Vec<f32>], offset: i32) {
    for (s, c) in sum.iter_mut().zip(copy) {
        let classes = c.len() as i32;
        for (j, v) in s.iter_mut().enumerate() {
            *v += c[(j as i32 + offset).rem_euclid(classes) as usize];
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
        add(&mut sum, &copy, 2);
        assert_eq!(argmax(&sum[0]), 1);
        // Moved down 1 from B (11) wraps to C (0) in the copy.
        let mut sum = vec![vec![0.0; 12]];
        let mut copy = vec![vec![0.0; 12]];
        copy[0][0] = 1.0;
        add(&mut sum, &copy, -1);
        assert_eq!(argmax(&sum[0]), 1);
        assert_eq!(argmax(&[0.2, 0.5, 0.5, 0.1]), 1);
    }
}
