//! Fused CPU kernels, each with an analytic backward pass, for what a training step repeats most:
//! dense layers, layer norm, GELU (alone and on a residual branch), the GRU, the temporal unfold, the halving of frames
//! and the end of a convolution block (residual GELU, norm and halving in one).
//!
//! Why not Candle's own: its fused layer norm records no backward pass, so gradients silently
//! stop there and everything upstream trains as if frozen (huggingface/candle#3011); its GELU
//! backward takes about ten tensor passes, two with `powf`; and narrow/pad/cat chains copy their
//! input several times in each direction. Each op here is one pass forward and one backward.
//!
//! The kernels are CPU code: on any other device (a CUDA GPU with the `cuda` feature) every op
//! takes its composed Candle path (`*_composed`), decided in one place, [`runs_fused`]. The
//! composed ops are also the oracles the tests hold the fused kernels to, and the composed layer
//! norm is written out of Candle's elementwise ops, so its gradients flow on a GPU too.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Storage, Tensor};
use rayon::prelude::*;

mod block;
mod dense;
mod gru;
pub use block::{block_tail, block_tail_composed};
pub use dense::{conv_time, conv_time_composed, dense, dense_composed};
pub use gru::{gru, gru_composed};

/// Whether tensors on `device` go through the fused CPU kernels; elsewhere (CUDA) each op falls
/// back to its composed Candle operations.
pub fn runs_fused(device: &candle_core::Device) -> bool {
    device.is_cpu()
}

/// Elements per parallel task: below this, handing work to another thread costs more than it saves.
const CHUNK: usize = 1 << 13;

fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: the input must be contiguous"),
    }
}

/// The three inputs of a ternary op as contiguous f32 slices.
fn three<'a>(op: &str, inputs: [(&'a CpuStorage, &Layout); 3]) -> Result<[&'a [f32]; 3]> {
    let [a, b, c] = inputs;
    Ok([contiguous_f32(a.0, a.1, op)?, contiguous_f32(b.0, b.1, op)?, contiguous_f32(c.0, c.1, op)?])
}

/// Runs `f` on the f32 values of `t`, made contiguous first.
pub(super) fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(cpu) => f(contiguous_f32(cpu, layout, "fused op")?),
        _ => candle_core::bail!("fused ops run on the CPU only"),
    }
}

/// Maps `f` over `x` elementwise into a new vector, in parallel for large inputs.
fn map_par(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(o, x)| {
        o.iter_mut().zip(x).for_each(|(o, &x)| *o = f(x));
    });
    out
}

/// `e^x` without a call into libm, so that loops over slices vectorise: in a profile of a
/// training step, libm's scalar `expf` took 7%. Cephes' method: `x = n ln 2 + r` with `|r| <=
/// ln 2 / 2`, a degree-7 polynomial for `e^r`, and `2^n` built in the exponent bits. Relative
/// error under 2e-7 (the test holds it to f64's `exp`); NaN stays NaN.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so that `n ln 2` is exact in f32 for the `n` reached here.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 * 2^23 rounds to the nearest integer n and leaves n in the low mantissa bits,
    // so that 2^n is built with integer operations only: a float-to-int cast would not vectorise.
    const ROUND: f32 = 12_582_912.0;
    // Beyond these, 2^n leaves the normal range (the results are 0 or inf either way).
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let two_n = f32::from_bits(shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    e_r * two_n
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// tanh through one `exp`. In perf profiles of a training step, libm's `tanhf` (with the
/// `expm1f` it calls) took 14% before this.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

// ---------------------------------------------------------------------------------------------
// Layer norm over the last dimension.

struct LayerNormOp {
    eps: f32,
}

/// Rows per parallel task of the layer norm.
const NORM_ROWS: usize = 64;

fn row_moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let [x, gamma, beta] = three(self.name(), [(s1, l1), (s2, l2), (s3, l3)])?;
        let c = gamma.len();
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(c * NORM_ROWS).zip(x.par_chunks(c * NORM_ROWS)).for_each(|(o, x)| {
            for (o, x) in o.chunks_mut(c).zip(x.chunks(c)) {
                let (mean, rstd) = row_moments(x, self.eps);
                for i in 0..c {
                    o[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let c = gamma.dim(0)?;
        let eps = self.eps;
        let (dx, dgamma, dbeta) = with_values(x, |xv| {
            with_values(gamma, |gm| with_values(grad, |g| Ok(layer_norm_backward(xv, gm, g, c, eps))))
        })?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dgamma, c, dev)?),
            Some(Tensor::from_vec(dbeta, c, dev)?),
        ))
    }
}

/// `dx = rstd (g gamma - mean(g gamma) - xhat mean(g gamma xhat))`; `dgamma = sum g xhat`,
/// `dbeta = sum g` over rows. Per-task partial sums are added in task order, so the result does
/// not depend on thread timing.
fn layer_norm_backward(x: &[f32], gamma: &[f32], g: &[f32], c: usize, eps: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dx = vec![0f32; x.len()];
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(c * NORM_ROWS)
        .zip(x.par_chunks(c * NORM_ROWS).zip(g.par_chunks(c * NORM_ROWS)))
        .map(|(dx, (x, g))| {
            let (mut dgamma, mut dbeta) = (vec![0f32; c], vec![0f32; c]);
            for (dx, (x, g)) in dx.chunks_mut(c).zip(x.chunks(c).zip(g.chunks(c))) {
                norm_row_backward(x, g, gamma, eps, dx, (&mut dgamma, &mut dbeta));
            }
            (dgamma, dbeta)
        })
        .collect();
    let (mut dgamma, mut dbeta) = (vec![0f32; c], vec![0f32; c]);
    for (pg, pb) in partials {
        dgamma.iter_mut().zip(pg).for_each(|(a, b)| *a += b);
        dbeta.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
    }
    (dx, dgamma, dbeta)
}

/// One row of the layer norm's backward pass: `dx` from the row's input `x` and output gradient
/// `g`, and the row's share added to `dgamma` and `dbeta`.
fn norm_row_backward(x: &[f32], g: &[f32], gamma: &[f32], eps: f32, dx: &mut [f32], sums: (&mut [f32], &mut [f32])) {
    let (mean, rstd) = row_moments(x, eps);
    let c = x.len() as f32;
    let (mut sum_dxhat, mut sum_dxhat_xhat) = (0f32, 0f32);
    let (dgamma, dbeta) = sums;
    for ((&x, (&g, &gm)), (dg, db)) in x.iter().zip(g.iter().zip(gamma)).zip(dgamma.iter_mut().zip(dbeta.iter_mut())) {
        let xhat = (x - mean) * rstd;
        let dxhat = g * gm;
        sum_dxhat += dxhat;
        sum_dxhat_xhat += dxhat * xhat;
        *dg += g * xhat;
        *db += g;
    }
    let (m1, m2) = (sum_dxhat / c, sum_dxhat_xhat / c);
    for ((dx, &x), (&g, &gm)) in dx.iter_mut().zip(x).zip(g.iter().zip(gamma)) {
        let xhat = (x - mean) * rstd;
        *dx = rstd * (g * gm - m1 - xhat * m2);
    }
}

/// Layer norm over the last dimension with scale `gamma` and shift `beta`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    if runs_fused(x.device()) {
        x.contiguous()?.apply_op3(gamma, beta, LayerNormOp { eps })
    } else {
        layer_norm_composed(x, gamma, beta, eps)
    }
}

pub fn layer_norm_composed(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    candle_nn::ops::layer_norm_slow(x, gamma, beta, eps)
}

/// A layer norm's parameters, applied through [`layer_norm`].
#[derive(Clone, Debug)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    pub fn new(weight: Tensor, bias: Tensor, eps: f32) -> Self {
        Self { weight, bias, eps }
    }

    /// `halve(norm(skip + gelu(pre)))`, the end of a convolution block, as one op.
    pub fn block_tail(&self, skip: &Tensor, pre: &Tensor) -> Result<Tensor> {
        block_tail(skip, pre, &self.weight, &self.bias, self.eps)
    }
}

impl candle_core::Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        layer_norm(xs, &self.weight, &self.bias, self.eps)
    }
}

// ---------------------------------------------------------------------------------------------
// GELU, tanh approximation (Candle's `gelu` and PyTorch's `approximate="tanh"`).

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_CUBIC: f32 = 0.044_715;

#[inline(always)]
fn gelu_value(v: f32) -> f32 {
    0.5 * v * (1.0 + tanh(SQRT_2_OVER_PI * v * (1.0 + GELU_CUBIC * v * v)))
}

/// d gelu(v) / dv.
#[inline(always)]
fn gelu_slope(v: f32) -> f32 {
    let t = tanh(SQRT_2_OVER_PI * v * (1.0 + GELU_CUBIC * v * v));
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * v * v);
    0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du
}

/// `g * gelu'(x)` elementwise.
fn gelu_backward(x: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let dx = with_values(x, |xv| {
        with_values(grad, |g| {
            let mut dx = vec![0f32; xv.len()];
            dx.par_chunks_mut(CHUNK).zip(xv.par_chunks(CHUNK).zip(g.par_chunks(CHUNK))).for_each(|(dx, (x, g))| {
                dx.iter_mut().zip(x.iter().zip(g)).for_each(|(d, (&v, &g))| *d = g * gelu_slope(v));
            });
            Ok(dx)
        })
    })?;
    Tensor::from_vec(dx, x.shape(), x.device())
}

struct GeluOp;

impl CustomOp1 for GeluOp {
    fn name(&self) -> &'static str {
        "fused-gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(storage, layout, self.name())?;
        let out = map_par(x, gelu_value);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(gelu_backward(x, grad)?))
    }
}

pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if runs_fused(x.device()) { x.contiguous()?.apply_op1(GeluOp) } else { x.gelu() }
}

// ---------------------------------------------------------------------------------------------
// Temporal unfold: `[B, T, C]` -> `[B, T, k C]`, frame t seeing t - k/2 ..= t + k/2.

/// `[B, T, C]` -> `[B, T, kernel * C]`: frame t beside frames t - k/2 ..= t + k/2 (zeros outside).
fn unfold(x: &[f32], b: usize, t: usize, c: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; b * t * k * c];
    out.par_chunks_mut(t * k * c).zip(x.par_chunks(t * c)).for_each(|(o, x)| {
        for frame in 0..t {
            for j in 0..k {
                let Some(src) = (frame + j).checked_sub(k / 2).filter(|&s| s < t) else { continue };
                o[(frame * k + j) * c..(frame * k + j + 1) * c].copy_from_slice(&x[src * c..(src + 1) * c]);
            }
        }
    });
    out
}

/// The adjoint of [`unfold`]: each frame's gradient is the sum of its copies' gradients.
fn fold(g: &[f32], b: usize, t: usize, c: usize, k: usize) -> Vec<f32> {
    let mut dx = vec![0f32; b * t * c];
    dx.par_chunks_mut(t * c).zip(g.par_chunks(t * k * c)).for_each(|(dx, g)| {
        for frame in 0..t {
            for j in 0..k {
                let Some(src) = (frame + j).checked_sub(k / 2).filter(|&s| s < t) else { continue };
                let g = &g[(frame * k + j) * c..(frame * k + j + 1) * c];
                dx[src * c..(src + 1) * c].iter_mut().zip(g).for_each(|(d, g)| *d += g);
            }
        }
    });
    dx
}

/// The unfold of [`conv_time`] from Candle's operations, its oracle.
pub fn unfold_time_composed(xs: &Tensor, kernel: usize) -> Result<Tensor> {
    let frames = xs.dim(1)?;
    let padded = xs.pad_with_zeros(1, kernel / 2, kernel / 2)?;
    let shifted: Vec<Tensor> = (0..kernel).map(|j| padded.narrow(1, j, frames)).collect::<Result<_>>()?;
    Tensor::cat(&shifted, 2)
}

// ---------------------------------------------------------------------------------------------
// Halving the frames: the mean of each pair (an odd last frame dropped).

/// `[B, T, C]` -> `[B, T / 2, C]`: the mean of each pair of frames (an odd last frame is dropped).
pub fn halve_time_composed(xs: &Tensor) -> Result<Tensor> {
    let (b, t, c) = xs.dims3()?;
    let half = t / 2;
    xs.narrow(1, 0, half * 2)?.reshape((b, half, 2, c))?.mean(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use rand::{Rng as _, SeedableRng as _};

    pub(super) fn random(dims: &[usize], seed: u64) -> Var {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n = dims.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0f32..2.0)).collect();
        Var::from_tensor(&Tensor::from_vec(v, dims, &Device::Cpu).unwrap()).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    /// Output and input gradients of `fast` and `slow` under a random linear read-out, compared.
    pub(super) fn check(inputs: &[&Var], fast: impl Fn() -> Tensor, slow: impl Fn() -> Tensor, tol: f32) {
        let (yf, ys) = (fast(), slow());
        assert!(max_abs_diff(&yf, &ys) < tol, "outputs differ by {}", max_abs_diff(&yf, &ys));
        let w = random(yf.dims(), 99);
        let gf = (yf * w.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
        let gs = (ys * w.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
        for (i, v) in inputs.iter().enumerate() {
            let (a, b) = (gf.get(v).expect("fused gradient"), gs.get(v).expect("composed gradient"));
            let scale = b.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap().max(1.0);
            let d = max_abs_diff(a, b);
            assert!(d < tol * scale, "input {i}: gradients differ by {d} (scale {scale})");
        }
    }

    #[test]
    fn layer_norm_matches_the_composed_one_and_passes_gradients() {
        // 3 x 130 rows of 48: more than one parallel task, so the partial sums are combined.
        let (x, g, b) = (random(&[3, 130, 48], 1), random(&[48], 2), random(&[48], 3));
        check(
            &[&x, &g, &b],
            || layer_norm(&x, &g, &b, 1e-5).unwrap(),
            || layer_norm_composed(&x, &g, &b, 1e-5).unwrap(),
            2e-5,
        );
    }

    #[test]
    fn candle_fused_layer_norm_drops_gradients() {
        // The reason this module has its own: if this starts to pass gradients, Candle's can return.
        let (x, g, b) = (random(&[2, 5, 8], 1), random(&[8], 2), random(&[8], 3));
        let y = candle_nn::ops::layer_norm(&x, &g, &b, 1e-5).unwrap();
        let grads = (y * 2.0).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        let y = layer_norm(&x, &g, &b, 1e-5).unwrap();
        let grads = (y * 2.0).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_some() && grads.get(&g).is_some() && grads.get(&b).is_some());
    }

    #[test]
    fn exp_matches_f64_and_keeps_nan() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -87.0 + 175.0 * i as f32 / 200_000.0;
            let want = f64::from(x).exp();
            worst = worst.max(((f64::from(exp(x)) - want) / want).abs());
        }
        assert!(worst < 2e-7, "relative error {worst}");
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(1000.0) > 1e38);
    }

    #[test]
    fn gelu_matches_candle() {
        let x = random(&[5, 3000], 4);
        check(&[&x], || gelu(&x).unwrap(), || x.gelu().unwrap(), 2e-5);
    }

    #[test]
    fn unfold_places_neighbours_side_by_side_and_fold_is_its_adjoint() {
        // One batch, 4 frames, 1 channel holding the frame index + 1.
        let u = unfold(&[1., 2., 3., 4.], 1, 4, 1, 3);
        assert_eq!(u, vec![0., 1., 2., 1., 2., 3., 2., 3., 4., 3., 4., 0.]);
        // The composed oracle agrees on a larger input, kernels 3 and 5.
        let x = random(&[3, 7, 5], 8);
        let xv = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for k in [3, 5] {
            let composed = unfold_time_composed(&x, k).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert_eq!(unfold(&xv, 3, 7, 5, k), composed);
            // <unfold(x), g> = <x, fold(g)> for any g.
            let g: Vec<f32> = (0..composed.len()).map(|i| (i % 11) as f32 - 5.0).collect();
            let lhs: f32 = unfold(&xv, 3, 7, 5, k).iter().zip(&g).map(|(a, b)| a * b).sum();
            let rhs: f32 = xv.iter().zip(fold(&g, 3, 7, 5, k)).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-3 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
        }
        let h = halve_time_composed(&Tensor::new(&[[[1f32], [2.], [3.], [4.]]], &Device::Cpu).unwrap()).unwrap();
        assert_eq!(h.to_vec3::<f32>().unwrap()[0], vec![vec![1.5], vec![3.5]]);
    }
}
