//! Writing clips as mono WAV files atomically: a temp file beside the target, then a rename.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use super::clip::Clip;
use super::load::AudioError;
use crate::atomic_file;

/// Writes 32-bit float mono WAV at the clip's rate; the samples round-trip bit for bit.
pub fn save_wav(path: &Path, clip: &Clip) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: clip.sample_rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    write_atomically(path, spec, |writer| {
        for &x in clip.samples.iter() {
            writer.write_sample(x)?;
        }
        Ok(())
    })
}

/// Writes 16-bit integer mono WAV at the clip's rate; samples outside [-1, 1] are clipped.
pub fn save_wav_pcm16(path: &Path, clip: &Clip) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: clip.sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    write_atomically(path, spec, |writer| {
        for &x in clip.samples.iter() {
            writer.write_sample((x.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16)?;
        }
        Ok(())
    })
}

/// Writes 32-bit float WAV with one or more channels of equal length (e.g. the two ears of a
/// binaural rendering), atomically.
pub fn save_wav_channels(path: &Path, channels: &[Vec<f32>], sample_rate_hz: u32) -> Result<(), AudioError> {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: sample_rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let frames = channels.iter().map(Vec::len).min().unwrap_or(0);
    write_atomically(path, spec, |writer| {
        for i in 0..frames {
            for ch in channels {
                writer.write_sample(ch[i])?;
            }
        }
        Ok(())
    })
}

fn write_atomically(
    path: &Path,
    spec: hound::WavSpec,
    write: impl FnOnce(&mut hound::WavWriter<&mut BufWriter<File>>) -> Result<(), hound::Error>,
) -> Result<(), AudioError> {
    let to_io = |e: hound::Error| match e {
        hound::Error::IoError(error) => error,
        other => io::Error::other(other.to_string()),
    };
    atomic_file::write_atomically(path, |file| {
        let mut writer = hound::WavWriter::new(file, spec).map_err(to_io)?;
        write(&mut writer).map_err(to_io)?;
        writer.finalize().map_err(to_io)
    })
    .map_err(|error| AudioError::Write { path: path.display().to_string(), error })
}
