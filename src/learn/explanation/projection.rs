//! 2-D maps of embeddings: PCA always (exact and instant), t-SNE for neighbourhoods (the bhtsne
//! crate, seeded from the PCA so a map is the same every time), and the scores that say how well
//! a map keeps what the embedding holds. UMAP was not taken: its Rust crates want the nearest
//! neighbours and the start computed outside them, and t-SNE already keeps every class together
//! on the benchmark's notes.

use bhtsne::tSNE;

use crate::learn::explanation::embed::Matrix;

/// How a map is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Pca,
    Tsne,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pca => "PCA",
            Self::Tsne => "t-SNE",
        }
    }
}

/// Power-iteration rounds for the two principal axes; far more than a 2-D map needs to settle.
const PCA_ROUNDS: usize = 300;

/// The rows projected on their first two principal axes (centred; each axis signed so its
/// largest component is positive, so the same data always gives the same map).
pub fn pca(m: &Matrix) -> Vec<[f32; 2]> {
    let (n, d) = (m.rows, m.cols);
    if n == 0 || d == 0 {
        return vec![[0.0; 2]; n];
    }
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        mean.iter_mut().zip(m.row(i)).for_each(|(s, &x)| *s += f64::from(x));
    }
    mean.iter_mut().for_each(|s| *s /= n as f64);
    let centred: Vec<f64> = (0..n).flat_map(|i| m.row(i).iter().zip(&mean).map(|(&x, c)| f64::from(x) - c)).collect();
    // Covariance (d × d) once, then orthogonal iteration on it: cheaper than passes over the rows
    // whenever the notes outnumber the dimensions, as they do here.
    let mut cov = vec![0.0f64; d * d];
    for row in centred.chunks_exact(d) {
        for (a, &xa) in row.iter().enumerate() {
            if xa == 0.0 {
                continue;
            }
            let out = &mut cov[a * d..(a + 1) * d];
            out.iter_mut().zip(row).for_each(|(c, &xb)| *c += xa * xb);
        }
    }
    let mut axes: [Vec<f64>; 2] = [
        (0..d).map(|i| 1.0 + (i % 7) as f64).collect(),
        (0..d).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * (1.0 + (i % 5) as f64)).collect(),
    ];
    for _ in 0..PCA_ROUNDS {
        for k in 0..2 {
            let v = &axes[k];
            let mut w: Vec<f64> =
                (0..d).map(|a| cov[a * d..(a + 1) * d].iter().zip(v).map(|(c, x)| c * x).sum()).collect();
            // Gram-Schmidt against the first axis keeps the second one orthogonal to it.
            if k == 1 {
                let u = &axes[0];
                let dot: f64 = w.iter().zip(u).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm > 0.0 {
                w.iter_mut().for_each(|x| *x /= norm);
            }
            axes[k] = w;
        }
    }
    for axis in &mut axes {
        let big = axis.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        if big < 0.0 {
            axis.iter_mut().for_each(|x| *x = -*x);
        }
    }
    centred
        .chunks_exact(d)
        .map(|row| {
            let p = |axis: &[f64]| row.iter().zip(axis).map(|(a, b)| a * b).sum::<f64>() as f32;
            [p(&axes[0]), p(&axes[1])]
        })
        .collect()
}

/// Below this many notes t-SNE has no neighbourhoods to keep: the map is the PCA's.
pub const MIN_TSNE_POINTS: usize = 10;
/// t-SNE's perplexity (about the number of neighbours each point attends to).
pub const PERPLEXITY: f32 = 30.0;
/// t-SNE's iterations.
pub const TSNE_EPOCHS: usize = 750;

/// How t-SNE computes its repulsive forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gradient {
    /// Interpolated on a grid by FFT, as FIt-SNE.
    Interpolated,
    /// A Barnes-Hut tree with θ = 0.5: the default. At 4,000 notes it took half the time of the
    /// interpolated gradient and kept as many neighbours (`benches/diagnose.rs`, BENCHMARKS.md).
    BarnesHut,
}

/// A t-SNE map, started from the PCA scaled to a standard deviation of 1e-4 as openTSNE does, so
/// it is deterministic and keeps the global layout. `progress` hears (epoch, epochs).
pub fn tsne(m: &Matrix, progress: &dyn Fn(usize, usize)) -> Vec<[f32; 2]> {
    tsne_with(m, Gradient::BarnesHut, progress)
}

pub fn tsne_with(m: &Matrix, gradient: Gradient, progress: &dyn Fn(usize, usize)) -> Vec<[f32; 2]> {
    let n = m.rows;
    let start = pca(m);
    if n < MIN_TSNE_POINTS || m.cols == 0 {
        return start;
    }
    let sd = (start.iter().map(|p| f64::from(p[0]).powi(2)).sum::<f64>() / n as f64).sqrt();
    let scale = if sd > 0.0 { (1e-4 / sd) as f32 } else { 0.0 };
    let init: Vec<f32> = start.iter().flat_map(|p| [p[0] * scale, p[1] * scale]).collect();
    // bhtsne panics unless n - 1 ≥ 3 × perplexity.
    let perplexity = PERPLEXITY.min(((n - 1) / 3) as f32).max(1.0);
    let rows: Vec<&[f32]> = (0..n).map(|i| m.row(i)).collect();
    let distance = |a: &&[f32], b: &&[f32]| a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt();
    let mut t: tSNE<f32, &[f32]> = tSNE::new(&rows);
    t.perplexity(perplexity).epochs(TSNE_EPOCHS).initial_embedding(init);
    t.epoch_callback(move |epoch, _| progress(epoch + 1, TSNE_EPOCHS));
    match gradient {
        Gradient::Interpolated => t.fit_sne(distance),
        Gradient::BarnesHut => t.barnes_hut(0.5, distance),
    };
    t.embedding().chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

/// Indices of each point's `k` nearest other points (Euclidean), nearest first.
fn neighbours(n: usize, k: usize, distance: impl Fn(usize, usize) -> f32 + Sync) -> Vec<Vec<usize>> {
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let mut d: Vec<(f32, usize)> = (0..n).filter(|&j| j != i).map(|j| (distance(i, j), j)).collect();
            let k = k.min(d.len());
            if k > 0 && k < d.len() {
                d.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0));
            }
            d.truncate(k);
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            d.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

fn squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The mean fraction of each point's `k` nearest neighbours on the map that share its label.
pub fn knn_purity(points: &[[f32; 2]], labels: &[i32], k: usize) -> f64 {
    let n = points.len().min(labels.len());
    if n < 2 {
        return 0.0;
    }
    let near = neighbours(n, k, |i, j| squared(&points[i], &points[j]));
    near.iter()
        .enumerate()
        .map(|(i, js)| js.iter().filter(|&&j| labels[j] == labels[i]).count() as f64 / js.len().max(1) as f64)
        .sum::<f64>()
        / n as f64
}

/// The mean fraction of each point's `k` nearest neighbours in the embedding that are also among
/// its `k` nearest on the map: how much of the local structure the map keeps.
pub fn neighbourhood_kept(m: &Matrix, points: &[[f32; 2]], k: usize) -> f64 {
    let n = m.rows.min(points.len());
    if n < 2 {
        return 0.0;
    }
    let high = neighbours(n, k, |i, j| squared(m.row(i), m.row(j)));
    let low = neighbours(n, k, |i, j| squared(&points[i], &points[j]));
    high.iter()
        .zip(&low)
        .map(|(h, l)| h.iter().filter(|j| l.contains(j)).count() as f64 / h.len().max(1) as f64)
        .sum::<f64>()
        / n as f64
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// `clusters` Gaussian clusters of `per` points in `dims` dimensions, centres 10 σ apart.
    fn clusters(clusters: usize, per: usize, dims: usize, seed: u64) -> (Matrix, Vec<i32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let normal = |rng: &mut ChaCha8Rng| {
            // Box-Muller: enough for a test's clusters.
            let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        };
        let centres: Vec<Vec<f32>> =
            (0..clusters).map(|_| (0..dims).map(|_| 10.0 * normal(&mut rng)).collect()).collect();
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for (c, centre) in centres.iter().enumerate() {
            for _ in 0..per {
                rows.push(centre.iter().map(|&x| x + normal(&mut rng)).collect::<Vec<f32>>());
                labels.push(c as i32);
            }
        }
        (Matrix::from_rows(&rows), labels)
    }

    #[test]
    fn pca_finds_the_axis_of_largest_variance() {
        // Points along (3, 4, 0)/5 with a little spread across it: the first axis is that line.
        let rows: Vec<Vec<f32>> =
            (0..51).map(|i| i as f32 - 25.0).map(|t| vec![0.6 * t, 0.8 * t + 0.01 * (t % 3.0), 0.0]).collect();
        let p = pca(&Matrix::from_rows(&rows));
        for (i, q) in p.iter().enumerate() {
            let t = i as f32 - 25.0;
            assert!((q[0].abs() - t.abs()).abs() < 0.05, "{q:?} at {t}");
            assert!(q[1].abs() < 0.05);
        }
    }

    #[test]
    fn maps_keep_gaussian_clusters_and_a_shuffled_control_gives_chance() {
        let (m, labels) = clusters(5, 60, 32, 1);
        for (name, map) in [("pca", pca(&m)), ("tsne", tsne(&m, &|_, _| {}))] {
            let purity = knn_purity(&map, &labels, 10);
            assert!(purity > 0.9, "{name}: k-NN purity {purity}");
            let mut shuffled = labels.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.random_range(0..=i));
            }
            let control = knn_purity(&map, &shuffled, 10);
            assert!((control - 0.2).abs() < 0.06, "{name}: shuffled purity {control}, chance 0.2");
        }
        let kept = neighbourhood_kept(&m, &tsne(&m, &|_, _| {}), 10);
        assert!(kept > 0.3, "t-SNE keeps {kept} of the 10 nearest neighbours");
    }

    #[test]
    fn tiny_and_empty_inputs_give_a_map_of_their_size() {
        assert!(pca(&Matrix::default()).is_empty());
        let (m, _) = clusters(1, 3, 4, 3);
        assert_eq!(tsne(&m, &|_, _| {}).len(), 3);
    }
}
