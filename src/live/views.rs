//! What a reader holds of a stream: the history of its samples and view columns, brought up to
//! date by the analyser's updates. Applying one only copies, so the lock a window shares with
//! the analysis thread is held for copies, not for transforms.

use super::ring::{ColumnRing, SampleRing};

/// Samples and columns computed since the last update: columns may rewrite ones already sent
/// (provisional CQT columns made final).
#[derive(Default)]
pub struct ViewUpdate {
    pub(super) samples: Vec<f32>,
    /// Per view (envelope, STFT, CQT): runs of columns, each from its first column's index.
    pub(super) columns: [Vec<(u64, Vec<f32>)>; 3],
    pub(super) cqt_final: u64,
}

/// The stream's history as a reader sees it.
pub struct LiveViews {
    pub samples: SampleRing,
    /// Min and max of each [`super::ENVELOPE_BLOCK`] samples.
    pub envelope: ColumnRing,
    /// STFT columns in dB, one per hop, each written once its window is complete.
    pub stft: ColumnRing,
    /// CQT columns in dB, one per hop; those from [`LiveViews::cqt_final`] on are provisional.
    pub cqt: ColumnRing,
    cqt_final: u64,
    hop: usize,
    sample_rate_hz: u32,
}

impl LiveViews {
    pub(super) fn new(samples: SampleRing, [envelope, stft, cqt]: [ColumnRing; 3], hop: usize, rate: u32) -> Self {
        Self { samples, envelope, stft, cqt, cqt_final: 0, hop, sample_rate_hz: rate }
    }

    pub fn apply(&mut self, update: ViewUpdate) {
        self.samples.push(&update.samples);
        let [envelope, stft, cqt] = update.columns;
        for (ring, runs) in [(&mut self.envelope, envelope), (&mut self.stft, stft), (&mut self.cqt, cqt)] {
            for (first, values) in runs {
                ring.write(first, &values);
            }
        }
        self.cqt_final = self.cqt_final.max(update.cqt_final);
    }

    pub fn hop(&self) -> usize {
        self.hop
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.sample_rate_hz
    }

    /// The first CQT column that may still change.
    pub fn cqt_final(&self) -> u64 {
        self.cqt_final
    }
}
