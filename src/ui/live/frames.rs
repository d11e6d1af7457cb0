//! How the window measures Live mode: frame intervals and the time from a block's arrival to the
//! frame that shows it, and what `live --stats` writes when the window closes.

use std::time::Instant;

use crate::live::LiveReport;
use crate::live::stats::{Latencies, LatencySummary};

/// How long a window's frame timings are kept for the read-out.
const RECENT_FRAMES: usize = 240;

/// Frame timing as the window measures it.
#[derive(Default)]
pub struct FrameTimes {
    last: Option<Instant>,
    /// Between consecutive frames, ms.
    pub intervals: Latencies,
    /// The newest block uploaded, from its arrival to the next frame starting (the frame that
    /// showed it has then been drawn), ms.
    pub block_to_pixel: Latencies,
    /// When the newest block uploaded arrived, until the next frame.
    pub pending: Option<Instant>,
    recent: std::collections::VecDeque<f64>,
}

impl FrameTimes {
    pub fn tick(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let ms = now.duration_since(last).as_secs_f64() * 1e3;
            self.intervals.push(ms);
            self.recent.push_back(ms);
            if self.recent.len() > RECENT_FRAMES {
                self.recent.pop_front();
            }
        }
        self.last = Some(now);
        if let Some(arrived) = self.pending.take() {
            self.block_to_pixel.push(now.duration_since(arrived).as_secs_f64() * 1e3);
        }
    }

    /// Frames per second over the recent frames (median interval).
    pub fn fps(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.recent.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).map(|ms| 1e3 / ms.max(1e-3))
    }
}

/// What `--stats` writes when the window closes: the window's timings and the stream's report.
#[derive(serde::Serialize)]
pub struct LiveWindowStats {
    pub frames: u64,
    pub frame_interval: LatencySummary,
    pub fps_median: Option<f64>,
    pub block_to_pixel: LatencySummary,
    pub stream: Option<LiveReport>,
}
