//! The library-leak probe: a linear classifier, cross-validated, that predicts each note's sample
//! library from the model's embedding of it. A model that learnt instruments rather than
//! recordings leaves little to find, and the probe scores near chance; one that tells the
//! libraries apart has learnt their recordings.

use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Folds of the cross-validation: each note is predicted by a probe that never saw it.
pub const FOLDS: usize = 5;
/// Full-batch gradient steps of the softmax regression, and their step size on standardised
/// features; enough for separable classes to reach 100% on held-out folds (tested below).
const STEPS: usize = 300;
const STEP_SIZE: f32 = 0.5;
/// L2 penalty: keeps the weights finite when the classes are separable.
const L2: f32 = 1e-3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// Libraries in label order, and notes of each.
    pub libraries: Vec<String>,
    pub notes_per_library: Vec<usize>,
    /// Held-out accuracy over all notes, and the same averaged per library.
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    /// Always answering the commonest library; 1 / libraries for the balanced accuracy.
    pub chance: f64,
    pub balanced_chance: f64,
    pub folds: usize,
}

impl ProbeReport {
    /// Accuracy over chance: 1 means the embeddings tell nothing of the library.
    pub fn over_chance(&self) -> f64 {
        self.accuracy / self.chance.max(f64::MIN_POSITIVE)
    }
}

/// Cross-validated probe accuracy; None when fewer than two libraries have two notes or more
/// (a note's probe must have seen its library).
pub fn library_probe(embeddings: &[Vec<f32>], libraries: &[String], seed: u64) -> Option<ProbeReport> {
    let mut names: Vec<String> = libraries.to_vec();
    names.sort();
    names.dedup();
    let labels: Vec<usize> = libraries.iter().map(|l| names.binary_search(l).expect("listed")).collect();
    let k = names.len();
    let mut counts = vec![0usize; k];
    labels.iter().for_each(|&c| counts[c] += 1);
    if k < 2 || counts.iter().filter(|&&c| c >= 2).count() < 2 || embeddings.is_empty() {
        return None;
    }
    // Stratified folds: each library's notes shuffled and dealt round the folds.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0usize; labels.len()];
    for c in 0..k {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        idx.shuffle(&mut rng);
        for (j, i) in idx.into_iter().enumerate() {
            fold[i] = j % FOLDS;
        }
    }
    let mut predicted = vec![0usize; labels.len()];
    let per_fold: Vec<Vec<(usize, usize)>> = (0..FOLDS)
        .into_par_iter()
        .map(|f| {
            let train: Vec<usize> = (0..labels.len()).filter(|&i| fold[i] != f).collect();
            let probe = Softmax::fit(embeddings, &labels, &train, k);
            (0..labels.len()).filter(|&i| fold[i] == f).map(|i| (i, probe.predict(&embeddings[i]))).collect()
        })
        .collect();
    for (i, p) in per_fold.into_iter().flatten() {
        predicted[i] = p;
    }
    let n = labels.len() as f64;
    let correct = labels.iter().zip(&predicted).filter(|(a, b)| a == b).count() as f64;
    let per_class: Vec<f64> = (0..k)
        .filter(|&c| counts[c] > 0)
        .map(|c| {
            let hit = (0..labels.len()).filter(|&i| labels[i] == c && predicted[i] == c).count();
            hit as f64 / counts[c] as f64
        })
        .collect();
    let present = per_class.len() as f64;
    Some(ProbeReport {
        libraries: names,
        notes_per_library: counts.clone(),
        accuracy: correct / n,
        balanced_accuracy: per_class.iter().sum::<f64>() / present,
        chance: *counts.iter().max().expect("two or more") as f64 / n,
        balanced_chance: 1.0 / present,
        folds: FOLDS,
    })
}

/// Softmax regression on features standardised with the training fold's statistics.
struct Softmax {
    mean: Vec<f32>,
    scale: Vec<f32>,
    /// `[classes][dims + 1]`, the bias last.
    weights: Vec<Vec<f32>>,
}

impl Softmax {
    fn fit(x: &[Vec<f32>], labels: &[usize], rows: &[usize], classes: usize) -> Self {
        let dims = x[0].len();
        let n = rows.len().max(1) as f32;
        let mut mean = vec![0.0f32; dims];
        for &i in rows {
            mean.iter_mut().zip(&x[i]).for_each(|(m, v)| *m += v / n);
        }
        let mut var = vec![0.0f32; dims];
        for &i in rows {
            var.iter_mut().zip(x[i].iter().zip(&mean)).for_each(|(s, (v, m))| *s += (v - m).powi(2) / n);
        }
        // A constant feature carries nothing; a unit scale keeps it from dividing by zero.
        let scale: Vec<f32> = var.iter().map(|v| if *v > 1e-12 { 1.0 / v.sqrt() } else { 1.0 }).collect();
        let z: Vec<Vec<f32>> = rows
            .iter()
            .map(|&i| x[i].iter().zip(&mean).zip(&scale).map(|((v, m), s)| (v - m) * s).chain([1.0]).collect())
            .collect();
        let mut w = vec![vec![0.0f32; dims + 1]; classes];
        let mut grad = vec![vec![0.0f32; dims + 1]; classes];
        let mut p = vec![0.0f32; classes];
        for _ in 0..STEPS {
            grad.iter_mut().for_each(|g| g.iter_mut().for_each(|v| *v = 0.0));
            for (row, &i) in z.iter().zip(rows) {
                softmax_into(&w, row, &mut p);
                for (c, g) in grad.iter_mut().enumerate() {
                    let e = p[c] - if labels[i] == c { 1.0 } else { 0.0 };
                    g.iter_mut().zip(row).for_each(|(g, v)| *g += e * v);
                }
            }
            for (wc, gc) in w.iter_mut().zip(&grad) {
                let dims = wc.len() - 1;
                for (j, (wv, gv)) in wc.iter_mut().zip(gc).enumerate() {
                    let decay = if j < dims { L2 * *wv } else { 0.0 };
                    *wv -= STEP_SIZE * (gv / n + decay);
                }
            }
        }
        Self { mean, scale, weights: w }
    }

    fn predict(&self, x: &[f32]) -> usize {
        let row: Vec<f32> =
            x.iter().zip(&self.mean).zip(&self.scale).map(|((v, m), s)| (v - m) * s).chain([1.0]).collect();
        let scores: Vec<f32> = self.weights.iter().map(|w| dot(w, &row)).collect();
        crate::learn::scoring::vote::argmax(&scores)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax_into(w: &[Vec<f32>], row: &[f32], p: &mut [f32]) {
    for (pc, wc) in p.iter_mut().zip(w) {
        *pc = dot(wc, row);
    }
    let max = p.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    let mut sum = 0.0;
    p.iter_mut().for_each(|v| {
        *v = (*v - max).exp();
        sum += *v;
    });
    p.iter_mut().for_each(|v| *v /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;
    use rand_distr::{Distribution as _, Normal};

    /// `per` notes of each of three libraries in 32 dimensions; each library's notes sit around
    /// their own centre `spread` apart in a few dimensions, with unit noise everywhere.
    fn embeddings(per: usize, spread: f32, seed: u64) -> (Vec<Vec<f32>>, Vec<String>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0f32, 1.0).unwrap();
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..3 {
            for _ in 0..per {
                let mut v: Vec<f32> = (0..32).map(|_| noise.sample(&mut rng)).collect();
                v[c] += spread;
                v[5 + c] -= spread;
                x.push(v);
                y.push(format!("lib{c}"));
            }
        }
        // Unequal libraries, so the majority share is not one third.
        x.truncate(x.len() - per / 2);
        y.truncate(y.len() - per / 2);
        (x, y)
    }

    #[test]
    fn separable_libraries_are_found() {
        let (x, y) = embeddings(60, 8.0, 1);
        let r = library_probe(&x, &y, 3).unwrap();
        assert!(r.accuracy > 0.98 && r.balanced_accuracy > 0.98, "{r:?}");
        assert_eq!(r.notes_per_library, vec![60, 60, 30]);
        assert!((r.chance - 0.4).abs() < 1e-9 && (r.balanced_chance - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn shuffled_libraries_score_chance() {
        let (x, mut y) = embeddings(100, 8.0, 2);
        y.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(9));
        let r = library_probe(&x, &y, 3).unwrap();
        // 250 notes: the standard error of a chance-level balanced accuracy is about 0.03.
        assert!((r.balanced_accuracy - r.balanced_chance).abs() < 0.1, "{r:?}");
        assert!(r.over_chance() < 1.15, "{r:?}");
    }

    #[test]
    fn one_library_has_nothing_to_probe() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let x: Vec<Vec<f32>> = (0..20).map(|_| vec![rng.random::<f32>(); 4]).collect();
        assert!(library_probe(&x, &vec!["only".to_string(); 20], 0).is_none());
    }
}
