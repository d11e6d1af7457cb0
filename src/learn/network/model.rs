//! The network: one encoder per view, a fused backbone (CRNN or Conformer), the task heads of the
//! data set's label schema and the two projection heads of the contrastive stage.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

use crate::learn::network::fused::gelu;
use crate::learn::network::layers::{ConformerBlock, ConvBlock, Dense, Gru, LayerNorm, layer_norm, mean_max_time};
use crate::learn::network::mask_head::MaskHead;
use crate::learn::notes::inputs::InputConfig;

/// Everything that fixes the shapes of the parameters: stored in every checkpoint and model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub input: InputConfig,
    pub model: ModelConfig,
    /// Bins per view after pooling.
    pub stft_bins: usize,
    pub cqt_bins: usize,
    pub classes: Classes,
}

/// Output sizes of the heads, from the label schema of the data set trained on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ClassesFile")]
pub struct Classes {
    /// Each single-label head's name and number of classes, in the schema's order.
    pub heads: Vec<(String, usize)>,
    /// Labels of the multi-label head (0: no such head).
    pub qualities: usize,
    pub descriptors: usize,
    /// Sample libraries the adversarial head tells apart (0: no such head).
    pub library: usize,
    /// The single-label heads whose classes the multi-label head names, a sigmoid each, in
    /// this order (empty: no such head).
    pub multi_label: Vec<usize>,
    /// A mask head: per primary class, a soft mask over the pooled STFT bins of every frame.
    pub masks: bool,
}

/// Classes as files hold them: today's, or the four fixed heads of files from before schemas.
#[derive(Deserialize)]
#[serde(untagged)]
enum ClassesFile {
    Heads {
        heads: Vec<(String, usize)>,
        #[serde(default)]
        qualities: usize,
        descriptors: usize,
        #[serde(default)]
        library: usize,
        #[serde(default)]
        multi_label: Vec<usize>,
        #[serde(default)]
        masks: bool,
    },
    Fixed {
        instrument: usize,
        family: usize,
        pitch_class: usize,
        velocity: usize,
        descriptors: usize,
        #[serde(default)]
        library: usize,
    },
}

impl From<ClassesFile> for Classes {
    fn from(file: ClassesFile) -> Self {
        match file {
            ClassesFile::Heads { heads, qualities, descriptors, library, multi_label, masks } => {
                Classes { heads, qualities, descriptors, library, multi_label, masks }
            }
            ClassesFile::Fixed { instrument, family, pitch_class, velocity, descriptors, library } => Classes {
                heads: vec![
                    ("instrument".into(), instrument),
                    ("family".into(), family),
                    ("pitch_class".into(), pitch_class),
                    ("velocity".into(), velocity),
                ],
                qualities: 0,
                descriptors,
                library,
                multi_label: Vec::new(),
                masks: false,
            },
        }
    }
}

/// The heads' raw outputs: logits of each single-label head, of each quality and of each label
/// of the multi-label head, and the standardised descriptors.
pub struct Outputs {
    pub classes: Vec<Tensor>,
    pub qualities: Option<Tensor>,
    pub multi: Option<Tensor>,
    pub descriptors: Tensor,
}

struct Encoder {
    input: Dense,
    blocks: Vec<ConvBlock>,
}

impl Encoder {
    fn new(vb: VarBuilder, bins: usize, m: &ModelConfig) -> Result<Self> {
        let blocks = (0..m.blocks)
            .map(|i| ConvBlock::new(vb.pp(format!("block{i}")), m.width, m.kernel))
            .collect::<Result<_>>()?;
        Ok(Self { input: Dense::new(vb.pp("input"), bins, m.width)?, blocks })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut h = gelu(&self.input.forward(xs)?)?;
        for block in &self.blocks {
            h = block.forward(&h)?;
        }
        Ok(h)
    }
}

enum Trunk {
    Crnn { forward: Gru, backward: Gru },
    Conformer(Vec<ConformerBlock>),
}

struct Projection {
    hidden: Dense,
    out: Dense,
}

impl Projection {
    fn new(vb: VarBuilder, inputs: usize, size: usize) -> Result<Self> {
        Ok(Self { hidden: Dense::new(vb.pp("hidden"), inputs, inputs)?, out: Dense::new(vb.pp("out"), inputs, size)? })
    }

    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.out.forward(&gelu(&self.hidden.forward(xs)?)?)
    }
}

pub struct Model {
    pub spec: ModelSpec,
    stft: Encoder,
    cqt: Encoder,
    fuse: Dense,
    fuse_norm: LayerNorm,
    trunk: Trunk,
    heads: Vec<Dense>,
    qualities: Option<Dense>,
    descriptors: Dense,
    /// The adversarial library head (`mtl.library_adversary`), if the model was built with one.
    library: Option<Dense>,
    multi: Option<Dense>,
    mask: Option<MaskHead>,
    projections: [Projection; 2],
}

impl Model {
    /// Declares every parameter in `vb` (zeros until [`seeded_init`] or a checkpoint fills them).
    pub fn new(vb: VarBuilder, spec: &ModelSpec) -> Result<Self> {
        let m = &spec.model;
        let (trunk, embedding, frame_width) = match m.backbone {
            Backbone::Crnn => (
                Trunk::Crnn {
                    forward: Gru::new(vb.pp("gru_fwd"), m.fused, m.rnn_hidden)?,
                    backward: Gru::new(vb.pp("gru_bwd"), m.fused, m.rnn_hidden)?,
                },
                4 * m.rnn_hidden,
                2 * m.rnn_hidden,
            ),
            Backbone::Conformer => (
                Trunk::Conformer(
                    (0..m.conformer_blocks)
                        .map(|i| ConformerBlock::new(vb.pp(format!("conformer{i}")), m.fused, m.heads, m.kernel))
                        .collect::<Result<_>>()?,
                ),
                2 * m.fused,
                m.fused,
            ),
        };
        let c = &spec.classes;
        let head = |name: &str, n: usize| Dense::new(vb.pp("head").pp(name), embedding, n);
        Ok(Self {
            spec: spec.clone(),
            stft: Encoder::new(vb.pp("stft"), spec.stft_bins, m)?,
            cqt: Encoder::new(vb.pp("cqt"), spec.cqt_bins, m)?,
            fuse: Dense::new(vb.pp("fuse"), 2 * m.width, m.fused)?,
            fuse_norm: layer_norm(vb.pp("fuse_norm"), m.fused)?,
            trunk,
            heads: c.heads.iter().map(|(name, n)| head(name, *n)).collect::<Result<_>>()?,
            qualities: if c.qualities > 0 { Some(head("qualities", c.qualities)?) } else { None },
            descriptors: head("descriptors", c.descriptors)?,
            library: if c.library > 0 { Some(head("library", c.library)?) } else { None },
            multi: if c.multi_label.is_empty() { None } else { Some(head("multi_label", c.multi_labels())?) },
            mask: if c.masks {
                Some(MaskHead::new(vb.pp("mask"), frame_width, spec.stft_bins, c.heads[0].1)?)
            } else {
                None
            },
            projections: [
                Projection::new(vb.pp("proj_stft"), m.width, m.projection)?,
                Projection::new(vb.pp("proj_cqt"), m.width, m.projection)?,
            ],
        })
    }

    /// The contrastive stage's embeddings: each view encoded alone, averaged over time, projected.
    /// `stft` is `[B, T, stft_bins]`, `cqt` is `[B, T, cqt_bins]`.
    pub fn project_views(&self, stft: &Tensor, cqt: &Tensor) -> Result<(Tensor, Tensor)> {
        let zs = self.projections[0].forward(&self.stft.forward(stft)?.mean(1)?)?;
        let zc = self.projections[1].forward(&self.cqt.forward(cqt)?.mean(1)?)?;
        Ok((zs, zc))
    }

    /// The embedding the heads read, `[B, E]`.
    pub fn embed(&self, stft: &Tensor, cqt: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.embed_frames(stft, cqt, train)?.0)
    }

    /// The embedding, and the trunk's frames it pools, `[B, T', F]`.
    pub fn embed_frames(&self, stft: &Tensor, cqt: &Tensor, train: bool) -> Result<(Tensor, Tensor)> {
        let fused = Tensor::cat(&[self.stft.forward(stft)?, self.cqt.forward(cqt)?], 2)?;
        let h = self.fuse_norm.forward(&gelu(&self.fuse.forward(&fused)?)?)?;
        let h = match &self.trunk {
            Trunk::Crnn { forward, backward } => {
                Tensor::cat(&[forward.forward(&h, false)?, backward.forward(&h, true)?], 2)?
            }
            Trunk::Conformer(blocks) => {
                let mut h = h;
                for block in blocks {
                    h = block.forward(&h)?;
                }
                h
            }
        };
        let e = mean_max_time(&h)?;
        let e = if train && self.spec.model.dropout > 0.0 {
            candle_nn::ops::dropout(&e, self.spec.model.dropout)?
        } else {
            e
        };
        Ok((e, h))
    }

    /// The mask head, if the model has one.
    pub fn mask_head(&self) -> Option<&MaskHead> {
        self.mask.as_ref()
    }

    pub fn forward(&self, stft: &Tensor, cqt: &Tensor, train: bool) -> Result<Outputs> {
        let e = self.embed(stft, cqt, train)?;
        self.heads(&e)
    }

    /// Every head on an embedding.
    pub fn heads(&self, e: &Tensor) -> Result<Outputs> {
        Ok(Outputs {
            classes: self.heads.iter().map(|h| h.forward(e)).collect::<Result<_>>()?,
            qualities: self.qualities.as_ref().map(|h| h.forward(e)).transpose()?,
            multi: self.multi.as_ref().map(|h| h.forward(e)).transpose()?,
            descriptors: self.descriptors.forward(e)?,
        })
    }

    /// The library head's logits behind a gradient reversal: forward the embedding as it is,
    /// backward `-reversal` times the gradient, so the head learns the libraries and the
    /// encoders learn to hide them. None without a library head.
    pub fn library_logits(&self, e: &Tensor, reversal: f64) -> Result<Option<Tensor>> {
        let Some(head) = &self.library else { return Ok(None) };
        let reversed = ((e.detach() * (1.0 + reversal))? - (e * reversal)?)?;
        head.forward(&reversed).map(Some)
    }
}

impl Classes {
    /// Labels of the multi-label head: the classes of each head it names, in turn.
    pub fn multi_labels(&self) -> usize {
        self.multi_label.iter().map(|&h| self.heads[h].1).sum()
    }

    /// The four heads of our schema (instrument, family, pitch class, velocity), five
    /// descriptors, no qualities: for tests and benches.
    pub fn fixed(instrument: usize, family: usize, pitch_class: usize, velocity: usize, library: usize) -> Self {
        ClassesFile::Fixed { instrument, family, pitch_class, velocity, descriptors: 5, library }.into()
    }
}

/// Fills every parameter from a seeded generator, in name order, so a seed gives one network:
/// PyTorch's defaults (weights and biases uniform in +-1/sqrt(fan_in)), layer norms at 1 and 0.
pub fn seeded_init(varmap: &VarMap, seed: u64) -> Result<()> {
    let data = varmap.data().lock().expect("the var map is not poisoned");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let is_norm = name.contains("norm.");
        let fan_in = if let Some(prefix) = name.strip_suffix(".bias") {
            data.get(&format!("{prefix}.weight")).map(|w| w.dims()[w.dims().len() - 1]).unwrap_or(1)
        } else if name.ends_with("depthwise") {
            dims[0]
        } else {
            *dims.last().unwrap_or(&1)
        };
        let values: Vec<f32> = if is_norm {
            let fill = if name.ends_with(".weight") { 1.0 } else { 0.0 };
            vec![fill; var.elem_count()]
        } else {
            let bound = 1.0 / (fan_in as f32).sqrt();
            (0..var.elem_count()).map(|_| rng.random_range(-bound..bound)).collect()
        };
        var.set(&Tensor::from_vec(values, dims, var.device())?)?;
    }
    Ok(())
}

/// A fresh, seeded model and the map that owns its parameters.
pub fn build(spec: &ModelSpec, seed: u64, device: &Device) -> Result<(VarMap, Model)> {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = Model::new(vb, spec)?;
    seeded_init(&varmap, seed)?;
    Ok((varmap, model))
}

/// Parameter count.
pub fn parameters(varmap: &VarMap) -> usize {
    varmap.all_vars().iter().map(|v| v.elem_count()).sum()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backbone {
    Crnn,
    Conformer,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub backbone: Backbone,
    /// Channels of each view's encoder.
    pub width: usize,
    /// Temporal convolution blocks per encoder; each halves the frame rate.
    pub blocks: usize,
    /// Frames each temporal convolution spans (odd).
    pub kernel: usize,
    /// Channels after the two views are fused.
    pub fused: usize,
    /// GRU hidden size per direction (CRNN).
    pub rnn_hidden: usize,
    /// Conformer blocks and attention heads (Conformer).
    pub conformer_blocks: usize,
    pub heads: usize,
    /// Projection head output size for the contrastive stage.
    pub projection: usize,
    pub dropout: f32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::training::config::TrainConfig;

    #[test]
    fn the_library_head_reverses_its_gradient_at_the_embedding() {
        let mut config = TrainConfig::parse(include_str!("../../../models/default.toml"), "default.toml").unwrap();
        let m = &mut config.model;
        (m.width, m.fused, m.rnn_hidden, m.projection) = (8, 12, 4, 4);
        let classes = Classes::fixed(4, 3, 5, 2, 3);
        let spec = ModelSpec { input: config.input, model: config.model, stft_bins: 6, cqt_bins: 7, classes };
        let (_, model) = build(&spec, 1, &Device::Cpu).unwrap();
        let values: Vec<f32> = (0..4 * 16).map(|k| ((k * 37 % 11) as f32 - 5.0) / 5.0).collect();
        let e = candle_core::Var::from_vec(values, (4, 16), &Device::Cpu).unwrap();
        let weights = Tensor::new(&[[1.0f32, -2.0, 0.5]], &Device::Cpu).unwrap();
        let loss = |logits: &Tensor| logits.broadcast_mul(&weights).unwrap().sum_all().unwrap();
        let head = model.library.as_ref().expect("built with a library head");
        let plain = head.forward(e.as_tensor()).unwrap();
        let plain_grad = loss(&plain).backward().unwrap().get(e.as_tensor()).unwrap().clone();
        let reversed = model.library_logits(e.as_tensor(), 0.7).unwrap().unwrap();
        let reversed_grad = loss(&reversed).backward().unwrap().get(e.as_tensor()).unwrap().clone();
        // Forward unchanged (up to the rounding of (1 + r) e - r e), backward times -0.7.
        let gap = (&plain - &reversed).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(gap < 1e-5, "forward moved by {gap}");
        let expected = (plain_grad * -0.7).unwrap();
        let gap = (&expected - &reversed_grad).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(gap < 1e-5, "the gradient is not reversed: off by {gap}");
        // Without a head there is nothing to reverse.
        let spec = ModelSpec { classes: Classes { library: 0, ..spec.classes.clone() }, ..spec };
        let (_, model) = build(&spec, 1, &Device::Cpu).unwrap();
        assert!(model.library_logits(e.as_tensor(), 1.0).unwrap().is_none());
    }
}
