//! Schedules over training steps: the 1cycle learning rate and the annealed temperature.

use std::f64::consts::PI;

/// Fraction of the steps spent warming up, and PyTorch OneCycleLR's default divisors.
pub const PCT_START: f64 = 0.3;
pub const DIV_FACTOR: f64 = 25.0;
pub const FINAL_DIV_FACTOR: f64 = 1e4;

/// Cosine from `from` (at fraction 0) to `to` (at fraction 1).
fn cosine(from: f64, to: f64, fraction: f64) -> f64 {
    to + (from - to) * 0.5 * (1.0 + (PI * fraction.clamp(0.0, 1.0)).cos())
}

/// Smith's 1cycle with cosine phases, as PyTorch's `OneCycleLR(anneal_strategy="cos")`: from
/// `max_lr / 25` up to `max_lr` over the first 30% of the steps, then down to `max_lr / 25e4`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneCycle {
    pub max_lr: f64,
    pub total_steps: usize,
}

impl OneCycle {
    pub fn lr(&self, step: usize) -> f64 {
        let initial = self.max_lr / DIV_FACTOR;
        let last = initial / FINAL_DIV_FACTOR;
        // PyTorch's phase ends: step (pct_start * total - 1) is the peak, (total - 1) the end.
        let peak = (PCT_START * self.total_steps as f64 - 1.0).max(1.0);
        let end = (self.total_steps as f64 - 1.0).max(peak + 1.0);
        let s = step as f64;
        if s <= peak {
            cosine(initial, self.max_lr, s / peak)
        } else {
            cosine(self.max_lr, last, (s - peak) / (end - peak))
        }
    }
}

/// The NT-Xent temperature: a cosine from `start` at step 0 to `end` at the last step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Temperature {
    pub start: f64,
    pub end: f64,
    pub total_steps: usize,
}

impl Temperature {
    pub fn at(&self, step: usize) -> f64 {
        let last = self.total_steps.saturating_sub(1).max(1) as f64;
        cosine(self.start, self.end, step as f64 / last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_matches_its_formula() {
        let s = OneCycle { max_lr: 0.01, total_steps: 1000 };
        // Endpoints and the peak: initial = max/25, peak at step 299, final = initial/1e4.
        assert!((s.lr(0) - 0.01 / 25.0).abs() < 1e-15);
        assert!((s.lr(299) - 0.01).abs() < 1e-15);
        assert!((s.lr(999) - 0.01 / 25.0 / 1e4).abs() < 1e-15);
        // Inside each phase: the cosine between its ends (PyTorch's _annealing_cos).
        let up = 0.0004 + (0.01 - 0.0004) * 0.5 * (1.0 - (PI * 100.0 / 299.0).cos());
        let down = 4e-8 + (0.01 - 4e-8) * 0.5 * (1.0 + (PI * 351.0 / 700.0).cos());
        assert!((s.lr(100) - up).abs() < 1e-15, "{}", s.lr(100));
        assert!((s.lr(650) - down).abs() < 1e-15, "{}", s.lr(650));
        // Rises to the peak, falls after it.
        assert!((1..300).all(|i| s.lr(i) > s.lr(i - 1)) && (300..1000).all(|i| s.lr(i) < s.lr(i - 1)));
    }

    #[test]
    fn temperature_anneals_from_start_to_end() {
        let t = Temperature { start: 0.5, end: 0.1, total_steps: 101 };
        assert!((t.at(0) - 0.5).abs() < 1e-12);
        assert!((t.at(50) - 0.3).abs() < 1e-12);
        assert!((t.at(100) - 0.1).abs() < 1e-12);
        assert!((1..=100).all(|i| t.at(i) < t.at(i - 1)));
    }
}
