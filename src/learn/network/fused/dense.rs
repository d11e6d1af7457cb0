//! A dense layer, `y = x W^T + b`, as one op on `matrixmultiply`'s sgemm.
//!
//! Why not Candle's `matmul` and `broadcast_add`: the op adds the bias as the product's starting
//! value, takes leading dimensions as rows without reshapes in the graph, and can unfold frames
//! inside itself (a temporal convolution), so none of those become graph nodes whose gradients
//! the backward pass zero-fills and adds at full size. On a convolution block's product (3,968 x
//! 384 x 128) it also runs faster: 4.87 ms against 5.73 ms for Candle's product and bias
//! (`benches/learn.rs`, group `products`). The backward pass is three products and a column
//! sum, with the transposes read through strides rather than copied.

use std::borrow::Cow;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{fold, three, unfold, unfold_time_composed, with_values};

/// Products below this many multiply-adds run on one thread: splitting them costs more than it saves.
const PARALLEL_MACS: usize = 1 << 22;

/// A matrix read through strides: the values, then the distance between rows and between columns.
type Strided<'a> = (&'a [f32], isize, isize);

/// `c = a b + beta c` for `a` (`m x k`), `b` (`k x n`) and contiguous row-major `c` (`m x n`).
/// Large products are split over rayon's threads, the pool every other kernel of a step uses
/// (`matrixmultiply`'s own threads would compete with rayon's idle workers for the same cores):
/// by rows of `c` when it has more rows than columns, else by columns, so that each task packs
/// only its share of the larger operand. Each element of `c` is computed by one task whatever the
/// split, so the result does not depend on the thread count.
pub(super) fn sgemm(m: usize, k: usize, n: usize, a: Strided, b: Strided, beta: f32, c: &mut [f32]) {
    assert_eq!(c.len(), m * n, "sgemm: output size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: only the `beta c` term is left.
        c.iter_mut().for_each(|v| *v = if beta == 0.0 { 0.0 } else { beta * *v });
        return;
    }
    assert!(a.0.len() >= reach(m, k, a.1, a.2) && b.0.len() >= reach(k, n, b.1, b.2), "sgemm: slice sizes");
    let threads = rayon::current_num_threads();
    if m * k * n < PARALLEL_MACS || threads == 1 {
        return block(m, k, n, a, b, beta, (c, n));
    }
    // Rows or columns per task: a multiple of 8 (the kernel's block), two tasks per thread.
    let share = |len: usize| len.div_ceil(2 * threads).next_multiple_of(8);
    if m >= n {
        let rows = share(m);
        c.par_chunks_mut(rows * n).enumerate().for_each(|(i, c)| {
            let a = (&a.0[i * rows * a.1 as usize..], a.1, a.2);
            block(c.len() / n, k, n, a, b, beta, (c, n));
        });
    } else {
        let cols = share(n);
        let blocks: Vec<(usize, Vec<f32>)> = (0..n)
            .into_par_iter()
            .step_by(cols)
            .map(|first| {
                let width = cols.min(n - first);
                let mut out = vec![0f32; m * width];
                block(m, k, width, a, (&b.0[first * b.2 as usize..], b.1, b.2), 0.0, (&mut out, width));
                (first, out)
            })
            .collect();
        for (first, out) in blocks {
            let width = out.len() / m;
            for (row, out) in c.chunks_exact_mut(n).zip(out.chunks_exact(width)) {
                let row = &mut row[first..first + width];
                if beta == 0.0 {
                    row.copy_from_slice(out);
                } else {
                    row.iter_mut().zip(out).for_each(|(c, &o)| *c = o + beta * *c);
                }
            }
        }
    }
}

/// How many values a `rows x cols` matrix with these strides spans.
fn reach(rows: usize, cols: usize, rs: isize, cs: isize) -> usize {
    (rows - 1) * rs as usize + (cols - 1) * cs as usize + 1
}

/// One call of `matrixmultiply`'s sgemm; `c` is row-major with rows `c.1` apart.
fn block(m: usize, k: usize, n: usize, a: Strided, b: Strided, beta: f32, c: (&mut [f32], usize)) {
    assert!(
        a.0.len() >= reach(m, k, a.1, a.2)
            && b.0.len() >= reach(k, n, b.1, b.2)
            && c.0.len() >= reach(m, n, c.1 as isize, 1),
        "sgemm block: slice sizes"
    );
    // SAFETY: the assertion bounds every element the strides reach in `a`, `b` and `c`.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.0.as_ptr(),
            a.1,
            a.2,
            b.0.as_ptr(),
            b.1,
            b.2,
            beta,
            c.0.as_mut_ptr(),
            c.1 as isize,
            1,
        );
    }
}

/// `rows` copies of `row`, one after another.
pub(super) fn rows_of(row: &[f32], rows: usize) -> Vec<f32> {
    if row.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0f32; rows * row.len()];
    out.chunks_exact_mut(row.len()).for_each(|r| r.copy_from_slice(row));
    out
}

/// Rows (the product of the leading dimensions) and the last dimension.
fn rows_and_last(dims: &[usize]) -> (usize, usize) {
    let last = dims.last().copied().unwrap_or(1);
    (dims.iter().rev().skip(1).product(), last)
}

/// The sum of each column of a row-major matrix with `cols` columns: the adjoint of [`rows_of`],
/// and the gradient of a bias added to every row.
pub(super) fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut sums = vec![0f32; cols];
    for row in m.chunks_exact(cols.max(1)) {
        sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
    sums
}

/// A dense layer, optionally over each frame and its neighbours (`kernel` > 1: a temporal
/// convolution, the unfold done inside the op so that the graph holds no unfolded copy).
struct DenseOp {
    kernel: usize,
}

impl DenseOp {
    /// The rows the product reads: `x` itself, or its unfold.
    fn rows<'a>(&self, x: &'a [f32], dims: &[usize]) -> Result<Cow<'a, [f32]>> {
        if self.kernel == 1 {
            return Ok(Cow::Borrowed(x));
        }
        let &[b, t, c] = dims else { candle_core::bail!("temporal convolution: input {dims:?} is not [B, T, C]") };
        Ok(Cow::Owned(unfold(x, b, t, c, self.kernel)))
    }
}

impl CustomOp3 for DenseOp {
    fn name(&self) -> &'static str {
        "fused-dense"
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
        let [x, w, b] = three(self.name(), [(s1, l1), (s2, l2), (s3, l3)])?;
        let (rows, last) = rows_and_last(l1.dims());
        let inputs = last * self.kernel;
        let (outputs, w_inputs) = l2.shape().dims2()?;
        if inputs == 0 || w_inputs != inputs || b.len() != outputs {
            candle_core::bail!("dense: input {:?}, weight {:?}, bias {:?}", l1.dims(), l2.dims(), l3.dims());
        }
        let x = self.rows(x, l1.dims())?;
        // Every row starts as the bias, and the product is added to it.
        let mut y = rows_of(b, rows);
        // W^T read through W's strides: element (i, o) of W^T is W[o * inputs + i].
        sgemm(rows, inputs, outputs, (&x, inputs as isize, 1), (w, 1, inputs as isize), 1.0, &mut y);
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().expect("rows_and_last found a last dimension") = outputs;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (rows, last) = rows_and_last(x.dims());
        let inputs = last * self.kernel;
        let outputs = w.dim(0)?;
        let (dx, dw, db) = with_values(x, |xv| {
            with_values(w, |wv| {
                with_values(grad, |g| {
                    let xv = self.rows(xv, x.dims())?;
                    // dx = g W (then folded back onto the frames); an input that no gradient
                    // reaches (the features) skips it.
                    let dx = x.track_op().then(|| {
                        let mut dx = vec![0f32; rows * inputs];
                        sgemm(rows, outputs, inputs, (g, outputs as isize, 1), (wv, inputs as isize, 1), 0.0, &mut dx);
                        match x.dims() {
                            &[b, t, c] if self.kernel > 1 => fold(&dx, b, t, c, self.kernel),
                            _ => dx,
                        }
                    });
                    // dW = g^T x, g^T read through g's strides.
                    let mut dw = vec![0f32; outputs * inputs];
                    sgemm(outputs, rows, inputs, (g, 1, outputs as isize), (&xv, inputs as isize, 1), 0.0, &mut dw);
                    Ok((dx, dw, column_sums(g, outputs)))
                })
            })
        })?;
        let dev = x.device();
        Ok((
            dx.map(|dx| Tensor::from_vec(dx, x.shape(), dev)).transpose()?,
            Some(Tensor::from_vec(dw, (outputs, inputs), dev)?),
            Some(Tensor::from_vec(db, outputs, dev)?),
        ))
    }
}

/// `x W^T + b` for `x` of `[..., inputs]`, `W` of `[outputs, inputs]` and `b` of `[outputs]`:
/// `[..., outputs]`. Leading dimensions are rows of one product, without a reshape in the graph
/// (each one would cost the backward pass a zero-filled gradient and an addition at full size).
pub fn dense(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if super::runs_fused(x.device()) {
        x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, DenseOp { kernel: 1 })
    } else {
        dense_composed(x, w, b)
    }
}

pub fn dense_composed(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    x.broadcast_matmul(&w.t()?)?.broadcast_add(b)
}

/// A temporal convolution, `[B, T, C]` -> `[B, T, outputs]`: each frame beside its `kernel - 1`
/// neighbours (zeros beyond the ends), `kernel * C` values, through a dense layer `W`
/// (`[outputs, kernel * C]`, frames in time order) and `b`.
pub fn conv_time(x: &Tensor, w: &Tensor, b: &Tensor, kernel: usize) -> Result<Tensor> {
    if super::runs_fused(x.device()) {
        x.contiguous()?.apply_op3(&w.contiguous()?, &b.contiguous()?, DenseOp { kernel })
    } else {
        conv_time_composed(x, w, b, kernel)
    }
}

pub fn conv_time_composed(x: &Tensor, w: &Tensor, b: &Tensor, kernel: usize) -> Result<Tensor> {
    dense_composed(&unfold_time_composed(x, kernel)?, w, b)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, random};
    use super::*;

    #[test]
    fn dense_matches_the_composed_one_and_passes_gradients() {
        // Odd sizes, so no product falls on the kernels' block sizes; three dimensions, as the
        // layers pass them.
        let (x, w, b) = (random(&[3, 37, 23], 1), random(&[19, 23], 2), random(&[19], 3));
        check(&[&x, &w, &b], || dense(&x, &w, &b).unwrap(), || dense_composed(&x, &w, &b).unwrap(), 1e-4);
    }

    #[test]
    fn conv_matches_the_composed_one_and_passes_gradients() {
        // Kernels 3 and 5 over 7 frames: the ends see zeros.
        let x = random(&[3, 7, 5], 4);
        for k in [3, 5] {
            let (w, b) = (random(&[4, k * 5], 5), random(&[4], 6));
            let (fast, slow) = (|| conv_time(&x, &w, &b, k).unwrap(), || conv_time_composed(&x, &w, &b, k).unwrap());
            check(&[&x, &w, &b], fast, slow, 1e-4);
        }
    }

    #[test]
    fn split_products_match_one_call() {
        // Large enough to be split: by rows (m > n), then by columns (n > m), with beta = 1.
        let values = |len: usize, seed: usize| (0..len).map(|i| ((i * 7 + seed) % 13) as f32 - 6.0).collect::<Vec<_>>();
        // Empty products leave `beta c`.
        let mut c = vec![2f32; 6];
        sgemm(2, 0, 3, (&[], 0, 1), (&[], 3, 1), 0.5, &mut c);
        assert_eq!(c, vec![1.0; 6]);
        sgemm(0, 4, 3, (&[], 4, 1), (&[0.0; 12], 3, 1), 0.0, &mut []);
        for (m, k, n) in [(700, 90, 70), (70, 90, 700)] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let start = values(m * n, 3);
            let (mut split, mut whole) = (start.clone(), start.clone());
            sgemm(m, k, n, (&a, k as isize, 1), (&b, n as isize, 1), 1.0, &mut split);
            block(m, k, n, (&a, k as isize, 1), (&b, n as isize, 1), 1.0, (&mut whole, n));
            assert_eq!(split, whole, "{m}x{k}x{n}");
            // The oracle: one element by the definition.
            let (i, j) = (m - 1, n / 2);
            let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<f32>() + start[i * n + j];
            assert!((split[i * n + j] - want).abs() < 1e-3 * want.abs().max(1.0));
        }
    }

    #[test]
    fn features_get_no_gradient() {
        // A plain tensor as input: its gradient is never asked for, so none is computed.
        let x = random(&[4, 3], 1).as_tensor().detach();
        let (w, b) = (random(&[2, 3], 2), random(&[2], 3));
        let grads = dense(&x, &w, &b).unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_none());
        // d(sum y)/db is the number of rows; d/dW[o, i] the column sum of x.
        assert_eq!(grads.get(&b).unwrap().to_vec1::<f32>().unwrap(), vec![4.0, 4.0]);
        let col: Vec<f32> = x.sum(0).unwrap().to_vec1().unwrap();
        let dw = grads.get(&w).unwrap().to_vec2::<f32>().unwrap();
        for row in dw {
            row.iter().zip(&col).for_each(|(a, b)| assert!((a - b).abs() < 1e-5));
        }
    }
}
