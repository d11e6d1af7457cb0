//! A whole GRU direction over time as one op, PyTorch's gate order (r, z, n).
//!
//! Why one op for the sequence rather than one per step: a step is a small product and a few
//! thousand elementwise values, so per-step ops spent most of their time in graph bookkeeping
//! (each step's slice, state and stacked output had its gradient zero-filled and accumulated at
//! full size). Here the backward pass recomputes every step's hidden gates in one product from
//! the saved outputs, runs the recurrence once, and sums the weight gradient in one product.
//! The recurrence itself runs on blocks of batch rows in parallel: a frame's product is too
//! small to split, but rows never meet.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::dense::{column_sums, rows_of, sgemm};
use super::{sigmoid, tanh, three, with_values};

struct GruOp {
    reverse: bool,
}

/// What the backward pass reads for a block of batch rows, each row `T` frames: the input and
/// hidden gates (`[rows, T, 3H]`), the state before each frame (`[rows, T, H]`) and the hidden
/// weight (`[3H, H]`).
#[derive(Clone, Copy)]
struct Saved<'a> {
    gx: &'a [f32],
    gh: &'a [f32],
    prev: &'a [f32],
    w: &'a [f32],
    n: usize,
}

/// Batch rows per task. Rows are independent through time, so the recurrence, whose per-frame
/// products are too small to split, runs on every thread at once.
fn rows_per_task(b: usize) -> usize {
    b.div_ceil(rayon::current_num_threads()).max(1)
}

impl GruOp {
    /// Frame indices in the order the recurrence visits them.
    fn order(&self, t: usize) -> Vec<usize> {
        if self.reverse { (0..t).rev().collect() } else { (0..t).collect() }
    }

    /// The recurrence for a block of rows: `gx` `[rows, T, 3H]` in, `out` `[rows, T, H]` out.
    fn forward_rows(&self, gx: &[f32], w: &[f32], bias: &[f32], t: usize, out: &mut [f32]) {
        let g3 = bias.len();
        let n = g3 / 3;
        let b = out.len() / (t * n);
        let mut h = vec![0f32; b * n];
        let mut gh = vec![0f32; b * g3];
        for step in self.order(t) {
            gh.chunks_exact_mut(g3).for_each(|row| row.copy_from_slice(bias));
            sgemm(b, n, g3, (&h, n as isize, 1), (w, 1, n as isize), 1.0, &mut gh);
            for row in 0..b {
                let (gx, gh) = (&gx[(row * t + step) * g3..][..g3], &gh[row * g3..][..g3]);
                let h = &mut h[row * n..][..n];
                for i in 0..n {
                    let r = sigmoid(gx[i] + gh[i]);
                    let z = sigmoid(gx[n + i] + gh[n + i]);
                    let cand = tanh(gx[2 * n + i] + r * gh[2 * n + i]);
                    h[i] = (1.0 - z) * cand + z * h[i];
                }
                out[(row * t + step) * n..][..n].copy_from_slice(h);
            }
        }
    }

    /// The recurrence backwards for a block of rows, from the output gradient `g` (`[rows, T,
    /// H]`): the gradients of the input gates `dgx` and hidden gates `dgh` (`[rows, T, 3H]`).
    fn backward_rows(&self, saved: &Saved, g: &[f32], t: usize, dgx: &mut [f32], dgh: &mut [f32]) {
        let Saved { gx, gh, prev, w, n } = *saved;
        let (g3, b) = (3 * n, g.len() / (t * n));
        // The gradient reaching each row's state from the frames after it.
        let mut dh = vec![0f32; b * n];
        for step in self.order(t).into_iter().rev() {
            for row in 0..b {
                let o = (row * t + step) * g3;
                let (gx, gh) = (&gx[o..][..g3], &gh[o..][..g3]);
                let hp = &prev[(row * t + step) * n..][..n];
                let gin = &g[(row * t + step) * n..][..n];
                let dh = &mut dh[row * n..][..n];
                for i in 0..n {
                    let r = sigmoid(gx[i] + gh[i]);
                    let z = sigmoid(gx[n + i] + gh[n + i]);
                    let cand = tanh(gx[2 * n + i] + r * gh[2 * n + i]);
                    let g = gin[i] + dh[i];
                    let d_cand = g * (1.0 - z) * (1.0 - cand * cand);
                    let d_z = g * (hp[i] - cand) * z * (1.0 - z);
                    let d_r = d_cand * gh[2 * n + i] * r * (1.0 - r);
                    // What reaches the previous state directly; the path through the hidden
                    // gates is added below.
                    dh[i] = g * z;
                    dgx[o + i] = d_r;
                    dgh[o + i] = d_r;
                    dgx[o + n + i] = d_z;
                    dgh[o + n + i] = d_z;
                    dgx[o + 2 * n + i] = d_cand;
                    dgh[o + 2 * n + i] = d_cand * r;
                }
            }
            // dh += dgh(step) W: this step's rows lie t * 3H apart.
            let a = (&dgh[step * g3..], (t * g3) as isize, 1);
            sgemm(b, g3, n, a, (w, n as isize, 1), 1.0, &mut dh);
        }
    }
}

/// The hidden state before each frame, `[B, T, H]`: the output of the frame visited just before
/// it, zeros for the first.
fn previous_states(out: &[f32], order: &[usize], b: usize, t: usize, n: usize) -> Vec<f32> {
    let mut prev = vec![0f32; b * t * n];
    for pair in order.windows(2) {
        let (before, step) = (pair[0], pair[1]);
        for row in 0..b {
            let (src, dst) = ((row * t + before) * n, (row * t + step) * n);
            prev[dst..dst + n].copy_from_slice(&out[src..src + n]);
        }
    }
    prev
}

impl CustomOp3 for GruOp {
    fn name(&self) -> &'static str {
        "fused-gru"
    }

    /// Inputs: the input gates of every frame `[B, T, 3H]`, the hidden weight `[3H, H]` and bias
    /// `[3H]`. Output: the hidden state after every frame, `[B, T, H]`.
    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let [gx, w, bias] = three(self.name(), [(s1, l1), (s2, l2), (s3, l3)])?;
        let (b, t, g3) = l1.shape().dims3()?;
        let (w_rows, n) = l2.shape().dims2()?;
        if g3 != 3 * n || w_rows != g3 || bias.len() != g3 {
            candle_core::bail!("gru: gates {:?}, weight {:?}, bias {:?}", l1.dims(), l2.dims(), l3.dims());
        }
        let mut out = vec![0f32; b * t * n];
        let rows = rows_per_task(b);
        out.par_chunks_mut((rows * t * n).max(1)).zip(gx.par_chunks((rows * t * g3).max(1))).for_each(|(out, gx)| {
            self.forward_rows(gx, w, bias, t, out);
        });
        Ok((CpuStorage::F32(out), Shape::from((b, t, n))))
    }

    fn bwd(
        &self,
        gates: &Tensor,
        w: &Tensor,
        bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, g3) = gates.dims3()?;
        let n = g3 / 3;
        let order = self.order(t);
        let (dgx, dw, db) = with_values(gates, |gx| {
            with_values(w, |wv| {
                with_values(bias, |bias| {
                    with_values(res, |out| {
                        with_values(grad, |g| {
                            let prev = previous_states(out, &order, b, t, n);
                            // Every frame's hidden gates in one product.
                            let mut gh = rows_of(bias, b * t);
                            sgemm(b * t, n, g3, (&prev, n as isize, 1), (wv, 1, n as isize), 1.0, &mut gh);
                            let (mut dgx, mut dgh) = (vec![0f32; b * t * g3], vec![0f32; b * t * g3]);
                            let rows = rows_per_task(b);
                            let (gates, states) = ((rows * t * g3).max(1), (rows * t * n).max(1));
                            dgx.par_chunks_mut(gates)
                                .zip(dgh.par_chunks_mut(gates))
                                .zip(gx.par_chunks(gates).zip(gh.par_chunks(gates)))
                                .zip(prev.par_chunks(states).zip(g.par_chunks(states)))
                                .for_each(|(((dgx, dgh), (gx, gh)), (prev, g))| {
                                    let saved = Saved { gx, gh, prev, w: wv, n };
                                    self.backward_rows(&saved, g, t, dgx, dgh);
                                });
                            // dW = dgh^T prev over every frame; db = column sums of dgh.
                            let mut dw = vec![0f32; g3 * n];
                            sgemm(g3, b * t, n, (&dgh, 1, g3 as isize), (&prev, n as isize, 1), 0.0, &mut dw);
                            Ok((dgx, dw, column_sums(&dgh, g3)))
                        })
                    })
                })
            })
        })?;
        let dev = gates.device();
        Ok((
            Some(Tensor::from_vec(dgx, (b, t, g3), dev)?),
            Some(Tensor::from_vec(dw, (g3, n), dev)?),
            Some(Tensor::from_vec(db, g3, dev)?),
        ))
    }
}

/// One GRU direction: the hidden state after every frame, `[B, T, H]`, from every frame's input
/// gates `gates` (`[B, T, 3H]`, the input projection already applied), the hidden weight `w`
/// (`[3H, H]`) and bias `b` (`[3H]`), starting from zeros; read backwards in time when `reverse`.
pub fn gru(gates: &Tensor, w: &Tensor, b: &Tensor, reverse: bool) -> Result<Tensor> {
    if super::runs_fused(gates.device()) {
        gates.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, GruOp { reverse })
    } else {
        gru_composed(gates, w, b, reverse)
    }
}

/// The same, one step at a time from Candle's operations.
pub fn gru_composed(gates: &Tensor, w: &Tensor, b: &Tensor, reverse: bool) -> Result<Tensor> {
    let (batch, t, g3) = gates.dims3()?;
    let n = g3 / 3;
    let mut h = Tensor::zeros((batch, n), gates.dtype(), gates.device())?;
    let mut outputs = vec![None; t];
    let order: Vec<usize> = if reverse { (0..t).rev().collect() } else { (0..t).collect() };
    for step in order {
        let gx = gates.narrow(1, step, 1)?.squeeze(1)?;
        let gh = h.matmul(&w.t()?)?.broadcast_add(b)?;
        let r = candle_nn::ops::sigmoid(&(gx.narrow(1, 0, n)? + gh.narrow(1, 0, n)?)?)?;
        let z = candle_nn::ops::sigmoid(&(gx.narrow(1, n, n)? + gh.narrow(1, n, n)?)?)?;
        let cand = (gx.narrow(1, 2 * n, n)? + (r * gh.narrow(1, 2 * n, n)?)?)?.tanh()?;
        h = ((&cand - (&z * &cand)?)? + (&z * &h)?)?;
        outputs[step] = Some(h.clone());
    }
    let outputs: Vec<Tensor> = outputs.into_iter().map(|o| o.expect("every step ran")).collect();
    Tensor::stack(&outputs, 1)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, random};
    use super::*;

    #[test]
    fn gru_matches_the_composed_one_both_ways() {
        // 5 rows, 7 frames, 6 hidden units: gradients flow through the recurrence and the weights.
        let (gates, w, b) = (random(&[5, 7, 18], 1), random(&[18, 6], 2), random(&[18], 3));
        for reverse in [false, true] {
            check(
                &[&gates, &w, &b],
                || gru(&gates, &w, &b, reverse).unwrap(),
                || gru_composed(&gates, &w, &b, reverse).unwrap(),
                1e-4,
            );
        }
    }

    #[test]
    fn reverse_reads_the_last_frame_first() {
        // The first frame visited starts from h = 0, so the reverse pass's state after the last
        // frame equals a pass over that frame alone.
        let (gates, w, b) = (random(&[2, 4, 9], 4), random(&[9, 3], 5), random(&[9], 6));
        let backward = gru(&gates, &w, &b, true).unwrap();
        let last = gates.narrow(1, 3, 1).unwrap();
        let alone = gru(&last, &w, &b, false).unwrap();
        let a = backward.narrow(1, 3, 1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let e = alone.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        a.iter().zip(&e).for_each(|(a, e)| assert!((a - e).abs() < 1e-6, "{a} vs {e}"));
    }

    #[test]
    fn rows_split_over_threads_give_the_same_values() {
        // Rows run the recurrence independently, so however the batch is split over threads,
        // every value and gradient is bit for bit the one a single thread gives.
        let (gates, w, b) = (random(&[7, 5, 12], 7), random(&[12, 4], 8), random(&[12], 9));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let y = gru(&gates, &w, &b, true).unwrap();
                let g = (&y * &y).unwrap().sum_all().unwrap().backward().unwrap();
                [y.clone(), g.get(&gates).unwrap().clone(), g.get(&w).unwrap().clone(), g.get(&b).unwrap().clone()]
                    .map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
            })
        };
        let one = run(1);
        for threads in [2, 3, 4] {
            assert_eq!(run(threads), one, "{threads} threads");
        }
    }
}
