//! Per-bin running sums of dB values, merged across notes and threads into the mean and standard
//! deviation a [`crate::learn::notes::inputs::Standardizer`] is made of.

/// Keeps the standardised value finite for a bin that is constant over the training split.
const MIN_STD: f32 = 1e-3;

/// Per-bin mean and standard deviation.
#[derive(Clone, Debug, PartialEq)]
pub struct BinStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// Running per-bin sums in f64: dB values near 100 squared over thousands of clips lose
/// too much in f32.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Moments {
    pub count: u64,
    pub sum: Vec<f64>,
    pub sum_sq: Vec<f64>,
}

impl Moments {
    pub fn new(bins: usize) -> Self {
        Self { count: 0, sum: vec![0.0; bins], sum_sq: vec![0.0; bins] }
    }

    /// The sums of every frame of `frames` (frame-major, `bins` values each).
    pub fn of(frames: &[f32], bins: usize) -> Self {
        let mut m = Self::new(bins);
        m.add(frames);
        m
    }

    pub fn bins(&self) -> usize {
        self.sum.len()
    }

    /// Adds every frame of `frames` (frame-major, one value per bin).
    pub fn add(&mut self, frames: &[f32]) {
        for frame in frames.chunks_exact(self.sum.len()) {
            self.count += 1;
            for ((s, q), &x) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(frame) {
                let x = f64::from(x);
                *s += x;
                *q += x * x;
            }
        }
    }

    pub fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum.iter_mut().zip(&other.sum).for_each(|(a, b)| *a += b);
        self.sum_sq.iter_mut().zip(&other.sum_sq).for_each(|(a, b)| *a += b);
    }

    /// Per-bin mean and standard deviation (at least `MIN_STD`).
    pub fn finish(&self) -> BinStats {
        let n = self.count.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std =
            self.sum_sq.iter().zip(&mean).map(|(q, m)| ((q / n - m * m).max(0.0).sqrt() as f32).max(MIN_STD)).collect();
        BinStats { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_halves_give_the_statistics_of_the_whole() {
        // Two bins; frames (1, 10), (3, 10), (5, 10): mean (3, 10), population std (sqrt(8/3), MIN_STD).
        let mut first = Moments::new(2);
        first.add(&[1.0, 10.0, 3.0, 10.0]);
        let mut second = Moments::new(2);
        second.add(&[5.0, 10.0]);
        first.merge(&second);
        let stats = first.finish();
        assert_eq!(stats.mean, vec![3.0, 10.0]);
        assert!((stats.std[0] - (8.0f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(stats.std[1], MIN_STD);
    }
}
