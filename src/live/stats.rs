//! What a live stream measures about itself: blocks and drops, latencies, and CPU use.

use std::collections::VecDeque;
use std::time::Instant;

use serde::Serialize;

/// Values kept for percentiles: the most recent ones.
const KEPT: usize = 20_000;

/// A bounded record of latencies in ms: count and maximum over all, percentiles over the most
/// recent 20,000.
#[derive(Default)]
pub struct Latencies {
    recent: VecDeque<f64>,
    count: u64,
    max: f64,
}

impl Latencies {
    pub fn push(&mut self, ms: f64) {
        self.count += 1;
        self.max = self.max.max(ms);
        self.recent.push_back(ms);
        if self.recent.len() > KEPT {
            self.recent.pop_front();
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The q-quantile (nearest rank) of the recent values; None before any.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles([q])[0]
    }

    /// Several quantiles from one copy of the recent values, each found by selection (linear
    /// time) rather than by sorting them: the window asks twice a second.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        if self.recent.is_empty() {
            return [None; N];
        }
        let mut v: Vec<f64> = self.recent.iter().copied().collect();
        let n = v.len();
        qs.map(|q| {
            let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
            Some(*v.select_nth_unstable_by(rank - 1, f64::total_cmp).1)
        })
    }

    pub fn summary(&self) -> LatencySummary {
        let [median_ms, p95_ms] = self.quantiles([0.5, 0.95]);
        LatencySummary { count: self.count, median_ms, p95_ms, max_ms: (self.count > 0).then_some(self.max) }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// A stream's counters, kept in its shared state.
pub struct LiveStats {
    /// Blocks the source delivered (a file's 16-ms blocks; a device's, counted in 16-ms units).
    pub blocks: u64,
    pub dropped_blocks: u64,
    /// Hops whose window was not predicted because the last prediction was still running.
    pub skipped_predictions: u64,
    /// From a block's arrival to its columns in the views a reader sees.
    pub block_latency: Latencies,
    /// From a hop's last block arriving to its prediction.
    pub prediction_latency: Latencies,
    /// Wall time the analysis thread spent computing.
    pub analysis_ms: f64,
    started: Instant,
    cpu_at_start: Option<f64>,
}

impl LiveStats {
    pub fn new() -> Self {
        Self {
            blocks: 0,
            dropped_blocks: 0,
            skipped_predictions: 0,
            block_latency: Latencies::default(),
            prediction_latency: Latencies::default(),
            analysis_ms: 0.0,
            started: Instant::now(),
            cpu_at_start: crate::platform::process_cpu_secs(),
        }
    }

    /// The process's CPU use since the stream started, in percent of one core.
    pub fn cpu_percent(&self) -> Option<f64> {
        let wall = self.started.elapsed().as_secs_f64();
        let used = crate::platform::process_cpu_secs()? - self.cpu_at_start?;
        (wall > 0.0).then(|| 100.0 * used / wall)
    }

    pub fn report(&self, stream_secs: f64) -> LiveReport {
        let wall = self.started.elapsed().as_secs_f64();
        LiveReport {
            stream_secs,
            wall_secs: wall,
            blocks: self.blocks,
            dropped_blocks: self.dropped_blocks,
            skipped_predictions: self.skipped_predictions,
            block_to_columns: self.block_latency.summary(),
            prediction: self.prediction_latency.summary(),
            analysis_percent: if wall > 0.0 { 100.0 * self.analysis_ms / 1e3 / wall } else { 0.0 },
            cpu_percent: self.cpu_percent(),
        }
    }
}

impl Default for LiveStats {
    fn default() -> Self {
        Self::new()
    }
}

/// What `timbrescope live --headless` writes.
#[derive(Clone, Debug, Serialize)]
pub struct LiveReport {
    pub stream_secs: f64,
    pub wall_secs: f64,
    pub blocks: u64,
    pub dropped_blocks: u64,
    pub skipped_predictions: u64,
    /// Block arrival to its STFT, CQT and envelope columns in the views a reader sees.
    pub block_to_columns: LatencySummary,
    /// A hop's last block arriving to its prediction.
    pub prediction: LatencySummary,
    /// The analysis thread's busy time, in percent of wall time.
    pub analysis_percent: f64,
    /// The whole process's CPU time, in percent of one core.
    pub cpu_percent: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selected_quantiles_are_the_sorted_ones() {
        // Against the slow oracle: sort, take the nearest rank.
        let mut l = Latencies::default();
        let values: Vec<f64> = (0..1001).map(|i| ((i * 7919) % 1009) as f64 * 0.5).collect();
        values.iter().for_each(|&v| l.push(v));
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let qs = [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 1.0];
        for (q, got) in qs.iter().zip(l.quantiles(qs)) {
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            assert_eq!(got, Some(sorted[rank - 1]), "q {q}");
        }
    }

    #[test]
    fn quantiles_by_nearest_rank_over_the_recent_values() {
        let mut l = Latencies::default();
        assert_eq!(l.quantile(0.5), None);
        for ms in [5.0, 1.0, 4.0, 2.0, 3.0] {
            l.push(ms);
        }
        assert_eq!(l.quantile(0.5), Some(3.0));
        assert_eq!(l.quantile(0.95), Some(5.0));
        assert_eq!(l.quantile(0.0), Some(1.0));
        for _ in 0..KEPT {
            l.push(1.0);
        }
        // The early 5 ms left the recent window but stays the maximum.
        assert_eq!(
            l.summary(),
            LatencySummary { count: KEPT as u64 + 5, median_ms: Some(1.0), p95_ms: Some(1.0), max_ms: Some(5.0) }
        );
    }
}
