//! The on-disk feature cache: STFT and CQT (dB) of every note, one flat memory-mapped file per view.
//!
//! Layout: `DATASET/cache/<key>/{index.json, stats.json, stft.f32, cqt.f32}`, where `<key>` hashes
//! the feature configuration and every note's audio bytes, so a change of either selects another
//! folder and stale features are never served. A cache is built in a hidden `.partial` folder and
//! renamed into place only when complete, so a killed run or a full disk leaves nothing readable.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, DatasetError, Split, read_note_wav};
use crate::dsp::{CqtConfig, Scale, StftConfig, View};
use crate::features::Analyzer;

/// Bump when the transforms or this layout change in a way the configuration does not show.
pub const CACHE_FORMAT: u32 = 1;
pub const CACHE_DIR: &str = "cache";
const INDEX_JSON: &str = "index.json";
const STATS_JSON: &str = "stats.json";
/// Keeps the standardised value finite for a bin that is constant over the training split.
const MIN_STD: f32 = 1e-3;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "no feature cache for the current audio and configuration in {dir}; run `timbrescope cache build --dataset {dataset}`"
    )]
    Missing { dir: PathBuf, dataset: PathBuf },
    #[error("feature cache {path} is damaged ({problem}); rebuild it with `timbrescope cache build`")]
    Damaged { path: PathBuf, problem: String },
    #[error("{note}: {problem}")]
    Shape { note: String, problem: String },
    #[error("the data set has no notes")]
    Empty,
}

/// What the cached features are; its hash names the cache folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    pub format: u32,
    pub stft: StftConfig,
    pub cqt: CqtConfig,
    pub scale: String,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self { format: CACHE_FORMAT, stft: StftConfig::default(), cqt: CqtConfig::default(), scale: "db".into() }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ViewIndex {
    file: String,
    bins: usize,
    frames: usize,
    bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Index {
    config: FeatureConfig,
    key: String,
    /// Note i's features are clip i of each view file.
    notes: Vec<String>,
    audio_hashes: Vec<String>,
    stft: ViewIndex,
    cqt: ViewIndex,
}

/// Per-bin mean and standard deviation over the training split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Which notes the statistics were taken over ("train", or "all" without a training split).
    pub over: String,
    pub clips: usize,
    pub stft: BinStats,
    pub cqt: BinStats,
}

struct MappedView {
    map: Mmap,
    bins: usize,
    frames: usize,
}

/// An opened cache: features are slices of the mapped files, no parsing, no copy.
pub struct FeatureCache {
    dir: PathBuf,
    notes: Vec<String>,
    stft: MappedView,
    cqt: MappedView,
    stats: Stats,
}

#[derive(Debug)]
pub struct BuildReport {
    pub dir: PathBuf,
    pub clips: usize,
    /// False when a complete cache for this audio and configuration was already there.
    pub built: bool,
    pub elapsed_secs: f64,
}

/// The content hash of every note's audio file, in data set order (xxh3, 64-bit, hex).
pub fn audio_hashes(dataset: &Dataset) -> Result<Vec<String>, CacheError> {
    dataset
        .notes
        .iter()
        .map(|note| {
            let path = dataset.audio_path(note);
            let bytes = std::fs::read(&path).map_err(|source| CacheError::Read { path, source })?;
            Ok(format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes)))
        })
        .collect()
}

/// The folder name for this configuration and audio.
pub fn cache_key(config: &FeatureConfig, notes: &[String], hashes: &[String]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(serde_json::to_string(config).expect("configs serialise").as_bytes());
    for (note, hash) in notes.iter().zip(hashes) {
        hasher.update(note.as_bytes());
        hasher.update(b"\0");
        hasher.update(hash.as_bytes());
    }
    format!("{:016x}", hasher.digest())
}

fn note_names(dataset: &Dataset) -> Vec<String> {
    dataset.notes.iter().map(|n| n.record.note_str.clone()).collect()
}

impl FeatureCache {
    /// Opens the cache that matches the data set's current audio and this configuration.
    pub fn open(dataset: &Dataset, config: &FeatureConfig) -> Result<Self, CacheError> {
        let notes = note_names(dataset);
        let key = cache_key(config, &notes, &audio_hashes(dataset)?);
        let dir = dataset.root().join(CACHE_DIR).join(&key);
        if !dir.join(INDEX_JSON).exists() {
            return Err(CacheError::Missing { dir, dataset: dataset.root().to_owned() });
        }
        Self::open_dir(&dir, &notes)
    }

    fn open_dir(dir: &Path, expected_notes: &[String]) -> Result<Self, CacheError> {
        let index: Index = read_json(&dir.join(INDEX_JSON))?;
        let stats: Stats = read_json(&dir.join(STATS_JSON))?;
        let damaged = |problem: String| CacheError::Damaged { path: dir.to_owned(), problem };
        if index.notes != expected_notes {
            return Err(damaged("its note list differs from examples.json".into()));
        }
        if stats.stft.mean.len() != index.stft.bins || stats.cqt.mean.len() != index.cqt.bins {
            return Err(damaged("stats.json does not match the feature sizes".into()));
        }
        let map_view = |v: &ViewIndex| -> Result<MappedView, CacheError> {
            let path = dir.join(&v.file);
            let file = File::open(&path).map_err(|source| CacheError::Read { path: path.clone(), source })?;
            let expected = (index.notes.len() * v.frames * v.bins * 4) as u64;
            let len = file.metadata().map_err(|source| CacheError::Read { path: path.clone(), source })?.len();
            if len != expected || v.bytes != expected {
                return Err(damaged(format!("{} holds {len} bytes, expected {expected}", v.file)));
            }
            // SAFETY: the cache is ours and written once; nothing truncates it while mapped.
            let map = unsafe { Mmap::map(&file) }.map_err(|source| CacheError::Read { path, source })?;
            Ok(MappedView { map, bins: v.bins, frames: v.frames })
        };
        Ok(Self {
            dir: dir.to_owned(),
            notes: index.notes.clone(),
            stft: map_view(&index.stft)?,
            cqt: map_view(&index.cqt)?,
            stats,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn len(&self) -> usize {
        self.notes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    fn view(&self, view: View) -> &MappedView {
        match view {
            View::Stft => &self.stft,
            View::Cqt => &self.cqt,
        }
    }

    /// (bins, frames) of every clip in a view.
    pub fn shape(&self, view: View) -> (usize, usize) {
        let v = self.view(view);
        (v.bins, v.frames)
    }

    /// Clip `index` in dB, frame-major `[frames][bins]`, straight from the mapped file.
    pub fn raw(&self, view: View, index: usize) -> &[f32] {
        let v = self.view(view);
        let len = v.bins * v.frames;
        let all: &[f32] = bytemuck::cast_slice(&v.map[..]);
        &all[index * len..(index + 1) * len]
    }

    pub fn stats(&self, view: View) -> &BinStats {
        match view {
            View::Stft => &self.stats.stft,
            View::Cqt => &self.stats.cqt,
        }
    }

    /// Clip `index` standardised per bin with the training split's statistics, into `out`.
    pub fn standardized_into(&self, view: View, index: usize, out: &mut Vec<f32>) {
        let raw = self.raw(view, index);
        let stats = self.stats(view);
        out.clear();
        out.reserve(raw.len());
        for frame in raw.chunks_exact(stats.mean.len()) {
            out.extend(frame.iter().zip(stats.mean.iter().zip(&stats.std)).map(|(x, (m, s))| (x - m) / s));
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CacheError> {
    let text = std::fs::read_to_string(path).map_err(|source| CacheError::Read { path: path.to_owned(), source })?;
    serde_json::from_str(&text)
        .map_err(|e| CacheError::Damaged { path: path.to_owned(), problem: format!("unreadable JSON: {e}") })
}

/// Builds the cache for the data set's current audio unless a complete one is there.
pub fn build(
    dataset: &Dataset,
    config: &FeatureConfig,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BuildReport, CacheError> {
    let start = Instant::now();
    if dataset.notes.is_empty() {
        return Err(CacheError::Empty);
    }
    let notes = note_names(dataset);
    let hashes = audio_hashes(dataset)?;
    let key = cache_key(config, &notes, &hashes);
    let cache_root = dataset.root().join(CACHE_DIR);
    let dir = cache_root.join(&key);
    if dir.exists() {
        if FeatureCache::open_dir(&dir, &notes).is_ok() {
            return Ok(BuildReport {
                dir,
                clips: notes.len(),
                built: false,
                elapsed_secs: start.elapsed().as_secs_f64(),
            });
        }
        // Damaged: it can only be replaced whole.
        std::fs::remove_dir_all(&dir).map_err(|source| CacheError::Write { path: dir.clone(), source })?;
    }
    remove_stale_partials(&cache_root);
    let partial = cache_root.join(format!(".{key}.partial-{}", std::process::id()));
    let result = write_cache(dataset, config, &key, notes, hashes, &partial, threads.max(1), progress).and_then(|()| {
        std::fs::rename(&partial, &dir).map_err(|source| CacheError::Write { path: dir.clone(), source })
    });
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(error);
    }
    Ok(BuildReport { dir, clips: dataset.notes.len(), built: true, elapsed_secs: start.elapsed().as_secs_f64() })
}

/// Partial folders of processes that are gone (killed builds) would otherwise pile up.
fn remove_stale_partials(cache_root: &Path) {
    let Ok(entries) = std::fs::read_dir(cache_root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.rsplit_once(".partial-").and_then(|(_, pid)| pid.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() || pid == std::process::id() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Running per-bin sums in f64: dB values near 100 squared over thousands of clips lose
/// too much in f32.
#[derive(Clone)]
pub struct Moments {
    count: u64,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl Moments {
    pub fn new(bins: usize) -> Self {
        Self { count: 0, sum: vec![0.0; bins], sum_sq: vec![0.0; bins] }
    }

    /// Adds every frame of `frames` (frame-major, one value per bin).
    pub fn add(&mut self, frames: &[f32]) {
        for frame in frames.chunks_exact(self.sum.len()) {
            self.count += 1;
            for ((s, q), &x) in self.sum.iter_mut().zip(&mut self.sum_sq).zip(frame) {
                let x = f64::from(x);
                *s += x;
                *q += x * x;
            }
        }
    }

    pub fn merge(&mut self, other: &Moments) {
        self.count += other.count;
        self.sum.iter_mut().zip(&other.sum).for_each(|(a, b)| *a += b);
        self.sum_sq.iter_mut().zip(&other.sum_sq).for_each(|(a, b)| *a += b);
    }

    /// Per-bin mean and standard deviation (at least `MIN_STD`).
    pub fn finish(&self) -> BinStats {
        let n = self.count.max(1) as f64;
        let mean: Vec<f64> = self.sum.iter().map(|s| s / n).collect();
        let std =
            self.sum_sq.iter().zip(&mean).map(|(q, m)| ((q / n - m * m).max(0.0).sqrt() as f32).max(MIN_STD)).collect();
        BinStats { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }
}

#[allow(clippy::too_many_arguments)]
fn write_cache(
    dataset: &Dataset,
    config: &FeatureConfig,
    key: &str,
    notes: Vec<String>,
    hashes: Vec<String>,
    partial: &Path,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(), CacheError> {
    let werr = |path: &Path| {
        let path = path.to_owned();
        move |source| CacheError::Write { path, source }
    };
    std::fs::create_dir_all(partial).map_err(werr(partial))?;
    let n = dataset.notes.len();
    let stft_bins = config.stft.bins();
    let stft_frames = config.stft.frames(super::dataset::NOTE_SAMPLES);
    let cqt_bins = config.cqt.n_bins;
    let cqt_frames = config.cqt.frames(super::dataset::NOTE_SAMPLES);
    let views = [("stft.f32", stft_bins, stft_frames), ("cqt.f32", cqt_bins, cqt_frames)];
    let mut files = Vec::new();
    for (name, bins, frames) in views {
        let path = partial.join(name);
        let file = File::create(&path).map_err(werr(&path))?;
        // Reserve the whole size up front: a full disk fails here, not halfway.
        file.set_len((n * bins * frames * 4) as u64).map_err(werr(&path))?;
        files.push((file, path, bins, frames));
    }
    // Statistics over the training split; a folder without one (an NSynth test split) uses all.
    let has_train = dataset.notes.iter().any(|n| n.split == Some(Split::Train));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<CacheError>> = Mutex::new(None);
    let totals = Mutex::new((Moments::new(stft_bins), Moments::new(cqt_bins), 0_usize));
    std::thread::scope(|scope| {
        for _ in 0..threads.min(n) {
            scope.spawn(|| {
                let mut analyzer = match Analyzer::new(config.stft, config.cqt) {
                    Ok(a) => a,
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        let problem = e.to_string();
                        first_error.lock().unwrap().get_or_insert(CacheError::Shape { note: "config".into(), problem });
                        return;
                    }
                };
                let mut moments = (Moments::new(stft_bins), Moments::new(cqt_bins), 0_usize);
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(note) = dataset.notes.get(i) else { break };
                    let result = (|| -> Result<(), CacheError> {
                        let samples = read_note_wav(&dataset.audio_path(note))?;
                        for (k, view) in [View::Stft, View::Cqt].into_iter().enumerate() {
                            let spec = analyzer.compute(view, &samples, Scale::Db);
                            let (file, path, bins, frames) = &files[k];
                            if spec.bins != *bins || spec.frames != *frames {
                                return Err(CacheError::Shape {
                                    note: note.record.note_str.clone(),
                                    problem: format!(
                                        "{} is {}x{}, expected {bins}x{frames}",
                                        view.label(),
                                        spec.bins,
                                        spec.frames
                                    ),
                                });
                            }
                            let offset = (i * bins * frames * 4) as u64;
                            std::os::unix::fs::FileExt::write_all_at(file, bytemuck::cast_slice(&spec.values), offset)
                                .map_err(werr(path))?;
                            if !has_train || note.split == Some(Split::Train) {
                                match view {
                                    View::Stft => moments.0.add(&spec.values),
                                    View::Cqt => moments.1.add(&spec.values),
                                }
                            }
                        }
                        if !has_train || note.split == Some(Split::Train) {
                            moments.2 += 1;
                        }
                        Ok(())
                    })();
                    if let Err(error) = result {
                        failed.store(true, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(error);
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, n);
                }
                let mut totals = totals.lock().unwrap();
                totals.0.merge(&moments.0);
                totals.1.merge(&moments.1);
                totals.2 += moments.2;
            });
        }
    });
    if let Some(error) = first_error.into_inner().unwrap() {
        return Err(error);
    }
    for (file, path, _, _) in &files {
        file.sync_all().map_err(werr(path))?;
    }
    let (stft_m, cqt_m, clips) = totals.into_inner().unwrap();
    let stats = Stats {
        over: if has_train { "train".into() } else { "all".into() },
        clips,
        stft: stft_m.finish(),
        cqt: cqt_m.finish(),
    };
    let view_index = |(name, bins, frames): (&str, usize, usize)| ViewIndex {
        file: name.into(),
        bins,
        frames,
        bytes: (n * bins * frames * 4) as u64,
    };
    let index = Index {
        config: config.clone(),
        key: key.to_owned(),
        notes,
        audio_hashes: hashes,
        stft: view_index(views[0]),
        cqt: view_index(views[1]),
    };
    for (name, value) in [(STATS_JSON, serde_json::to_vec(&stats)), (INDEX_JSON, serde_json::to_vec_pretty(&index))] {
        let path = partial.join(name);
        let bytes = value.map_err(|e| CacheError::Write { path: path.clone(), source: std::io::Error::other(e) })?;
        let mut file = File::create(&path).map_err(werr(&path))?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(werr(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_match_a_two_pass_mean_and_std() {
        let bins = 3;
        let frames: Vec<f32> = (0..60).map(|i| ((i * 37) % 11) as f32 - 80.0).collect();
        let mut m = Moments::new(bins);
        m.add(&frames[..30]);
        let mut second = Moments::new(bins);
        second.add(&frames[30..]);
        m.merge(&second);
        let stats = m.finish();
        for b in 0..bins {
            let column: Vec<f64> = frames.iter().skip(b).step_by(bins).map(|&x| f64::from(x)).collect();
            let mean = column.iter().sum::<f64>() / column.len() as f64;
            let var = column.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / column.len() as f64;
            assert!((f64::from(stats.mean[b]) - mean).abs() < 1e-4);
            assert!((f64::from(stats.std[b]) - var.sqrt()).abs() < 1e-4);
        }
    }

    #[test]
    fn the_key_changes_with_config_and_audio() {
        let config = FeatureConfig::default();
        let notes = vec!["a".to_owned(), "b".to_owned()];
        let hashes = vec!["01".to_owned(), "02".to_owned()];
        let key = cache_key(&config, &notes, &hashes);
        assert_eq!(key, cache_key(&config, &notes, &hashes));
        assert_ne!(key, cache_key(&config, &notes, &["01".to_owned(), "03".to_owned()]));
        let other = FeatureConfig { stft: StftConfig { hop_len: 128, ..config.stft }, ..config.clone() };
        assert_ne!(key, cache_key(&other, &notes, &hashes));
    }
}
