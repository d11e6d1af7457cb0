//! Writing clips as mono WAV files atomically: a temp file beside the target, then a rename.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::clip::Clip;
use super::load::AudioError;

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

type Writer<'f> = hound::WavWriter<BufWriter<&'f File>>;

fn write_atomically(
    path: &Path,
    spec: hound::WavSpec,
    write: impl for<'f> FnOnce(&mut Writer<'f>) -> Result<(), hound::Error>,
) -> Result<(), AudioError> {
    let label = path.display().to_string();
    let temp = temp_path(path);
    let result = (|| -> Result<(), hound::Error> {
        let file = File::create_new(&temp)?;
        let mut writer = hound::WavWriter::new(BufWriter::new(&file), spec)?;
        write(&mut writer)?;
        writer.finalize()?;
        // Durable before the rename makes it visible under the real name.
        file.sync_all()?;
        Ok(())
    })()
    .map_err(|e| match e {
        hound::Error::IoError(error) => error,
        other => io::Error::other(other.to_string()),
    })
    .and_then(|()| fs::rename(&temp, path));
    if let Err(error) = result {
        // The temp file may never have been created; nothing to report then.
        let _ = fs::remove_file(&temp);
        return Err(AudioError::Write { path: label, error });
    }
    Ok(())
}

/// A hidden name beside the target, unique within this process and across processes.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file_name = path.file_name().map_or_else(|| "clip".into(), |s| s.to_string_lossy());
    let temp_name = format!(".{file_name}.{}.{n}.tmp", std::process::id());
    path.with_file_name(temp_name)
}
