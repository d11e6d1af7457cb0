//! Building blocks written as matrix products: dense layers ([`crate::learn::network::fused::dense`]) run at about
//! 80 GFLOP/s here and Candle's CPU convolutions at about 5, so a temporal convolution is an unfold
//! (shifted copies side by side) followed by one dense layer ([`crate::learn::network::fused::conv_time`]).
//! Elementwise work goes through the fused kernels of [`crate::learn::network::fused`].

use candle_core::{D, Module, Result, Tensor};
use candle_nn::VarBuilder;
use candle_nn::init::Init;

pub use crate::learn::network::fused::LayerNorm;
use crate::learn::network::fused::{conv_time, dense, gru};

/// A dense layer over the last dimension, leading dimensions as rows of one matrix product.
#[derive(Clone, Debug)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    pub fn new(vb: VarBuilder, inputs: usize, outputs: usize) -> Result<Self> {
        // Values are filled in afterwards by `init::seeded` (Candle's CPU RNG cannot be seeded).
        let weight = vb.get_with_hints((outputs, inputs), "weight", Init::Const(0.0))?;
        let bias = vb.get_with_hints(outputs, "bias", Init::Const(0.0))?;
        Ok(Self { weight, bias })
    }
}

impl Dense {
    /// `[outputs, inputs]`.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    pub fn bias(&self) -> &Tensor {
        &self.bias
    }
}

impl Module for Dense {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        dense(xs, &self.weight, &self.bias)
    }
}

pub fn layer_norm(vb: VarBuilder, size: usize) -> Result<LayerNorm> {
    let weight = vb.get_with_hints(size, "weight", Init::Const(1.0))?;
    let bias = vb.get_with_hints(size, "bias", Init::Const(0.0))?;
    Ok(LayerNorm::new(weight, bias, 1e-5))
}

/// A temporal convolution block: unfold, dense, GELU, residual, layer norm, then halve the frames.
#[derive(Clone, Debug)]
pub struct ConvBlock {
    kernel: usize,
    dense: Dense,
    norm: LayerNorm,
}

impl ConvBlock {
    pub fn new(vb: VarBuilder, channels: usize, kernel: usize) -> Result<Self> {
        Ok(Self {
            kernel,
            dense: Dense::new(vb.pp("conv"), kernel * channels, channels)?,
            norm: layer_norm(vb.pp("norm"), channels)?,
        })
    }
}

impl Module for ConvBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let pre = conv_time(xs, &self.dense.weight, &self.dense.bias, self.kernel)?;
        self.norm.block_tail(xs, &pre)
    }
}

/// One direction of a GRU with PyTorch's gate order (r, z, n) and parameter layout.
#[derive(Clone, Debug)]
pub struct Gru {
    input: Dense,
    hidden: Dense,
}

impl Gru {
    pub fn new(vb: VarBuilder, inputs: usize, size: usize) -> Result<Self> {
        Ok(Self { input: Dense::new(vb.pp("ih"), inputs, 3 * size)?, hidden: Dense::new(vb.pp("hh"), size, 3 * size)? })
    }

    /// `[B, T, C]` -> `[B, T, H]`, read backwards in time when `reverse`.
    pub fn forward(&self, xs: &Tensor, reverse: bool) -> Result<Tensor> {
        // The input projection of every frame in one product; only the recurrence is sequential.
        gru(&self.input.forward(xs)?, &self.hidden.weight, &self.hidden.bias, reverse)
    }
}

/// A lightweight Conformer block (Gulati et al. 2020): half feed-forward, self-attention,
/// convolution module (pointwise, GLU, depthwise over time, SiLU, pointwise), half feed-forward.
#[derive(Clone, Debug)]
pub struct ConformerBlock {
    ff1: (LayerNorm, Dense, Dense),
    attn_norm: LayerNorm,
    qkv: Dense,
    attn_out: Dense,
    heads: usize,
    conv_norm: LayerNorm,
    pointwise_in: Dense,
    depthwise: Tensor,
    pointwise_out: Dense,
    ff2: (LayerNorm, Dense, Dense),
    out_norm: LayerNorm,
}

impl ConformerBlock {
    pub fn new(vb: VarBuilder, dim: usize, heads: usize, kernel: usize) -> Result<Self> {
        let ff = |vb: VarBuilder| -> Result<(LayerNorm, Dense, Dense)> {
            Ok((
                layer_norm(vb.pp("norm"), dim)?,
                Dense::new(vb.pp("up"), dim, 2 * dim)?,
                Dense::new(vb.pp("down"), 2 * dim, dim)?,
            ))
        };
        Ok(Self {
            ff1: ff(vb.pp("ff1"))?,
            attn_norm: layer_norm(vb.pp("attn_norm"), dim)?,
            qkv: Dense::new(vb.pp("qkv"), dim, 3 * dim)?,
            attn_out: Dense::new(vb.pp("attn_out"), dim, dim)?,
            heads,
            conv_norm: layer_norm(vb.pp("conv_norm"), dim)?,
            pointwise_in: Dense::new(vb.pp("pw_in"), dim, 2 * dim)?,
            depthwise: vb.get_with_hints((kernel, dim), "depthwise", Init::Const(0.0))?,
            pointwise_out: Dense::new(vb.pp("pw_out"), dim, dim)?,
            ff2: ff(vb.pp("ff2"))?,
            out_norm: layer_norm(vb.pp("out_norm"), dim)?,
        })
    }

    fn feed_forward(ff: &(LayerNorm, Dense, Dense), xs: &Tensor) -> Result<Tensor> {
        ff.2.forward(&candle_nn::ops::silu(&ff.1.forward(&ff.0.forward(xs)?)?)?)
    }

    fn attention(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, t, c) = xs.dims3()?;
        let d = c / self.heads;
        let qkv = self.qkv.forward(&self.attn_norm.forward(xs)?)?.reshape((b, t, 3, self.heads, d))?;
        let part = |i: usize| -> Result<Tensor> { qkv.narrow(2, i, 1)?.squeeze(2)?.transpose(1, 2)?.contiguous() };
        let (q, k, v) = (part(0)?, part(1)?, part(2)?);
        let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let mixed = weights.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((b, t, c))?;
        self.attn_out.forward(&mixed)
    }

    fn convolution(&self, xs: &Tensor) -> Result<Tensor> {
        let c = xs.dim(2)?;
        let h = self.pointwise_in.forward(&self.conv_norm.forward(xs)?)?;
        let gated = (h.narrow(2, 0, c)? * candle_nn::ops::sigmoid(&h.narrow(2, c, c)?)?)?;
        // Depthwise: each channel filtered over time by its own kernel, as a weighted sum of shifts.
        let kernel = self.depthwise.dim(0)?;
        let t = gated.dim(1)?;
        let padded = gated.pad_with_zeros(1, kernel / 2, kernel / 2)?;
        let mut acc = padded.narrow(1, 0, t)?.broadcast_mul(&self.depthwise.get(0)?)?;
        for j in 1..kernel {
            acc = (acc + padded.narrow(1, j, t)?.broadcast_mul(&self.depthwise.get(j)?)?)?;
        }
        self.pointwise_out.forward(&candle_nn::ops::silu(&acc)?)
    }
}

impl Module for ConformerBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = (xs + (Self::feed_forward(&self.ff1, xs)? * 0.5)?)?;
        let xs = (&xs + self.attention(&xs)?)?;
        let xs = (&xs + self.convolution(&xs)?)?;
        let xs = (&xs + (Self::feed_forward(&self.ff2, &xs)? * 0.5)?)?;
        self.out_norm.forward(&xs)
    }
}

/// `[B, T, C]` -> `[B, 2C]`: mean and max over time side by side.
pub fn mean_max_time(xs: &Tensor) -> Result<Tensor> {
    Tensor::cat(&[xs.mean(1)?, xs.max(1)?], D::Minus1)
}
