//! The end of a convolution block as one op: `halve(norm(skip + gelu(pre)))`, the residual GELU,
//! the layer norm and the halving of frames in one pass.
//!
//! Why one op rather than three: each op's output is a graph node, and Candle's backward pass
//! zero-fills and accumulates every node's gradient at full size. Here only the halved output is
//! stored; the backward pass recomputes the residual sum and its norm from `skip` and `pre` row by
//! row, which costs less than the two full-size tensors it no longer writes and reads.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{
    gelu_slope, gelu_value, halve_time_composed, layer_norm_composed, norm_row_backward, row_moments, three,
    with_values,
};

struct BlockTailOp {
    eps: f32,
}

/// `skip + gelu(pre)` for one frame, into `r`.
fn residual_row(skip: &[f32], pre: &[f32], r: &mut [f32]) {
    r.iter_mut().zip(skip.iter().zip(pre)).for_each(|(r, (&s, &p))| *r = s + gelu_value(p));
}

impl CustomOp3 for BlockTailOp {
    fn name(&self) -> &'static str {
        "fused-block-tail"
    }

    /// Inputs: `skip` and `pre`, `[B, T, C]`, and the norm's scale and shift stacked, `[2, C]`.
    /// Output: `[B, T / 2, C]`, the mean of each pair of normed frames (an odd last one dropped).
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let [skip, pre, params] = three(self.name(), [(s1, l1), (s2, l2), (s3, l3)])?;
        let (b, t, c) = l1.shape().dims3()?;
        if l2.shape() != l1.shape() || l3.dims() != [2, c] {
            candle_core::bail!("block tail: skip {:?}, pre {:?}, norm {:?}", l1.dims(), l2.dims(), l3.dims());
        }
        let (gamma, beta) = params.split_at(c);
        let half = t / 2;
        let mut out = vec![0f32; b * half * c];
        let rows = (t * c).max(1);
        out.par_chunks_mut((half * c).max(1)).zip(skip.par_chunks(rows).zip(pre.par_chunks(rows))).for_each(
            |(out, (skip, pre))| {
                let mut r = vec![0f32; c];
                for frame in 0..2 * half {
                    residual_row(&skip[frame * c..][..c], &pre[frame * c..][..c], &mut r);
                    let (mean, rstd) = row_moments(&r, self.eps);
                    let o = &mut out[frame / 2 * c..][..c];
                    let normed =
                        r.iter().zip(gamma.iter().zip(beta)).map(|(&r, (&gm, &bt))| (r - mean) * rstd * gm + bt);
                    if frame % 2 == 0 {
                        o.iter_mut().zip(normed).for_each(|(o, v)| *o = 0.5 * v);
                    } else {
                        o.iter_mut().zip(normed).for_each(|(o, v)| *o += 0.5 * v);
                    }
                }
            },
        );
        Ok((CpuStorage::F32(out), Shape::from((b, half, c))))
    }

    fn bwd(
        &self,
        skip: &Tensor,
        pre: &Tensor,
        params: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, c) = skip.dims3()?;
        let half = t / 2;
        let eps = self.eps;
        let (dskip, dpre, dparams) = with_values(skip, |skip| {
            with_values(pre, |pre| {
                with_values(params, |params| {
                    with_values(grad, |g| {
                        let gamma = &params[..c];
                        let (mut dskip, mut dpre) = (vec![0f32; b * t * c], vec![0f32; b * t * c]);
                        let rows = (t * c).max(1);
                        // Per batch row: the partial sums of dgamma and dbeta, added in row order
                        // below so that the result does not depend on thread timing.
                        let partials: Vec<Vec<f32>> = dskip
                            .par_chunks_mut(rows)
                            .zip(dpre.par_chunks_mut(rows))
                            .zip(skip.par_chunks(rows).zip(pre.par_chunks(rows)))
                            .zip(g.par_chunks((half * c).max(1)))
                            .map(|(((dskip, dpre), (skip, pre)), g)| {
                                let mut dparams = vec![0f32; 2 * c];
                                let (mut r, mut gr) = (vec![0f32; c], vec![0f32; c]);
                                // Frames past the last pair were dropped: their gradients stay 0.
                                for frame in 0..2 * half {
                                    let (skip, pre) = (&skip[frame * c..][..c], &pre[frame * c..][..c]);
                                    residual_row(skip, pre, &mut r);
                                    // Each frame of a pair takes half of the pair's gradient.
                                    let gn = &g[frame / 2 * c..][..c];
                                    gr.iter_mut().zip(gn).for_each(|(gr, &g)| *gr = 0.5 * g);
                                    let (ds, dp) = (&mut dskip[frame * c..][..c], &mut dpre[frame * c..][..c]);
                                    norm_row_backward(&r, &gr, gamma, eps, ds, dparams.split_at_mut(c));
                                    dp.iter_mut()
                                        .zip(ds.iter().zip(pre))
                                        .for_each(|(dp, (&dr, &p))| *dp = dr * gelu_slope(p));
                                }
                                dparams
                            })
                            .collect();
                        let mut dparams = vec![0f32; 2 * c];
                        for p in partials {
                            dparams.iter_mut().zip(p).for_each(|(a, b)| *a += b);
                        }
                        Ok((dskip, dpre, dparams))
                    })
                })
            })
        })?;
        let dev = skip.device();
        Ok((
            Some(Tensor::from_vec(dskip, (b, t, c), dev)?),
            Some(Tensor::from_vec(dpre, (b, t, c), dev)?),
            Some(Tensor::from_vec(dparams, (2, c), dev)?),
        ))
    }
}

/// `halve(layer_norm(skip + gelu(pre)))` over `[B, T, C]`, the norm's scale `gamma` and shift
/// `beta` (`[C]`): `[B, T / 2, C]`.
pub fn block_tail(skip: &Tensor, pre: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    if super::runs_fused(skip.device()) {
        let params = Tensor::stack(&[gamma, beta], 0)?;
        skip.contiguous()?.apply_op3(&pre.contiguous()?, &params, BlockTailOp { eps })
    } else {
        block_tail_composed(skip, pre, gamma, beta, eps)
    }
}

/// The same from Candle's operations.
pub fn block_tail_composed(skip: &Tensor, pre: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    halve_time_composed(&layer_norm_composed(&(skip + pre.gelu()?)?, gamma, beta, eps)?)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, random};
    use super::*;

    #[test]
    fn block_tail_matches_the_composed_one_and_passes_gradients() {
        // An odd frame count: the dropped last frame gets no gradient in either version.
        for t in [6, 7] {
            let (skip, pre) = (random(&[3, t, 10], 1), random(&[3, t, 10], 2));
            let (gamma, beta) = (random(&[10], 3), random(&[10], 4));
            check(
                &[&skip, &pre, &gamma, &beta],
                || block_tail(&skip, &pre, &gamma, &beta, 1e-5).unwrap(),
                || block_tail_composed(&skip, &pre, &gamma, &beta, 1e-5).unwrap(),
                1e-4,
            );
        }
    }

    #[test]
    fn bad_shapes_are_named() {
        let (skip, pre) = (random(&[2, 4, 6], 1), random(&[2, 4, 5], 2));
        let (gamma, beta) = (random(&[6], 3), random(&[6], 4));
        let err = block_tail(&skip, &pre, &gamma, &beta, 1e-5).unwrap_err().to_string();
        assert!(err.contains("block tail") && err.contains("[2, 4, 5]"), "{err}");
    }
}
