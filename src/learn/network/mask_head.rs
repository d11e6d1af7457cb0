//! The mask head: for every input frame, a soft mask per primary class over the pooled STFT bins,
//! read from that frame's standardised STFT beside the trunk's state at that time (the trunk runs
//! at a coarser rate, so each of its frames serves the input frames it covers).

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::learn::network::fused::gelu;
use crate::learn::network::layers::Dense;

/// Hidden units between a frame's features and its masks.
pub const MASK_HIDDEN: usize = 256;

pub struct MaskHead {
    hidden: Dense,
    out: Dense,
    classes: usize,
    bins: usize,
}

impl MaskHead {
    pub fn new(vb: VarBuilder, trunk: usize, bins: usize, classes: usize) -> Result<Self> {
        Ok(Self {
            hidden: Dense::new(vb.pp("hidden"), trunk + bins, MASK_HIDDEN)?,
            out: Dense::new(vb.pp("out"), MASK_HIDDEN, classes * bins)?,
            classes,
            bins,
        })
    }

    /// Mask logits `[B, T, classes, bins]` from the STFT input `[B, T, bins]` and the trunk's
    /// frames `[B, T', trunk]`.
    pub fn forward(&self, stft: &Tensor, trunk: &Tensor) -> Result<Tensor> {
        let (b, t, _) = stft.dims3()?;
        self.out.forward(&self.hidden(stft, trunk)?)?.reshape((b, t, self.classes, self.bins))
    }

    /// The masks of the sources to be scored, in (0, 1), `[S, T, bins]`: source `s` is class
    /// `classes[s]` of batch row `rows[s]`. Only those classes' outputs are computed: in
    /// training, a mixture's two or three of them rather than all.
    pub fn source_masks(&self, stft: &Tensor, trunk: &Tensor, rows: &[u32], classes: &[u32]) -> Result<Tensor> {
        let device = stft.device();
        let rows = Tensor::from_vec(rows.to_vec(), rows.len(), device)?;
        let h = self.hidden(&stft.index_select(&rows, 0)?, &trunk.index_select(&rows, 0)?)?;
        let classes = Tensor::from_vec(classes.to_vec(), classes.len(), device)?;
        let w = self.out.weight().reshape((self.classes, self.bins, MASK_HIDDEN))?.index_select(&classes, 0)?;
        let b = self.out.bias().reshape((self.classes, self.bins))?.index_select(&classes, 0)?;
        candle_nn::ops::sigmoid(&h.matmul(&w.transpose(1, 2)?)?.broadcast_add(&b.unsqueeze(1)?)?)
    }

    /// Each frame's hidden units, `[B, T, MASK_HIDDEN]`.
    fn hidden(&self, stft: &Tensor, trunk: &Tensor) -> Result<Tensor> {
        let t = stft.dim(1)?;
        let coarse = trunk.dim(1)?;
        let index: Vec<u32> = (0..t).map(|f| ((f * coarse / t).min(coarse - 1)) as u32).collect();
        let index = Tensor::from_vec(index, t, stft.device())?;
        let h = Tensor::cat(&[stft, &trunk.index_select(&index, 1)?], 2)?;
        gelu(&self.hidden.forward(&h)?)
    }
}

/// `sum w (m - target)^2 / sum w`: the mask loss, where the mixture sounds.
pub fn weighted_mse(masks: &Tensor, target: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let total = weight.sum_all()?.to_scalar::<f32>()?.max(1e-6);
    ((masks - target)?.sqr()? * weight)?.sum_all()? / f64::from(total)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn a_sources_mask_is_its_class_plane_of_the_whole_forward() {
        use candle_nn::{VarBuilder, VarMap};
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &Device::Cpu);
        let head = MaskHead::new(vb, 3, 4, 5).unwrap();
        crate::learn::network::model::seeded_init(&varmap, 2).unwrap();
        let fill = |n: usize, k: usize| (0..n).map(|i| ((i * k % 13) as f32 - 6.0) / 6.0).collect::<Vec<f32>>();
        let stft = Tensor::from_vec(fill(2 * 6 * 4, 5), (2, 6, 4), &Device::Cpu).unwrap();
        let trunk = Tensor::from_vec(fill(2 * 2 * 3, 7), (2, 2, 3), &Device::Cpu).unwrap();
        let all = candle_nn::ops::sigmoid(&head.forward(&stft, &trunk).unwrap()).unwrap();
        let (rows, classes) = ([1u32, 0, 1], [4u32, 0, 2]);
        let some = head.source_masks(&stft, &trunk, &rows, &classes).unwrap();
        for (s, (&r, &c)) in rows.iter().zip(&classes).enumerate() {
            let plane = all.get(r as usize).unwrap().narrow(1, c as usize, 1).unwrap().squeeze(1).unwrap();
            let want: Vec<Vec<f32>> = plane.to_vec2().unwrap();
            let got: Vec<Vec<f32>> = some.get(s).unwrap().to_vec2().unwrap();
            for (a, b) in want.iter().flatten().zip(got.iter().flatten()) {
                assert!((a - b).abs() < 1e-5, "source {s}: {a} vs {b}");
            }
        }
        let w = Tensor::new(&[[[1.0f32, 0.0]]], &Device::Cpu).unwrap();
        let a = Tensor::new(&[[[0.5f32, 0.0]]], &Device::Cpu).unwrap();
        let b = Tensor::new(&[[[0.0f32, 1.0]]], &Device::Cpu).unwrap();
        let l = weighted_mse(&a, &b, &w).unwrap().to_scalar::<f32>().unwrap();
        assert!((l - 0.25).abs() < 1e-6, "{l}");
    }

    #[test]
    fn a_tiny_model_trained_here_separates_two_tones_into_the_right_masks() {
        use rand::{Rng as _, SeedableRng as _};

        use crate::learn::network::model::{Classes, ModelSpec, build};
        use crate::learn::notes::polyphony::pooled_masks;
        use crate::learn::training::config::TrainConfig;

        // Two instruments: class 0 sounds in one of bins 0-3, class 1 in one of bins 4-7, each
        // at its own level; the mixture's input is the dB of the summed magnitudes.
        let (t, bins) = (8, 8);
        let mut config = TrainConfig::parse(include_str!("../../../models/default.toml"), "default.toml").unwrap();
        let m = &mut config.model;
        (m.width, m.fused, m.rnn_hidden, m.projection, m.dropout) = (16, 16, 8, 8, 0.0);
        let classes = Classes { masks: true, ..Classes::fixed(2, 2, 2, 2, 0) };
        let spec = ModelSpec { input: config.input, model: config.model, stft_bins: bins, cqt_bins: 4, classes };
        let (varmap, model) = build(&spec, 5, &Device::Cpu).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let draw = |rng: &mut rand_chacha::ChaCha8Rng| {
            let (a, b) = (rng.random_range(0..4), rng.random_range(4..8));
            let (ga, gb) = (rng.random_range(0.3f32..1.0), rng.random_range(0.3f32..1.0));
            let mag = |s: usize, _f: usize, bin: usize| match s {
                0 => {
                    if bin == a {
                        ga
                    } else {
                        0.01 * ga
                    }
                }
                _ => {
                    if bin == b {
                        gb
                    } else {
                        0.01 * gb
                    }
                }
            };
            let masks = pooled_masks(2, t, bins, 1, mag);
            let stft: Vec<f32> =
                (0..t).flat_map(|f| (0..bins).map(move |bin| (mag(0, f, bin) + mag(1, f, bin)).log10())).collect();
            (stft, masks, a, b)
        };
        let named = varmap.data().lock().unwrap().clone();
        let mut optimizer = crate::learn::network::optim::AdamW::new(&named, 0.0).unwrap();
        optimizer.lr = 0.01;
        let batch = 16;
        for _ in 0..150 {
            let drawn: Vec<_> = (0..batch).map(|_| draw(&mut rng)).collect();
            let stft: Vec<f32> = drawn.iter().flat_map(|d| d.0.clone()).collect();
            let masks: Vec<f32> = drawn.iter().flat_map(|d| [d.1[0].clone(), d.1[1].clone()].concat()).collect();
            let stft = Tensor::from_vec(stft, (batch, t, bins), &Device::Cpu).unwrap();
            let cqt = Tensor::zeros((batch, t, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
            let (_, frames) = model.embed_frames(&stft, &cqt, true).unwrap();
            let rows: Vec<u32> = (0..batch as u32).flat_map(|r| [r, r]).collect();
            let which: Vec<u32> = (0..batch).flat_map(|_| [0, 1]).collect();
            let head = model.mask_head().unwrap();
            let predicted = head.source_masks(&stft, &frames, &rows, &which).unwrap();
            let target = Tensor::from_vec(masks, (2 * batch, t, bins), &Device::Cpu).unwrap();
            let weight = Tensor::ones((2 * batch, t, bins), candle_core::DType::F32, &Device::Cpu).unwrap();
            let loss = weighted_mse(&predicted, &target, &weight).unwrap();
            optimizer.apply(&loss.backward().unwrap()).unwrap();
        }
        // A mixture it has not seen: each class's mask holds its own tone's bin and gives up
        // the other's.
        let (stft, _, a, b) = draw(&mut rng);
        let stft = Tensor::from_vec(stft, (1, t, bins), &Device::Cpu).unwrap();
        let cqt = Tensor::zeros((1, t, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        let (_, frames) = model.embed_frames(&stft, &cqt, false).unwrap();
        let masks = model.mask_head().unwrap().source_masks(&stft, &frames, &[0, 0], &[0, 1]).unwrap();
        let masks: Vec<Vec<Vec<f32>>> = masks.to_vec3().unwrap();
        let mean_at = |s: usize, bin: usize| masks[s].iter().map(|row| row[bin]).sum::<f32>() / t as f32;
        assert!(mean_at(0, a) > 0.8 && mean_at(1, b) > 0.8, "own tones: {} {}", mean_at(0, a), mean_at(1, b));
        assert!(mean_at(0, b) < 0.2 && mean_at(1, a) < 0.2, "other tones: {} {}", mean_at(0, b), mean_at(1, a));
    }
}
