//! The views of a stream, column by column as it arrives: the STFT's columns once their window
//! is complete, the CQT's at once but provisional (the future read as silence) and made exact
//! as it arrives, and the waveform's min/max envelope.
//!
//! The CQT's lowest bin hears 4.2 s (Q ≈ 138 at 96 bins per octave), so waiting for exact
//! columns would hold the view 2.1 s behind. Instead every refresh recomputes a fixed-length
//! tail, always the same length so one transform plan serves every refresh: its newest columns
//! are provisional, those a half-kernel old are final and never touched again. High bins, with
//! short kernels, are right from the first refresh; low bins settle as their kernel fills.

use crate::dsp::cqt::{Cqt, CqtConfig};
use crate::dsp::stft::{Stft, StftConfig};
use crate::dsp::{DspError, Scale};

use super::ring::{ColumnRing, SampleRing};
use super::views::{LiveViews, ViewUpdate};

/// Samples per envelope column: fine enough for a 2-s window on a wide screen.
pub const ENVELOPE_BLOCK: usize = 32;
/// Hops between CQT refreshes (96 ms at the default hop).
const CQT_REFRESH_HOPS: usize = 6;

/// The history a stream keeps and how its views are computed.
#[derive(Clone, Copy, Debug)]
pub struct LiveConfig {
    /// Seconds of samples and columns kept for scrolling back and keeping as a clip.
    pub history_secs: f64,
    pub stft: StftConfig,
    pub cqt: CqtConfig,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self { history_secs: 120.0, stft: StftConfig::default(), cqt: CqtConfig::default() }
    }
}

/// Computes a stream's views as its samples arrive. It keeps the samples its transforms read;
/// the columns it makes go out in a [`ViewUpdate`] for a reader's [`LiveViews`], so the
/// computing happens away from whatever the reader shares.
pub struct LiveAnalyser {
    pub samples: SampleRing,
    stft_engine: Stft,
    cqt_engine: Cqt,
    hop: usize,
    /// Columns (per view) and envelope columns the readers' rings hold.
    columns: usize,
    envelope_columns: usize,
    /// The next STFT column to compute.
    stft_next: u64,
    /// One past the newest CQT column written.
    cqt_end: u64,
    /// The first CQT column not yet final.
    cqt_final: u64,
    /// The newest hop the CQT was refreshed up to.
    cqt_refreshed: u64,
    /// What was computed since the last [`LiveAnalyser::take_update`].
    update: ViewUpdate,
}

impl LiveAnalyser {
    pub fn new(config: LiveConfig) -> Result<Self, DspError> {
        if config.stft.hop_len != config.cqt.hop_len || config.stft.sample_rate_hz != config.cqt.sample_rate_hz {
            return Err(DspError::Parameter {
                name: "hop_len",
                message: "the live STFT and CQT must share their hop and rate".into(),
            });
        }
        if !(config.history_secs.is_finite() && config.history_secs > 0.0 && config.history_secs <= 3600.0) {
            return Err(DspError::Parameter {
                name: "history_secs",
                message: format!("must be in (0, 3600] seconds, got {}", config.history_secs),
            });
        }
        if !(config.stft.n_fft / 2).is_multiple_of(config.stft.hop_len) {
            return Err(DspError::Parameter {
                name: "n_fft",
                message: "the live STFT needs half its window to be a whole number of hops".into(),
            });
        }
        let stft_engine = Stft::new(config.stft)?;
        let cqt_engine = Cqt::new(config.cqt)?;
        let hop = config.stft.hop_len;
        let samples = (config.history_secs * f64::from(config.stft.sample_rate_hz)).ceil() as usize;
        Ok(Self {
            samples: SampleRing::new(samples),
            stft_engine,
            cqt_engine,
            hop,
            columns: samples.div_ceil(hop) + 1,
            envelope_columns: samples.div_ceil(ENVELOPE_BLOCK),
            stft_next: 0,
            cqt_end: 0,
            cqt_final: 0,
            cqt_refreshed: 0,
            update: ViewUpdate::default(),
        })
    }

    /// Empty views shaped for this analyser's updates.
    pub fn views(&self) -> LiveViews {
        LiveViews::new(
            SampleRing::new(self.samples.capacity()),
            [
                ColumnRing::new(2, self.envelope_columns),
                ColumnRing::new(self.stft_engine.config().bins(), self.columns),
                ColumnRing::new(self.cqt_engine.config().n_bins, self.columns),
            ],
            self.hop,
            self.sample_rate_hz(),
        )
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.stft_engine.config().sample_rate_hz
    }

    /// The first CQT column that may still change.
    pub fn cqt_final(&self) -> u64 {
        self.cqt_final
    }

    /// The samples and columns since the last call, for [`LiveViews::apply`].
    pub fn take_update(&mut self) -> ViewUpdate {
        let mut update = std::mem::take(&mut self.update);
        update.cqt_final = self.cqt_final;
        update
    }

    /// Appends samples (at the analysis rate) and brings every view up to date.
    pub fn push(&mut self, samples: &[f32]) {
        let before = self.samples.end();
        self.samples.push(samples);
        self.update.samples.extend_from_slice(samples);
        self.envelope_from(before);
        self.stft_columns();
        let newest = self.samples.end() / self.hop as u64;
        while newest >= self.cqt_refreshed + CQT_REFRESH_HOPS as u64 {
            // A long push is caught up in steps no longer than one refresh's fixed tail allows.
            let margin = self.cqt_engine.context_hops() as u64;
            let n = newest.min(self.cqt_final + margin + CQT_REFRESH_HOPS as u64);
            self.cqt_columns(n);
        }
    }

    /// Brings the CQT up to the newest sample now rather than at the next refresh (at the end of
    /// a stream, or before a reader needs every column).
    pub fn flush(&mut self) {
        let newest = self.samples.end() / self.hop as u64;
        let margin = self.cqt_engine.context_hops() as u64;
        while self.cqt_refreshed < newest || self.cqt_end <= newest {
            let n = newest.min(self.cqt_final + margin + CQT_REFRESH_HOPS as u64);
            self.cqt_columns(n);
            if n == newest {
                break;
            }
        }
    }

    fn envelope_from(&mut self, before: u64) {
        let block = ENVELOPE_BLOCK as u64;
        let last = self.samples.end() / block;
        // Blocks older than the readers hold, or whose samples have left the ring (a push longer
        // than the history), are not worked out.
        let held = self.samples.start().div_ceil(block);
        let first = (before / block).max(last.saturating_sub(self.envelope_columns as u64)).max(held);
        if last <= first {
            return;
        }
        let samples = self.samples.read((first * block) as i64..(last * block) as i64);
        let values: Vec<f32> = samples
            .chunks(ENVELOPE_BLOCK)
            .flat_map(|c| {
                let (lo, hi) = c.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
                [lo, hi]
            })
            .collect();
        self.update.columns[0].push((first, values));
    }

    /// STFT column j is centred on sample j·hop and complete once n_fft/2 samples follow it.
    fn stft_columns(&mut self) {
        let half = (self.stft_engine.config().n_fft / 2) as u64;
        let hop = self.hop as u64;
        let end = self.samples.end();
        if end < half {
            return;
        }
        let last = (end - half) / hop;
        // Columns older than the readers hold, or whose window has left the ring, are not computed.
        let start = self.samples.start();
        let held = if start == 0 { 0 } else { (start + half).div_ceil(hop) };
        let first = self.stft_next.max((last + 1).saturating_sub(self.columns as u64)).max(held);
        if last < first {
            return;
        }
        // A centred STFT of samples from `first·hop - half` puts column `first` at frame half/hop.
        let start = (first * hop) as i64 - half as i64;
        let signal = self.samples.read(start..(last * hop + half) as i64);
        let spec = self.stft_engine.compute(&signal, Scale::Db);
        let skip = (half / hop) as usize;
        let count = (last - first + 1) as usize;
        let bins = spec.bins;
        self.update.columns[1].push((first, spec.values[skip * bins..(skip + count) * bins].to_vec()));
        self.stft_next = last + 1;
    }

    /// Recomputes CQT columns `cqt_final..=n` from a tail of fixed length ending a hop after n.
    fn cqt_columns(&mut self, n: u64) {
        let margin = self.cqt_engine.context_hops() as u64;
        let hop = self.hop as i64;
        let tail_hops = 2 * margin + CQT_REFRESH_HOPS as u64 + 1;
        // The tail's frame k is column base + k; column n is its last but one.
        let base = n as i64 + 1 - tail_hops as i64;
        let mut signal = self.samples.read(base * hop..(n as i64 + 1) * hop);
        // Beyond the newest sample: silence, as the provisional columns assume.
        signal.resize(tail_hops as usize * self.hop, 0.0);
        let spec = self.cqt_engine.compute(&signal, Scale::Db);
        let held = self.cqt_end.saturating_sub(self.columns as u64);
        let first = self.cqt_final.max(held).max((base + margin as i64).max(0) as u64);
        if first <= n {
            let bins = spec.bins;
            let k0 = (first as i64 - base) as usize;
            let k1 = (n as i64 - base) as usize;
            self.update.columns[2].push((first, spec.values[k0 * bins..(k1 + 1) * bins].to_vec()));
            self.cqt_end = self.cqt_end.max(n + 1);
        }
        self.cqt_final = self.cqt_final.max((n + 1).saturating_sub(margin));
        self.cqt_refreshed = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f64, start_secs: f64, hz: f64) -> Vec<f32> {
        let rate = 16_000.0;
        (0..(secs * rate) as usize)
            .map(|i| {
                let t = i as f64 / rate;
                if t < start_secs { 0.0 } else { (0.5 * (2.0 * std::f64::consts::PI * hz * t).sin()) as f32 }
            })
            .collect()
    }

    /// Pushes in uneven pieces, as a device delivers, and hands the views an update after every
    /// few pieces, as the analysis thread does after each batch of blocks.
    fn stream(signal: &[f32], history_secs: f64) -> (LiveAnalyser, LiveViews) {
        let mut live = LiveAnalyser::new(LiveConfig { history_secs, ..LiveConfig::default() }).unwrap();
        let mut views = live.views();
        let sizes = [160, 441, 1024, 37, 2048, 256, 700];
        let mut at = 0;
        for (k, size) in sizes.iter().cycle().enumerate() {
            if at >= signal.len() {
                break;
            }
            let end = (at + size).min(signal.len());
            live.push(&signal[at..end]);
            at = end;
            if k % 3 == 2 {
                views.apply(live.take_update());
            }
        }
        views.apply(live.take_update());
        (live, views)
    }

    #[test]
    fn streamed_columns_equal_the_whole_clips_transforms() {
        let signal: Vec<f32> =
            tone(6.0, 0.5, 220.0).iter().zip(tone(6.0, 2.0, 1500.0)).map(|(a, b)| a + 0.5 * b).collect();
        let (mut live, mut views) = stream(&signal, 60.0);
        let stft = Stft::new(StftConfig::default()).unwrap().compute(&signal, Scale::Db);
        let cqt = Cqt::new(CqtConfig::default()).unwrap().compute(&signal, Scale::Db);
        // Every STFT column whose window has arrived, as the offline transform has it.
        let stft_end = views.stft.end();
        assert_eq!(stft_end, ((signal.len() - 512) / 256 + 1) as u64);
        for c in 0..stft_end {
            let (a, b) = (views.stft.column(c).unwrap(), stft.frame(c as usize));
            let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-3, "STFT column {c} differs by {worst} dB");
        }
        // Final CQT columns equal the offline ones; once flushed, so do the provisional ones
        // (the offline transform also reads silence after the clip).
        // The CQT's kernels are sparsified on the grid of the transform's length, so a clip's
        // transform depends a little on how long the clip is (the tail here is 4.4 s, the clip 6 s):
        // within 10 dB of the peak they agree to 0.01 dB; down to 25 dB below it, near the
        // onsets, to 0.3 dB (measured: 0.19 dB). A column off by one hop would miss by decibels
        // at the onsets.
        let peak = cqt.values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let check = |views: &LiveViews, range: std::ops::Range<u64>, tolerances: [(f32, f32); 2]| {
            for c in range {
                let (a, b) = (views.cqt.column(c).unwrap(), cqt.frame(c as usize));
                for (below, tolerance) in tolerances {
                    let worst = a
                        .iter()
                        .zip(b)
                        .filter(|(_, y)| **y > peak - below)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0.0f32, f32::max);
                    assert!(worst < tolerance, "CQT column {c} differs by {worst} dB within {below} dB of the peak");
                }
            }
        };
        assert!(views.cqt_final() > 200, "final CQT columns: {}", views.cqt_final());
        assert_eq!(views.cqt_final(), live.cqt_final());
        check(&views, 0..views.cqt_final(), [(10.0, 0.01), (25.0, 0.3)]);
        // The last columns read silence after the end in both, but their kernels' spread wraps
        // into what each buffer holds at its start (the tail: the tones; the clip: silence).
        live.flush();
        views.apply(live.take_update());
        assert_eq!(views.cqt.end(), cqt.frames as u64);
        check(&views, 0..views.cqt.end(), [(10.0, 0.05), (25.0, 1.0)]);
    }

    #[test]
    fn a_tone_appears_in_its_rows_when_it_starts() {
        // 440 Hz from 1.0 s: STFT bin 440·1024/16000 = 28.2, CQT bin 96·log2(440/32.703) = 360.
        let signal = tone(2.5, 1.0, 440.0);
        let (_, live) = stream(&signal, 60.0);
        let argmax = |col: &[f32]| col.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let loud = |col: &[f32]| col.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // Column 62.5 is 1.0 s; a hop's window and a bit on either side.
        for c in [70u64, 100, 140] {
            assert_eq!(argmax(live.stft.column(c).unwrap()), 28, "STFT column {c}");
            assert!(live.cqt.column(c).unwrap()[360] > loud(live.cqt.column(c).unwrap()) - 1.0, "CQT column {c}");
        }
        assert!(loud(live.stft.column(50).unwrap()) < -90.0);
        // The newest CQT columns are provisional but already in the right row.
        let newest = live.cqt.end() - 1;
        assert!(newest >= live.cqt_final());
        assert_eq!(argmax(live.cqt.column(newest - 2).unwrap()), 360);
        // The envelope holds the tone's amplitude once it sounds, and silence before.
        let env = |t: f64| live.envelope.column((t * 16_000.0 / ENVELOPE_BLOCK as f64) as u64).unwrap().to_vec();
        assert_eq!(env(0.5), vec![0.0, 0.0]);
        let [lo, hi] = env(1.5)[..] else { unreachable!() };
        assert!(hi > 0.4 && lo < -0.4, "{lo} {hi}");
    }

    #[test]
    fn history_is_bounded_and_bad_settings_are_named() {
        let (_, live) = stream(&tone(5.0, 0.0, 300.0), 2.0);
        assert_eq!(live.samples.capacity(), 32_000);
        assert!(live.stft.end() - live.stft.start() <= live.stft.capacity() as u64);
        assert_eq!(live.samples.end(), 80_000);
        let bad = LiveAnalyser::new(LiveConfig { history_secs: 0.0, ..LiveConfig::default() });
        assert!(matches!(bad, Err(DspError::Parameter { name: "history_secs", .. })));
        let mut config = LiveConfig::default();
        config.stft.hop_len = 128;
        assert!(matches!(LiveAnalyser::new(config), Err(DspError::Parameter { name: "hop_len", .. })));
    }

    #[test]
    fn one_push_longer_than_the_history_leaves_what_pieces_would() {
        let signal = tone(5.0, 1.0, 300.0);
        let (mut streamed, mut pieces) = stream(&signal, 2.0);
        let mut live = LiveAnalyser::new(LiveConfig { history_secs: 2.0, ..LiveConfig::default() }).unwrap();
        let mut whole = live.views();
        live.push(&signal);
        whole.apply(live.take_update());
        // The CQT refreshes at a pace of its own until flushed.
        for (live, views) in [(&mut live, &mut whole), (&mut streamed, &mut pieces)] {
            live.flush();
            views.apply(live.take_update());
        }
        assert_eq!(whole.samples.read(0..80_000), pieces.samples.read(0..80_000));
        assert_eq!(whole.samples.read(48_000..80_000), signal[48_000..]);
        assert_eq!(whole.cqt.end(), pieces.cqt.end());
        // Columns whose samples have all stayed in the ring: 48,000 on (3 s of the 5 s left it).
        let held =
            [("envelope", &whole.envelope, &pieces.envelope, 48_000 / 32), ("STFT", &whole.stft, &pieces.stft, 190)];
        for (name, a, b, first) in held {
            assert_eq!((a.start(), a.end()), (b.start(), b.end()), "{name}");
            // Before them (the STFT ring holds 126 columns, 5 more than have their window in the 2 s),
            // nothing made up from samples the ring no longer holds.
            for c in a.start()..first {
                assert!(a.column(c).unwrap().iter().all(|v| *v == f32::NEG_INFINITY), "{name} column {c}");
            }
            for c in first..a.end() {
                let (x, y) = (a.column(c).unwrap(), b.column(c).unwrap());
                let worst = x.iter().zip(y).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
                assert!(worst < 1e-4, "{name} column {c} differs by {worst}");
            }
        }
    }
}
