//! Feature export for other tools: STFT or CQT of clips as float32 .npy `[bins, frames]`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::atomic_file::{Durability, write_atomically_with};
use crate::audio::load_clip;
use crate::dsp::{Cqt, CqtConfig, Scale, Spectrogram, Stft, StftConfig, View};

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read folder {path}: {source}")]
    ReadDir { path: PathBuf, source: std::io::Error },
}

/// The transforms with their plans and scratch, one per thread.
pub struct Analyzer {
    stft: Stft,
    cqt: Cqt,
}

impl Default for Analyzer {
    fn default() -> Self {
        Self::new(StftConfig::default(), CqtConfig::default()).expect("the default configuration is valid")
    }
}

impl Analyzer {
    pub fn new(stft: StftConfig, cqt: CqtConfig) -> Result<Self, crate::dsp::DspError> {
        Ok(Self { stft: Stft::new(stft)?, cqt: Cqt::new(cqt)? })
    }

    pub fn compute(&mut self, view: View, samples: &[f32], scale: Scale) -> Spectrogram {
        match view {
            View::Stft => self.stft.compute(samples, scale),
            View::Cqt => self.cqt.compute(samples, scale),
        }
    }

    /// Seconds between the view's frames.
    pub fn hop_secs(&self, view: View) -> f64 {
        let (hop, rate) = match view {
            View::Stft => (self.stft.config().hop_len, self.stft.config().sample_rate_hz),
            View::Cqt => (self.cqt.config().hop_len, self.cqt.config().sample_rate_hz),
        };
        hop as f64 / f64::from(rate.max(1))
    }

    /// `[bins, frames]` values and that shape: what `features` writes, with no transposition.
    pub fn compute_bins_by_frames(&mut self, view: View, samples: &[f32], scale: Scale) -> ([usize; 2], Vec<f32>) {
        match view {
            View::Stft => {
                let shape = [self.stft.config().bins(), self.stft.config().frames(samples.len())];
                (shape, self.stft.compute_bins_by_frames(samples, scale))
            }
            View::Cqt => {
                let shape = [self.cqt.config().n_bins, self.cqt.config().frames(samples.len())];
                (shape, self.cqt.compute_bins_by_frames(samples, scale))
            }
        }
    }
}

/// Writes a 2-D float32 array in C order as `.npy` (format 1.0): the header, then the values
/// in one write. npyz writes value by value, which took longer than the transform itself.
fn write_npy_f32(path: &Path, shape: [usize; 2], values: &[f32], durability: Durability) -> Result<(), FeatureError> {
    debug_assert_eq!(shape[0] * shape[1], values.len());
    write_atomically_with(path, durability, |w| {
        w.write_all(&npy_header(shape))?;
        #[cfg(target_endian = "little")]
        w.write_all(bytemuck::cast_slice(values))?;
        #[cfg(target_endian = "big")]
        w.write_all(&values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())?;
        Ok(())
    })
    .map_err(|source| FeatureError::Write { path: path.to_owned(), source })
}

/// numpy's format 1.0 header for little-endian float32 of `shape`, padded so the data starts
/// at a multiple of 64 bytes, as numpy pads it.
fn npy_header(shape: [usize; 2]) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", shape[0], shape[1]);
    // Magic (6), version (2), header length (2), the dictionary, spaces, and a newline.
    let len = (10 + dict.len() + 1).next_multiple_of(64) - 10;
    let mut header = Vec::with_capacity(10 + len);
    header.extend_from_slice(b"\x93NUMPY\x01\x00");
    header.extend_from_slice(&(len as u16).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header.resize(10 + len - 1, b' ');
    header.push(b'\n');
    header
}

/// A float32 `[rows, cols]` array as one .npy, written atomically and flushed to the disk.
pub fn write_npy(path: &Path, shape: [usize; 2], values: &[f32]) -> Result<(), FeatureError> {
    write_npy_f32(path, shape, values, Durability::Synced)
}

/// One clip to one .npy, flushed to the disk before it returns.
pub fn export_file(
    input: &Path,
    output: &Path,
    view: View,
    scale: Scale,
    analyzer: &mut Analyzer,
) -> Result<(), FeatureError> {
    export(input, output, view, scale, analyzer, Durability::Synced)
}

fn export(
    input: &Path,
    output: &Path,
    view: View,
    scale: Scale,
    analyzer: &mut Analyzer,
    durability: Durability,
) -> Result<(), FeatureError> {
    let clip = load_clip(input)?;
    let (shape, values) = analyzer.compute_bins_by_frames(view, &clip.samples, scale);
    write_npy_f32(output, shape, &values, durability)
}

/// What a folder export did.
#[derive(Debug, Default)]
pub struct FolderReport {
    pub written: usize,
    pub failed: Vec<(PathBuf, String)>,
}

/// Every audio file under `input` (recursively) to `output/<same relative path>.npy`, on
/// `threads` workers. A bad file is reported and skipped; the rest still get written.
/// `progress(done, total)` is called from the workers after each file. Each file is renamed
/// into place whole; they are flushed to the disk together at the end, since a flush per file
/// cost more than the analysis.
pub fn export_folder(
    input: &Path,
    output: &Path,
    view: View,
    scale: Scale,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<FolderReport, FeatureError> {
    let files = audio_files(input)?;
    // A bad file is reported and the rest still go: each work item answers Ok with its outcome.
    let outcomes =
        crate::data::parallel::map_parallel(&files, threads, progress, Analyzer::default, |analyzer, rel| {
            let target = output.join(rel).with_extension("npy");
            let result = target
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .map_err(|source| FeatureError::Write { path: target.clone(), source })
                .and_then(|()| export(&input.join(rel), &target, view, scale, analyzer, Durability::Deferred));
            Ok::<_, std::convert::Infallible>(result.map_err(|e| (input.join(rel), e.to_string())))
        })
        .unwrap_or_else(|never| match never {});
    let mut report = FolderReport::default();
    for outcome in outcomes {
        match outcome {
            Ok(()) => report.written += 1,
            Err(failure) => report.failed.push(failure),
        }
    }
    crate::atomic_file::sync_folder(output)
        .map_err(|source| FeatureError::Write { path: output.to_owned(), source })?;
    report.failed.sort();
    Ok(report)
}

/// Audio files under `root`, as paths relative to it, sorted for a deterministic order.
pub fn audio_files(root: &Path) -> Result<Vec<PathBuf>, FeatureError> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| FeatureError::ReadDir { path: dir.clone(), source })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if is_audio(&path) {
                found.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| crate::audio::EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_npy_header_is_numpys_and_reads_back_with_npyz() {
        for shape in [[513, 251], [1, 1], [761, 123_456]] {
            let header = npy_header(shape);
            assert_eq!(header.len() % 64, 0);
            assert_eq!(&header[..8], b"\x93NUMPY\x01\x00");
            assert_eq!(u16::from_le_bytes([header[8], header[9]]) as usize, header.len() - 10);
            assert_eq!(header.last(), Some(&b'\n'));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let values: Vec<f32> = (0..6).map(|v| v as f32 * 0.5 - 1.0).collect();
        write_npy_f32(&path, [2, 3], &values, Durability::Synced).unwrap();
        let npy = npyz::NpyFile::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(npy.shape(), &[2, 3]);
        assert_eq!(npy.order(), npyz::Order::C);
        assert_eq!(npy.into_vec::<f32>().unwrap(), values);
    }
}
