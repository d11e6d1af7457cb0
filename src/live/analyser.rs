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

/// The stream's samples and views, updated by [`LiveAnalyser::push`].
pub struct LiveAnalyser {
    pub samples: SampleRing,
    /// STFT columns in dB, one per hop, each written once its window is complete.
    pub stft: ColumnRing,
    /// CQT columns in dB, one per hop; those from [`LiveAnalyser::cqt_final`] on are provisional.
    pub cqt: ColumnRing,
    /// Min and max of each [`ENVELOPE_BLOCK`] samples.
    pub envelope: ColumnRing,
    stft_engine: Stft,
    cqt_engine: Cqt,
    hop: usize,
    /// The next STFT column to compute.
    stft_next: u64,
    /// The first CQT column not yet final.
    cqt_final: u64,
    /// The newest hop the CQT was refreshed up to.
    cqt_refreshed: u64,
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
        let columns = samples.div_ceil(hop) + 1;
        Ok(Self {
            samples: SampleRing::new(samples),
            stft: ColumnRing::new(config.stft.bins(), columns),
            cqt: ColumnRing::new(config.cqt.n_bins, columns),
            envelope: ColumnRing::new(2, samples.div_ceil(ENVELOPE_BLOCK)),
            stft_engine,
            cqt_engine,
            hop,
            stft_next: 0,
            cqt_final: 0,
            cqt_refreshed: 0,
        })
    }

    pub fn hop(&self) -> usize {
        self.hop
    }

    pub fn sample_rate_hz(&self) -> u32 {
        self.stft_engine.config().sample_rate_hz
    }

    /// The first CQT column that may still change.
    pub fn cqt_final(&self) -> u64 {
        self.cqt_final
    }

    /// Appends samples (at the analysis rate) and brings every view up to date.
    pub fn push(&mut self, samples: &[f32]) {
        let before = self.samples.end();
        self.samples.push(samples);
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
        while self.cqt_refreshed < newest || self.cqt.end() <= newest {
            let n = newest.min(self.cqt_final + margin + CQT_REFRESH_HOPS as u64);
            self.cqt_columns(n);
            if n == newest {
                break;
            }
        }
    }

    fn envelope_from(&mut self, before: u64) {
        let block = ENVELOPE_BLOCK as u64;
        let first = before / block;
        let last = self.samples.end() / block;
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
        self.envelope.write(first, &values);
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
        let first = self.stft_next.max(self.stft.start());
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
        self.stft.write(first, &spec.values[skip * bins..(skip + count) * bins]);
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
        let first = self.cqt_final.max(self.cqt.start()).max((base + margin as i64).max(0) as u64);
        if first <= n {
            let bins = spec.bins;
            let k0 = (first as i64 - base) as usize;
            let k1 = (n as i64 - base) as usize;
            self.cqt.write(first, &spec.values[k0 * bins..(k1 + 1) * bins]);
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

    /// Pushes in uneven pieces, as a device delivers.
    fn stream(signal: &[f32], history_secs: f64) -> LiveAnalyser {
        let mut live = LiveAnalyser::new(LiveConfig { history_secs, ..LiveConfig::default() }).unwrap();
        let sizes = [160, 441, 1024, 37, 2048, 256];
        let mut at = 0;
        for size in sizes.iter().cycle() {
            if at >= signal.len() {
                break;
            }
            let end = (at + size).min(signal.len());
            live.push(&signal[at..end]);
            at = end;
        }
        live
    }

    #[test]
    fn streamed_columns_equal_the_whole_clips_transforms() {
        let signal: Vec<f32> =
            tone(6.0, 0.5, 220.0).iter().zip(tone(6.0, 2.0, 1500.0)).map(|(a, b)| a + 0.5 * b).collect();
        let mut live = stream(&signal, 60.0);
        let stft = Stft::new(StftConfig::default()).unwrap().compute(&signal, Scale::Db);
        let cqt = Cqt::new(CqtConfig::default()).unwrap().compute(&signal, Scale::Db);
        // Every STFT column whose window has arrived, as the offline transform has it.
        let stft_end = live.stft.end();
        assert_eq!(stft_end, ((signal.len() - 512) / 256 + 1) as u64);
        for c in 0..stft_end {
            let (a, b) = (live.stft.column(c).unwrap(), stft.frame(c as usize));
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
        let check = |live: &LiveAnalyser, range: std::ops::Range<u64>, tolerances: [(f32, f32); 2]| {
            for c in range {
                let (a, b) = (live.cqt.column(c).unwrap(), cqt.frame(c as usize));
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
        assert!(live.cqt_final() > 200, "final CQT columns: {}", live.cqt_final());
        check(&live, 0..live.cqt_final(), [(10.0, 0.01), (25.0, 0.3)]);
        // The last columns read silence after the end in both, but their kernels' spread wraps
        // into what each buffer holds at its start (the tail: the tones; the clip: silence).
        live.flush();
        assert_eq!(live.cqt.end(), cqt.frames as u64);
        check(&live, 0..live.cqt.end(), [(10.0, 0.05), (25.0, 1.0)]);
    }

    #[test]
    fn a_tone_appears_in_its_rows_when_it_starts() {
        // 440 Hz from 1.0 s: STFT bin 440·1024/16000 = 28.2, CQT bin 96·log2(440/32.703) = 360.
        let signal = tone(2.5, 1.0, 440.0);
        let live = stream(&signal, 60.0);
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
        let live = stream(&tone(5.0, 0.0, 300.0), 2.0);
        assert_eq!(live.samples.capacity(), 32_000);
        assert!(live.stft.end() - live.stft.start() <= live.stft.capacity() as u64);
        assert_eq!(live.samples.end(), 80_000);
        let bad = LiveAnalyser::new(LiveConfig { history_secs: 0.0, ..LiveConfig::default() });
        assert!(matches!(bad, Err(DspError::Parameter { name: "history_secs", .. })));
        let mut config = LiveConfig::default();
        config.stft.hop_len = 128;
        assert!(matches!(LiveAnalyser::new(config), Err(DspError::Parameter { name: "hop_len", .. })));
    }
}
