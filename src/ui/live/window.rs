//! What part of the live history the views show: the newest `span` seconds while following, or
//! a frozen stretch that the user scrolls back through; and the stretch selected for keeping.

/// Shortest and longest visible stretch, seconds.
pub const SPAN_SECS: (f64, f64) = (1.0, 60.0);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveWindow {
    pub span_secs: f64,
    /// Right edge while frozen; None while following the stream.
    pub frozen_at: Option<f64>,
    /// The stretch to keep as a clip, if one is selected.
    pub selection: Option<[f64; 2]>,
    pub stft_hz: [f64; 2],
    pub cqt_bins: [f64; 2],
    pub amplitude: f32,
}

impl Default for LiveWindow {
    fn default() -> Self {
        Self {
            span_secs: 8.0,
            frozen_at: None,
            selection: None,
            stft_hz: [0.0, 8000.0],
            cqt_bins: [0.0, 761.0],
            amplitude: 1.0,
        }
    }
}

impl LiveWindow {
    /// The visible seconds of stream time, given the newest second heard and the oldest held.
    pub fn time_secs(&self, now_secs: f64, oldest_secs: f64) -> [f64; 2] {
        // Scrolled back, the left edge stops at the oldest second held, unless all that is
        // held fits in the window.
        let earliest =
            if now_secs - oldest_secs >= self.span_secs { oldest_secs + self.span_secs } else { oldest_secs };
        let right = match self.frozen_at {
            None => now_secs,
            Some(t) => t.clamp(earliest, now_secs),
        };
        [right - self.span_secs, right]
    }

    /// Space: freeze at `now_secs`, or follow again.
    pub fn toggle_freeze(&mut self, now_secs: f64) {
        self.frozen_at = match self.frozen_at {
            None => Some(now_secs),
            Some(_) => None,
        };
    }

    /// Moves the view back (negative) or forward in time; freezes it. Scrolling forward past
    /// the newest second follows the stream again.
    pub fn scroll(&mut self, delta_secs: f64, now_secs: f64, oldest_secs: f64) {
        let [_, right] = self.time_secs(now_secs, oldest_secs);
        let target = right + delta_secs;
        self.frozen_at = if target >= now_secs { None } else { Some(target) };
    }

    /// Zooms time by `factor` (below 1: closer), within [`SPAN_SECS`].
    pub fn zoom(&mut self, factor: f64) {
        self.span_secs = (self.span_secs * factor).clamp(SPAN_SECS.0, SPAN_SECS.1);
    }

    /// The stretch "keep as clip" keeps: the selection, or what is visible.
    pub fn keep_range(&self, now_secs: f64, oldest_secs: f64) -> [f64; 2] {
        let [lo, hi] = self.selection.unwrap_or_else(|| self.time_secs(now_secs, oldest_secs));
        [lo.max(oldest_secs).max(0.0), hi.min(now_secs)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_freezes_scrolls_back_and_follows_again() {
        let mut w = LiveWindow::default();
        assert_eq!(w.time_secs(30.0, 0.0), [22.0, 30.0]);
        w.toggle_freeze(30.0);
        // Frozen: the stream goes on, the view stays.
        assert_eq!(w.time_secs(31.0, 0.0), [22.0, 30.0]);
        w.scroll(-5.0, 31.0, 0.0);
        assert_eq!(w.time_secs(31.0, 0.0), [17.0, 25.0]);
        // Not before the oldest second held.
        w.scroll(-100.0, 31.0, 10.0);
        assert_eq!(w.time_secs(31.0, 10.0), [10.0, 18.0]);
        // Past the newest: following again.
        w.scroll(100.0, 31.0, 10.0);
        assert_eq!(w.frozen_at, None);
        assert_eq!(w.time_secs(32.0, 10.0), [24.0, 32.0]);
        // While less than the window is held, a frozen view stays where it was frozen.
        let mut early = LiveWindow::default();
        early.toggle_freeze(1.5);
        assert_eq!(early.time_secs(3.0, 0.0), [-6.5, 1.5]);
        w.zoom(100.0);
        assert_eq!(w.span_secs, SPAN_SECS.1);
        w.zoom(1e-3);
        assert_eq!(w.span_secs, SPAN_SECS.0);
    }

    #[test]
    fn keeps_the_selection_or_what_is_visible_within_what_is_held() {
        let mut w = LiveWindow::default();
        assert_eq!(w.keep_range(5.0, 0.0), [0.0, 5.0]);
        w.selection = Some([3.0, 40.0]);
        assert_eq!(w.keep_range(20.0, 4.0), [4.0, 20.0]);
    }
}
