//! What both decoders (hound for WAV, symphonia for the rest) feed: decoded blocks downmixed,
//! checked and resampled into one mono clip, and the error every file's problem becomes.

use std::io::{self, Read};

use super::clip::ANALYSIS_RATE_HZ;
use super::resample::{ResampleError, StreamResampler};

/// Longest clip accepted: three hours.
pub const MAX_CLIP_SECS: f64 = 3.0 * 3600.0;

/// Frames decoded per block before downmixing and resampling (hound blocks hold up to 8 times
/// as many samples, whatever the channel count).
pub(super) const BLOCK_FRAMES: usize = 8192;

/// Output reserved up front from a header's length claim; beyond it the Vec grows as decoded,
/// so a lying header cannot make a tiny file reserve gigabytes.
const MAX_RESERVE_SECS: u64 = 10 * 60;

/// Why a file could not become a clip. Every message starts with the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: cannot read the file: {error}")]
    Unreadable { path: String, error: io::Error },
    #[error("{path}: not an audio file, or a format that is not supported ({detail})")]
    NotAudio { path: String, detail: String },
    #[error("{path}: unsupported sample format: {detail}")]
    UnsupportedFormat { path: String, detail: String },
    #[error("{path}: truncated or corrupt data: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("{path}: contains no samples")]
    Empty { path: String },
    #[error("{path}: contains {count} non-finite samples (NaN or infinity)")]
    NonFinite { path: String, count: u64 },
    #[error("{path}: is {duration_secs:.0} s long; clips longer than 3 hours are refused")]
    TooLong { path: String, duration_secs: f64 },
    #[error("{path}: cannot resample: {error}")]
    Resample { path: String, error: ResampleError },
    #[error("{path}: cannot write the file: {error}")]
    Write { path: String, error: io::Error },
}

/// The rate a decoded clip comes out at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rate {
    Analysis,
    Native,
}

pub(super) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Downmixes interleaved blocks, checks them, and feeds the streaming resampler.
pub(super) struct MonoSink<'a> {
    label: &'a str,
    pub(super) rate_hz: u32,
    out_rate_hz: u32,
    resampler: StreamResampler,
    mono: Vec<f32>,
    non_finite: u64,
    max_frames: u64,
}

impl<'a> MonoSink<'a> {
    pub(super) fn new(
        label: &'a str,
        rate_hz: u32,
        expected_frames: Option<u64>,
        rate: Rate,
    ) -> Result<Self, AudioError> {
        if rate_hz == 0 {
            return Err(AudioError::Corrupt { path: label.into(), detail: "sample rate is 0 Hz".into() });
        }
        if let Some(frames) = expected_frames {
            check_duration(label, frames, rate_hz)?;
        }
        let out_rate_hz = if rate == Rate::Native { rate_hz } else { ANALYSIS_RATE_HZ };
        let resampler = StreamResampler::new(rate_hz, out_rate_hz)
            .map_err(|error| AudioError::UnsupportedFormat { path: label.into(), detail: error.to_string() })?;
        let mut sink = Self {
            label,
            rate_hz,
            out_rate_hz,
            resampler,
            mono: Vec::with_capacity(BLOCK_FRAMES),
            non_finite: 0,
            max_frames: (MAX_CLIP_SECS * rate_hz as f64) as u64,
        };
        if let Some(frames) = expected_frames {
            let ten_minutes_in = MAX_RESERVE_SECS * rate_hz as u64;
            sink.resampler.reserve_for_input(frames.min(ten_minutes_in));
        }
        Ok(sink)
    }

    pub(super) fn push_interleaved(&mut self, interleaved: &[f32], channels: usize) -> Result<(), AudioError> {
        let channels = channels.max(1);
        let frames = self.resampler.frames_in() + (interleaved.len() / channels) as u64;
        if frames > self.max_frames {
            return Err(AudioError::TooLong {
                path: self.label.into(),
                duration_secs: frames as f64 / self.rate_hz as f64,
            });
        }
        // Non-finite samples count as silence here, and make `finish` refuse the clip. Counted
        // in a pass of their own, which vectorises; a clean mono block then goes on as it is,
        // without a copy (the copy with the count in it took a tenth of a WAV's export).
        let bad: u64 = interleaved.iter().map(|x| u64::from(!x.is_finite())).sum();
        self.non_finite += bad;
        let to_resampler = |error| AudioError::Resample { path: self.label.into(), error };
        if channels == 1 && bad == 0 {
            return self.resampler.push(interleaved).map_err(to_resampler);
        }
        let finite = |x: f32| if x.is_finite() { x } else { 0.0 };
        self.mono.clear();
        if channels == 1 {
            self.mono.extend(interleaved.iter().map(|&x| finite(x)));
        } else {
            let inv_channels = 1.0 / channels as f32;
            for frame in interleaved.chunks_exact(channels) {
                let sum: f32 = frame.iter().map(|&x| finite(x)).sum();
                self.mono.push(sum * inv_channels);
            }
        }
        self.resampler.push(&self.mono).map_err(to_resampler)
    }

    pub(super) fn frames(&self) -> u64 {
        self.resampler.frames_in()
    }

    /// The clip, and its rate.
    pub(super) fn finish(self) -> Result<(Vec<f32>, u32), AudioError> {
        if self.non_finite > 0 {
            return Err(AudioError::NonFinite { path: self.label.into(), count: self.non_finite });
        }
        if self.resampler.frames_in() == 0 {
            return Err(AudioError::Empty { path: self.label.into() });
        }
        let (label, rate_hz) = (self.label, self.out_rate_hz);
        let samples = self.resampler.finish().map_err(|error| AudioError::Resample { path: label.into(), error })?;
        Ok((samples, rate_hz))
    }
}

pub(super) fn check_duration(label: &str, frames: u64, rate_hz: u32) -> Result<(), AudioError> {
    let duration_secs = frames as f64 / rate_hz as f64;
    if duration_secs > MAX_CLIP_SECS {
        return Err(AudioError::TooLong { path: label.into(), duration_secs });
    }
    Ok(())
}
