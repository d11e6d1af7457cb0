//! Losses and metrics: NT-Xent across the two views, soft-target cross-entropy (Mixup), and
//! the metrics reported per task.

use candle_core::{D, DType, Result, Tensor};

/// NT-Xent (SimCLR) with cosine similarity over 2N embeddings: row i of `a` and row i of `b`
/// are a positive pair, every other row of either view a negative. Returns the mean loss.
pub fn nt_xent(a: &Tensor, b: &Tensor, temperature: f64) -> Result<Tensor> {
    let n = a.dim(0)?;
    let z = Tensor::cat(&[a, b], 0)?;
    let z = z.broadcast_div(&(z.sqr()?.sum_keepdim(1)?.sqrt()? + 1e-12)?)?;
    let sim = (z.matmul(&z.t()?)? / temperature)?;
    // A sample is never its own negative: its self-similarity is pushed to -inf (well, -1e9).
    let eye = Tensor::eye(2 * n, DType::F32, a.device())?;
    let sim = (sim - (eye * 1e9)?)?;
    let targets: Vec<u32> = (0..2 * n).map(|i| ((i + n) % (2 * n)) as u32).collect();
    let targets = Tensor::new(targets, a.device())?;
    candle_nn::loss::cross_entropy(&sim, &targets)
}

/// Fraction of rows of `a` whose most similar row of `b` (cosine) is their own pair, averaged
/// with the same from `b` to `a`.
pub fn retrieval_accuracy(a: &Tensor, b: &Tensor) -> Result<f64> {
    let norm = |z: &Tensor| z.broadcast_div(&(z.sqr()?.sum_keepdim(1)?.sqrt()? + 1e-12)?);
    let sim = norm(a)?.matmul(&norm(b)?.t()?)?;
    let n = a.dim(0)?;
    let hits = |argmax: Vec<u32>| argmax.iter().enumerate().filter(|(i, j)| *i == **j as usize).count();
    let ab = hits(sim.argmax(1)?.to_vec1()?);
    let ba = hits(sim.argmax(0)?.to_vec1()?);
    Ok((ab + ba) as f64 / (2 * n) as f64)
}

/// Cross-entropy against soft targets (rows summing to 1), mean over the batch.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let log_p = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    (targets * log_p)?.sum(D::Minus1)?.mean_all()?.neg()
}

/// Binary cross-entropy of each logit against a probability, averaged over every entry:
/// `max(x, 0) - x y + log(1 + exp(-|x|))`, which never exponentiates a large positive number.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let soft = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    ((logits.relu()? - (logits * targets)?)? + soft)?.mean_all()
}

/// Rows of one-hot vectors, mixed: `lambda * onehot(a) + (1 - lambda) * onehot(b)`.
pub fn mixed_one_hot(a: &[u16], b: &[u16], lambda: &[f32], classes: usize) -> Vec<f32> {
    let mut out = vec![0f32; a.len() * classes];
    for (row, ((&ca, &cb), &l)) in out.chunks_exact_mut(classes).zip(a.iter().zip(b).zip(lambda)) {
        row[usize::from(ca)] += l;
        row[usize::from(cb)] += 1.0 - l;
    }
    out
}

/// Top-1 accuracy of logits `[B, C]` against class indices.
pub fn accuracy(logits: &Tensor, labels: &[u16]) -> Result<f64> {
    let predicted: Vec<u32> = logits.argmax(D::Minus1)?.to_vec1()?;
    Ok(predicted.iter().zip(labels).filter(|(p, l)| **p == u32::from(**l)).count() as f64 / labels.len().max(1) as f64)
}

/// Coefficient of determination of each column: 1 - SS_res / SS_tot.
pub fn r_squared(predicted: &[[f32; 5]], actual: &[[f32; 5]]) -> [f64; 5] {
    let mut out = [0f64; 5];
    for (k, r2) in out.iter_mut().enumerate() {
        let n = actual.len().max(1) as f64;
        let mean = actual.iter().map(|a| f64::from(a[k])).sum::<f64>() / n;
        let total: f64 = actual.iter().map(|a| (f64::from(a[k]) - mean).powi(2)).sum();
        let residual: f64 = predicted.iter().zip(actual).map(|(p, a)| f64::from(p[k] - a[k]).powi(2)).sum();
        *r2 = if total > 0.0 { 1.0 - residual / total } else { 0.0 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// NT-Xent by hand, straight from its definition, in f64: for each of the 2N anchors,
    /// -log(exp(s_pos / t) / sum over k != anchor of exp(s_k / t)).
    fn nt_xent_by_hand(a: &[[f64; 2]], b: &[[f64; 2]], t: f64) -> f64 {
        let z: Vec<[f64; 2]> = a
            .iter()
            .chain(b)
            .map(|v| {
                let n = (v[0] * v[0] + v[1] * v[1]).sqrt();
                [v[0] / n, v[1] / n]
            })
            .collect();
        let n = a.len();
        let cos = |i: usize, j: usize| z[i][0] * z[j][0] + z[i][1] * z[j][1];
        let mut total = 0.0;
        for i in 0..2 * n {
            let pos = (i + n) % (2 * n);
            let denom: f64 = (0..2 * n).filter(|&k| k != i).map(|k| (cos(i, k) / t).exp()).sum();
            total += -((cos(i, pos) / t).exp() / denom).ln();
        }
        total / (2 * n) as f64
    }

    #[test]
    fn nt_xent_matches_the_hand_computed_value() {
        let a = [[1.0, 0.0], [0.0, 2.0]];
        let b = [[3.0, 1.0], [-1.0, 1.0]];
        // Worked by hand for t = 0.5: the unit vectors are (1,0), (0,1), (0.9487,0.3162),
        // (-0.7071,0.7071); anchor 0's positive has cosine 0.9487, its negatives 0 and -0.7071:
        // -ln(e^1.8974 / (e^0 + e^1.8974 + e^-1.4142)) = 0.1709. Over all four anchors: 0.2861.
        let expected = nt_xent_by_hand(&a, &b, 0.5);
        assert!((expected - 0.2861).abs() < 5e-5, "{expected}");
        let dev = Device::Cpu;
        let ta = Tensor::new(&[[1f32, 0.], [0., 2.]], &dev).unwrap();
        let tb = Tensor::new(&[[3f32, 1.], [-1., 1.]], &dev).unwrap();
        let got = nt_xent(&ta, &tb, 0.5).unwrap().to_scalar::<f32>().unwrap();
        assert!((f64::from(got) - expected).abs() < 1e-5, "{got} vs {expected}");
        // Pairs that point the same way and away from the others retrieve each other.
        assert_eq!(retrieval_accuracy(&ta, &Tensor::new(&[[2f32, 0.1], [0.1, 5.]], &dev).unwrap()).unwrap(), 1.0);
        assert_eq!(retrieval_accuracy(&ta, &Tensor::new(&[[0.1f32, 2.], [5., 0.1]], &dev).unwrap()).unwrap(), 0.0);
    }

    #[test]
    fn soft_cross_entropy_of_one_hot_is_the_usual_one() {
        let dev = Device::Cpu;
        let logits = Tensor::new(&[[2f32, 0.5, -1.0]], &dev).unwrap();
        let one_hot = Tensor::new(&[[0f32, 1.0, 0.0]], &dev).unwrap();
        let got = soft_cross_entropy(&logits, &one_hot).unwrap().to_scalar::<f32>().unwrap();
        let lse = (2f64.exp() + 0.5f64.exp() + (-1f64).exp()).ln();
        assert!((f64::from(got) - (lse - 0.5)).abs() < 1e-6);
        assert_eq!(mixed_one_hot(&[0, 2], &[1, 2], &[0.25, 0.5], 3), vec![0.25, 0.75, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn binary_cross_entropy_is_the_formula_even_for_large_logits() {
        let dev = Device::Cpu;
        let logits = Tensor::new(&[[2f32, -1.0], [80.0, -80.0]], &dev).unwrap();
        let targets = Tensor::new(&[[1f32, 0.25], [0.0, 0.0]], &dev).unwrap();
        let got = f64::from(bce_with_logits(&logits, &targets).unwrap().to_scalar::<f32>().unwrap());
        // -(y ln s(x) + (1 - y) ln(1 - s(x))) by hand in f64; 80 costs 80 nats at target 0.
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        let bce = |x: f64, y: f64| -(y * s(x).ln() + (1.0 - y) * (1.0 - s(x)).ln());
        let expected = (bce(2.0, 1.0) + bce(-1.0, 0.25) + 80.0 + bce(-80.0, 0.0)) / 4.0;
        assert!((got - expected).abs() < 1e-5, "{got} against {expected}");
    }

    #[test]
    fn r_squared_is_one_for_a_perfect_fit_and_zero_for_the_mean() {
        let actual = [[1f32, 2., 3., 4., 5.], [3., 2., 1., 0., 5.], [5., 8., 3., 1., 6.]];
        assert!(r_squared(&actual, &actual).iter().take(4).all(|&r| (r - 1.0).abs() < 1e-12));
        let mean = [[3f32, 4., 7. / 3., 5. / 3., 16. / 3.]; 3];
        assert!(r_squared(&mean, &actual).iter().all(|&r| r.abs() < 1e-6));
    }
}
