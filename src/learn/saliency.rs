//! What drives a class's score over time and frequency: integrated gradients of the class's log
//! probability with respect to the model's STFT and CQT inputs.
//!
//! Integrated gradients rather than occlusion: one batched forward and backward pass gives every
//! input cell of both views its share (occlusion needs a forward pass per patch and, at this
//! model's 62 × 192 + 62 × 253 pooled cells, coarse patches to stay fast), and the shares add up
//! to the change in score from the baseline (the training mean, zero after standardising) to the
//! note, so a map can be read as "this much of the evidence sits here".

use candle_core::{D, Device, Tensor, Var};

use super::LearnError;
use super::batch::to_tensors;
use super::config::CACHE_FRAMES;
use super::predict::Predictor;
use crate::dsp::View;

/// Riemann steps along the path from the baseline to the note (midpoints).
pub const STEPS: usize = 16;

/// One view's saliency on the model's input grid.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewSaliency {
    pub frames: usize,
    pub bins: usize,
    /// Raw bins (the clip's own STFT or CQT bins) averaged into one input bin.
    pub bin_pool: usize,
    /// `[bins, frames]`, bin-major as the views store spectrograms: each cell's integrated
    /// gradient, positive where the cell raises the class's score.
    pub values: Vec<f32>,
}

impl ViewSaliency {
    /// The largest |value| (0 for an empty map).
    pub fn peak(&self) -> f32 {
        self.values.iter().fold(0.0, |m, v| m.max(v.abs()))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    pub class: usize,
    pub class_name: String,
    /// The class's probability for the note (unshifted input).
    pub probability: f32,
    /// The model's log probability of the class at the baseline and at the note: the
    /// attributions of both views add up to their difference, within the Riemann error.
    pub baseline_score: f32,
    pub score: f32,
    /// Where the analysed 4 s start in the clip.
    pub window_start_secs: f64,
    /// Raw frames (the clip's own, one per hop) averaged into one input frame.
    pub time_pool: usize,
    pub stft: ViewSaliency,
    pub cqt: ViewSaliency,
}

impl Explanation {
    pub fn view(&self, view: View) -> &ViewSaliency {
        match view {
            View::Stft => &self.stft,
            View::Cqt => &self.cqt,
        }
    }

    /// The view's saliency spread over the clip's own frames and bins (`[raw_bins,
    /// clip_frames]`, bin-major), each input cell filling the raw cells it pooled, 0 outside the
    /// analysed window; `hop_secs` is the clip views' hop.
    pub fn on_clip(&self, view: View, raw_bins: usize, clip_frames: usize, hop_secs: f64) -> Vec<f32> {
        let s = self.view(view);
        let mut out = vec![0.0f32; raw_bins * clip_frames];
        let first = (self.window_start_secs / hop_secs).round() as usize;
        for b in 0..raw_bins {
            let ib = b / s.bin_pool.max(1);
            if ib >= s.bins {
                break;
            }
            for t in 0..s.frames * self.time_pool {
                let frame = first + t;
                if frame >= clip_frames {
                    break;
                }
                out[b * clip_frames + frame] = s.values[ib * s.frames + t / self.time_pool];
            }
        }
        out
    }
}

/// Integrated gradients of `class` (the top class when None) for the clip's 4 s from its onset.
pub fn explain(predictor: &mut Predictor, samples: &[f32], class: Option<usize>) -> Result<Explanation, LearnError> {
    let (inputs, shape, start) = predictor.inputs(samples);
    let meta = &predictor.model.meta;
    let model = &predictor.model.model;
    let classes = meta.primary_classes();
    let device = Device::Cpu;
    let x = to_tensors(&shape, &[(inputs.stft.as_slice(), inputs.cqt.as_slice())], &device)?;
    let log_p = |stft: &Tensor, cqt: &Tensor| -> candle_core::Result<Tensor> {
        let e = model.embed(stft, cqt, false)?;
        candle_nn::ops::log_softmax(&model.heads(&e)?.classes[0], D::Minus1)
    };
    let at_note = super::on_workers(|| log_p(&x.stft, &x.cqt))?.squeeze(0)?.to_vec1::<f32>()?;
    let class = match class {
        Some(c) if c < classes.len() => c,
        Some(c) => {
            return Err(LearnError::Config {
                path: "--class".into(),
                problem: format!("class {c} of a model with {} classes", classes.len()),
            });
        }
        None => super::vote::argmax(&at_note),
    };
    let zeros = (x.stft.zeros_like()?, x.cqt.zeros_like()?);
    let at_baseline = super::on_workers(|| log_p(&zeros.0, &zeros.1))?.squeeze(0)?.to_vec1::<f32>()?;
    // The path from the baseline (0) to the note, one row of the batch per step.
    let alphas: Vec<f32> = (0..STEPS).map(|k| (k as f32 + 0.5) / STEPS as f32).collect();
    let alpha = Tensor::from_vec(alphas, (STEPS, 1, 1), &device)?;
    let path = |v: &Tensor| -> candle_core::Result<Var> {
        Var::from_tensor(&v.broadcast_as((STEPS, shape.frames, v.dim(2)?))?.broadcast_mul(&alpha)?.contiguous()?)
    };
    let (vs, vc) = (path(&x.stft)?, path(&x.cqt)?);
    let grads = super::on_workers(|| -> candle_core::Result<_> {
        let score = log_p(vs.as_tensor(), vc.as_tensor())?.narrow(1, class, 1)?.sum_all()?;
        score.backward()
    })?;
    let attribution = |var: &Var, input: &Tensor, bins: usize, pool: usize| -> Result<ViewSaliency, LearnError> {
        let g = grads.get(var.as_tensor()).ok_or_else(|| LearnError::Model {
            path: predictor.model.path.clone(),
            problem: "no gradient reaches the inputs".into(),
        })?;
        // Mean gradient along the path times the input: [frames, bins], then bin-major.
        let ig = (g.mean(0)? * input.squeeze(0)?)?.t()?.contiguous()?;
        Ok(ViewSaliency { frames: shape.frames, bins, bin_pool: pool, values: ig.flatten_all()?.to_vec1()? })
    };
    let input = meta.spec.input;
    let stft = attribution(&vs, &x.stft, shape.stft_bins, input.stft_pool)?;
    let cqt = attribution(&vc, &x.cqt, shape.cqt_bins, input.cqt_pool)?;
    debug_assert!(CACHE_FRAMES / input.time_pool == shape.frames);
    Ok(Explanation {
        class,
        class_name: classes[class].clone(),
        probability: at_note[class].exp(),
        baseline_score: at_baseline[class],
        score: at_note[class],
        window_start_secs: start as f64 / f64::from(crate::audio::clip::ANALYSIS_RATE_HZ),
        time_pool: input.time_pool,
        stft,
        cqt,
    })
}
