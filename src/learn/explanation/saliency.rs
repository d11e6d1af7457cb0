//! What drives a class's score over time and frequency: integrated gradients of the class's log
//! probability with respect to the model's STFT and CQT inputs.
//!
//! Integrated gradients rather than occlusion: one batched forward and backward pass gives every
//! input cell of both views its share (occlusion needs a forward pass per patch and, at this
//! model's 62 × 192 + 62 × 253 pooled cells, coarse patches to stay fast), and the shares add up
//! to the change in score from the baseline (the training mean, zero after standardising) to the
//! note, so a map can be read as "this much of the evidence sits here".

use candle_core::{D, Device, Tensor, Var};

use crate::dsp::{Spectrogram, View};
use crate::learn::error::LearnError;
use crate::learn::explanation::predict::Predictor;
use crate::learn::network::model::Model;
use crate::learn::notes::batch::to_tensors;
#[cfg(test)]
use crate::learn::notes::inputs::CACHE_FRAMES;
use crate::learn::notes::inputs::{InputShape, NoteInputs};

/// Riemann steps along the path from the baseline to the note (midpoints).
pub const STEPS: usize = 32;

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

impl Explanation {
    /// The |value| that 1% of both views' cells exceed: the scale both overlays share, so their
    /// tints compare. The peak alone would leave all but a few cells too faint to see.
    pub fn display_scale(&self) -> f32 {
        let mut all: Vec<f32> = self.stft.values.iter().chain(&self.cqt.values).map(|v| v.abs()).collect();
        if all.is_empty() {
            return 0.0;
        }
        let k = (all.len() as f64 * 0.99) as usize;
        let k = k.min(all.len() - 1);
        *all.select_nth_unstable_by(k, f32::total_cmp).1
    }

    /// The view's saliency as an overlay for `like` (the clip's own spectrogram of that view):
    /// the same grid, frame-major, divided by `scale` (both views' [`Explanation::display_scale`],
    /// computed once) and clamped to [-1, 1].
    pub fn overlay(&self, view: View, like: &Spectrogram, scale: f32) -> Spectrogram {
        let hop_secs = like.hop_len as f64 / f64::from(like.sample_rate_hz.max(1));
        let grid = self.on_clip(view, like.bins, like.frames, hop_secs);
        let scale = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        let mut values = vec![0.0f32; grid.len()];
        for b in 0..like.bins {
            for t in 0..like.frames {
                values[t * like.bins + b] = (grid[b * like.frames + t] * scale).clamp(-1.0, 1.0);
            }
        }
        Spectrogram { values, ..like.clone_shape() }
    }
}

/// Integrated gradients of `class` (the top class when None) for the clip's 4 s from its onset.
pub fn explain(predictor: &mut Predictor, samples: &[f32], class: Option<usize>) -> Result<Explanation, LearnError> {
    let (inputs, shape, start) = predictor.inputs(samples);
    let meta = &predictor.model.meta;
    let classes = meta.primary_classes();
    if let Some(c) = class.filter(|&c| c >= classes.len()) {
        return Err(LearnError::Config {
            path: "--class".into(),
            problem: format!("class {c} of a model with {} classes", classes.len()),
        });
    }
    let input = meta.spec.input;
    let pools = (input.stft_pool, input.cqt_pool);
    let ig = integrated_gradients(&predictor.model.model, &shape, &inputs, class, pools, STEPS)?;
    Ok(Explanation {
        class: ig.class,
        class_name: classes[ig.class].clone(),
        probability: ig.score.exp(),
        baseline_score: ig.baseline_score,
        score: ig.score,
        window_start_secs: start as f64 / f64::from(crate::audio::clip::ANALYSIS_RATE_HZ),
        time_pool: input.time_pool,
        stft: ig.stft,
        cqt: ig.cqt,
    })
}

/// What [`integrated_gradients`] finds for one note's finished inputs.
pub struct Attribution {
    pub class: usize,
    /// The class's log probability at the baseline (all zeros) and at the inputs.
    pub baseline_score: f32,
    pub score: f32,
    pub stft: ViewSaliency,
    pub cqt: ViewSaliency,
}

/// Integrated gradients of the primary head's log probability of `class` (the top class when
/// None) along the straight path from zero (the training mean) to `inputs`, in [`STEPS`] midpoint
/// steps that go through the network as one batch. `pools` are the views' raw bins per input bin.
pub fn integrated_gradients(
    model: &Model,
    shape: &InputShape,
    inputs: &NoteInputs,
    class: Option<usize>,
    pools: (usize, usize),
    steps: usize,
) -> Result<Attribution, LearnError> {
    let steps = steps.max(1);
    let device = Device::Cpu;
    let x = to_tensors(shape, &[(inputs.stft.as_slice(), inputs.cqt.as_slice())], &device)?;
    let log_p = |stft: &Tensor, cqt: &Tensor| -> candle_core::Result<Tensor> {
        let e = model.embed(stft, cqt, false)?;
        candle_nn::ops::log_softmax(&model.heads(&e)?.classes[0], D::Minus1)
    };
    let at_note =
        crate::learn::network::runtime::on_workers(|| log_p(&x.stft, &x.cqt))?.squeeze(0)?.to_vec1::<f32>()?;
    let class =
        class.unwrap_or_else(|| crate::learn::scoring::vote::argmax(&at_note)).min(at_note.len().saturating_sub(1));
    let zeros = (x.stft.zeros_like()?, x.cqt.zeros_like()?);
    let at_baseline =
        crate::learn::network::runtime::on_workers(|| log_p(&zeros.0, &zeros.1))?.squeeze(0)?.to_vec1::<f32>()?;
    let alphas: Vec<f32> = (0..steps).map(|k| (k as f32 + 0.5) / steps as f32).collect();
    let alpha = Tensor::from_vec(alphas, (steps, 1, 1), &device)?;
    let path = |v: &Tensor| -> candle_core::Result<Var> {
        Var::from_tensor(&v.broadcast_as((steps, shape.frames, v.dim(2)?))?.broadcast_mul(&alpha)?.contiguous()?)
    };
    let (vs, vc) = (path(&x.stft)?, path(&x.cqt)?);
    let grads = crate::learn::network::runtime::on_workers(|| -> candle_core::Result<_> {
        log_p(vs.as_tensor(), vc.as_tensor())?.narrow(1, class, 1)?.sum_all()?.backward()
    })?;
    let attribution = |var: &Var, input: &Tensor, bins: usize, pool: usize| -> Result<ViewSaliency, LearnError> {
        let g = grads
            .get(var.as_tensor())
            .ok_or_else(|| candle_core::Error::Msg("no gradient reaches the inputs".into()))?;
        // The mean gradient along the path times the input, [frames, bins], then bin-major.
        let ig = (g.mean(0)? * input.squeeze(0)?)?.t()?.contiguous()?;
        Ok(ViewSaliency { frames: shape.frames, bins, bin_pool: pool, values: ig.flatten_all()?.to_vec1()? })
    };
    Ok(Attribution {
        class,
        baseline_score: at_baseline[class],
        score: at_note[class],
        stft: attribution(&vs, &x.stft, shape.stft_bins, pools.0)?,
        cqt: attribution(&vc, &x.cqt, shape.cqt_bins, pools.1)?,
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::learn::network::model::{Classes, ModelSpec, build};
    use crate::learn::network::optim::AdamW;
    use crate::learn::training::config::TrainConfig;

    /// Where the tone sounds in the tone class's inputs: bins and frames of both views.
    const STFT_BAND: std::ops::Range<usize> = 3..5;
    const CQT_BAND: std::ops::Range<usize> = 7..9;
    const FRAMES: std::ops::Range<usize> = 20..36;

    /// Standardised inputs: noise everywhere, and with `tone` a steady partial in one band of
    /// each view over some frames.
    fn note(rng: &mut ChaCha8Rng, shape: &InputShape, tone: bool) -> NoteInputs {
        let mut view = |bins: usize, band: &std::ops::Range<usize>| {
            let mut v: Vec<f32> = (0..shape.frames * bins).map(|_| rng.random_range(-0.5f32..0.5)).collect();
            if tone {
                for t in FRAMES {
                    for b in band.clone() {
                        v[t * bins + b] += 3.0;
                    }
                }
            }
            v
        };
        NoteInputs { stft: view(shape.stft_bins, &STFT_BAND), cqt: view(shape.cqt_bins, &CQT_BAND) }
    }

    #[test]
    fn a_tone_detectors_saliency_peaks_where_and_when_the_tone_sounds() {
        let mut config = TrainConfig::parse(include_str!("../../../models/default.toml"), "default.toml").unwrap();
        let m = &mut config.model;
        (m.width, m.fused, m.rnn_hidden, m.projection, m.dropout) = (16, 24, 8, 8, 0.0);
        let spec = ModelSpec {
            input: config.input,
            model: config.model,
            stft_bins: 12,
            cqt_bins: 16,
            classes: Classes::fixed(2, 2, 12, 5, 0),
        };
        let shape = InputShape { frames: CACHE_FRAMES / spec.input.time_pool, stft_bins: 12, cqt_bins: 16 };
        let (varmap, model) = build(&spec, 3, &Device::Cpu).unwrap();
        let named = varmap.data().lock().unwrap().clone();
        let mut optimizer = AdamW::new(&named, 0.0).unwrap();
        optimizer.lr = 3e-3;
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..120 {
            let notes: Vec<(NoteInputs, u32)> = (0..16)
                .map(|i| {
                    let tone = i % 2 == 0;
                    (note(&mut rng, &shape, tone), u32::from(tone))
                })
                .collect();
            let rows: Vec<(&[f32], &[f32])> =
                notes.iter().map(|(x, _)| (x.stft.as_slice(), x.cqt.as_slice())).collect();
            let x = to_tensors(&shape, &rows, &Device::Cpu).unwrap();
            let labels = Tensor::from_vec(notes.iter().map(|n| n.1).collect::<Vec<u32>>(), 16, &Device::Cpu).unwrap();
            let logits = model.forward(&x.stft, &x.cqt, true).unwrap().classes.remove(0);
            let loss = candle_nn::loss::cross_entropy(&logits, &labels).unwrap();
            optimizer.apply(&loss.backward().unwrap()).unwrap();
        }
        let probe = note(&mut rng, &shape, true);
        let ig = integrated_gradients(&model, &shape, &probe, Some(1), (1, 1), STEPS).unwrap();

        assert!(ig.score.exp() > 0.9, "the detector learnt the tone: p = {}", ig.score.exp());
        for (name, s, band) in [("STFT", &ig.stft, STFT_BAND), ("CQT", &ig.cqt, CQT_BAND)] {
            let peak = (0..s.values.len()).max_by(|&a, &b| s.values[a].total_cmp(&s.values[b])).unwrap();
            let (bin, frame) = (peak / s.frames, peak % s.frames);
            assert!(band.contains(&bin) && FRAMES.contains(&frame), "{name} peaks at bin {bin}, frame {frame}");
            let inside: f32 = band
                .clone()
                .flat_map(|b| FRAMES.map(move |t| (b, t)))
                .map(|(b, t)| s.values[b * s.frames + t].max(0.0))
                .sum();
            let total: f32 = s.values.iter().map(|v| v.max(0.0)).sum();
            assert!(inside > 0.5 * total, "{name}: {inside} of {total} inside the tone");
        }
        // Completeness: with enough steps the attributions add up to the change in score (this toy
        // detector's score turns sharply, so 16 steps were 65% off, 32 steps 6% and 64 steps 1%).
        let fine = integrated_gradients(&model, &shape, &probe, Some(1), (1, 1), 64).unwrap();
        let sum: f32 = fine.stft.values.iter().chain(&fine.cqt.values).sum();
        let change = fine.score - fine.baseline_score;
        assert!((sum - change).abs() < 0.03 * change.abs(), "attributions {sum} against {change}");
    }
}
