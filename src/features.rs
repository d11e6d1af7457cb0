//! Feature export for other tools: STFT or CQT of clips as float32 .npy `[bins, frames]`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use npyz::WriterBuilder as _;

use crate::atomic_file::write_atomically;
use crate::audio::load_clip;
use crate::dsp::{Cqt, CqtConfig, Scale, Spectrogram, Stft, StftConfig, View};

/// Audio file extensions the folder mode picks up.
pub const AUDIO_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];

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
}

/// Writes `[bins, frames]` float32 in C order, numpy's default, atomically.
pub fn write_npy(path: &Path, spec: &Spectrogram) -> Result<(), FeatureError> {
    let data = spec.to_bins_by_frames();
    write_atomically(path, |w| {
        let mut writer = npyz::WriteOptions::<f32>::new()
            .default_dtype()
            .shape(&[spec.bins as u64, spec.frames as u64])
            .writer(w)
            .begin_nd()?;
        writer.extend(data.iter().copied())?;
        writer.finish()
    })
    .map_err(|source| FeatureError::Write { path: path.to_owned(), source })
}

/// One clip to one .npy.
pub fn export_file(
    input: &Path,
    output: &Path,
    view: View,
    scale: Scale,
    analyzer: &mut Analyzer,
) -> Result<(), FeatureError> {
    let clip = load_clip(input)?;
    let spec = analyzer.compute(view, &clip.samples, scale);
    write_npy(output, &spec)
}

/// What a folder export did.
#[derive(Debug, Default)]
pub struct FolderReport {
    pub written: usize,
    pub failed: Vec<(PathBuf, String)>,
}

/// Every audio file under `input` (recursively) to `output/<same relative path>.npy`, on
/// `threads` workers. A bad file is reported and skipped; the rest still get written.
/// `progress(done, total)` is called from the workers after each file.
pub fn export_folder(
    input: &Path,
    output: &Path,
    view: View,
    scale: Scale,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<FolderReport, FeatureError> {
    let files = audio_files(input)?;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let report = Mutex::new(FolderReport::default());
    std::thread::scope(|scope| {
        for i in 0..threads.max(1).min(files.len().max(1)) {
            let (files, next, done, report) = (&files, &next, &done, &report);
            std::thread::Builder::new()
                .name(format!("features-{i}"))
                .spawn_scoped(scope, move || {
                    let mut analyzer = Analyzer::default();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(rel) = files.get(index) else { break };
                        let target = output.join(rel).with_extension("npy");
                        let result = target
                            .parent()
                            .map_or(Ok(()), std::fs::create_dir_all)
                            .map_err(|source| FeatureError::Write { path: target.clone(), source })
                            .and_then(|()| export_file(&input.join(rel), &target, view, scale, &mut analyzer));
                        let mut r = report.lock().unwrap_or_else(|p| p.into_inner());
                        match result {
                            Ok(()) => r.written += 1,
                            Err(e) => r.failed.push((input.join(rel), e.to_string())),
                        }
                        drop(r);
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, files.len());
                    }
                })
                .expect("spawning a worker thread");
        }
    });
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
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
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
