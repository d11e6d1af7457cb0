//! Building a store: the shards not yet there (or damaged, stale, or another store's) are
//! analysed on every thread and each written to a temporary file that is renamed into place
//! once whole, so a killed build resumes at the first missing shard and a half-written one is
//! never read.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::format::{self, Geometry, Header};
use super::{STORE_FORMAT, STORE_JSON, Store, StoreError, StoreMeta, StoreSettings, check_shard, fingerprint};
use crate::data::dataset::Dataset;
use crate::features::Analyzer;
use crate::learn::notes::inputs::{note_power, raw_views};
use crate::learn::notes::moments::Moments;

pub struct BuildOptions {
    pub threads: usize,
    /// Notes per shard ([`super::SHARD_NOTES`] by default).
    pub shard_notes: usize,
    /// Refuse to let the store grow past this many bytes, as a full disk would.
    pub disk_limit_bytes: Option<u64>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { threads: 1, shard_notes: super::SHARD_NOTES, disk_limit_bytes: None }
    }
}

#[derive(Debug)]
pub struct BuildReport {
    pub dir: PathBuf,
    pub notes: usize,
    pub shards: usize,
    /// Shards written by this call (0: the store was complete).
    pub built: usize,
    /// Of those, shards that were there but damaged, stale or another store's.
    pub replaced: usize,
    pub bytes: u64,
    pub elapsed_secs: f64,
    /// Stores of this data set in an older format, removed: no version reads them.
    pub removed_old: Vec<PathBuf>,
}

/// Builds what is missing of the store of `dataset` with `settings`, reading each note's audio;
/// `progress(done, total)` counts notes, those of shards already there included.
pub fn build(
    dataset: &Dataset,
    settings: &StoreSettings,
    options: &BuildOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BuildReport, StoreError> {
    let read = |i: usize| dataset.load_audio(&dataset.notes[i]).map_err(|e| e.to_string());
    build_from(dataset, settings, options, &read, progress)
}

/// [`build`] with each note's samples from `samples(i)` instead of its file: a note rendered
/// straight into the store keeps no audio (the scale benchmark does this for NSynth's size).
pub fn build_from(
    dataset: &Dataset,
    settings: &StoreSettings,
    options: &BuildOptions,
    samples: &(dyn Fn(usize) -> Result<Vec<f32>, String> + Sync),
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BuildReport, StoreError> {
    let start = Instant::now();
    let (dir, key, examples_xxh3) = super::location(dataset, settings)?;
    let n = dataset.notes.len();
    if n == 0 {
        return Err(StoreError::Dataset { path: dataset.root().to_owned(), problem: "it has no notes".into() });
    }
    let werr = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(werr(&dir))?;
    remove_dead_partials(&dir);
    let removed_old = remove_old_versions(&dir);
    let meta_path = dir.join(STORE_JSON);
    let shard_notes =
        match std::fs::read_to_string(&meta_path).ok().and_then(|t| serde_json::from_str::<StoreMeta>(&t).ok()) {
            // Resuming keeps the shard size the build started with.
            Some(meta) if meta.settings == *settings && meta.examples_xxh3 == examples_xxh3 && meta.notes == n => {
                meta.shard_notes
            }
            _ => {
                let meta = StoreMeta {
                    settings: settings.clone(),
                    examples_xxh3,
                    notes: n,
                    shard_notes: options.shard_notes.max(1),
                };
                let text = serde_json::to_string_pretty(&meta).expect("meta serialises");
                crate::atomic_file::write_atomically(&meta_path, |w| w.write_all(text.as_bytes()))
                    .map_err(werr(&meta_path))?;
                meta.shard_notes
            }
        };
    let g = settings.geometry();
    let count = n.div_ceil(shard_notes);
    let check_audio = dataset.has_audio();
    let mut todo = Vec::new();
    let mut replaced = 0;
    for k in 0..count {
        let path = dir.join(super::shard_name(k));
        let first = k * shard_notes;
        let notes = shard_notes.min(n - first);
        // Shards there but damaged, stale or another store's are replaced.
        let fresh = path.exists()
            && match check_shard(&path, key, first, notes, &g) {
                Ok(shard) => {
                    !check_audio
                        || shard.fingerprints.iter().enumerate().all(|(j, &f)| {
                            fingerprint(&dataset.audio_path(&dataset.notes[first + j])).is_none_or(|now| now == f)
                        })
                }
                Err(_) => false,
            };
        if !fresh {
            replaced += usize::from(path.exists());
            todo.push(k);
        }
    }
    let done_before = n - todo.iter().map(|&k| shard_notes.min(n - k * shard_notes)).sum::<usize>();
    progress(done_before, n);
    let mut analyzer_error = None;
    let mut written = 0u64;
    let existing: u64 = (0..count)
        .filter(|k| !todo.contains(k))
        .filter_map(|k| std::fs::metadata(dir.join(super::shard_name(k))).ok())
        .map(|m| m.len())
        .sum();
    let mut done = done_before;
    for &k in &todo {
        let first = k * shard_notes;
        let indices: Vec<usize> = (first..first + shard_notes.min(n - first)).collect();
        let base = done;
        let records = crate::data::parallel::map_parallel(
            &indices,
            options.threads.max(1),
            &|d, _| progress(base + d, n),
            || Analyzer::new(settings.stft, settings.cqt),
            |analyzer, &i| analyse(dataset, analyzer, i, settings, &g, samples),
        );
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                analyzer_error = Some(e);
                break;
            }
        };
        done += indices.len();
        let path = dir.join(super::shard_name(k));
        let header =
            Header { format: STORE_FORMAT, notes: indices.len() as u32, first: first as u64, geometry: g, key };
        let bytes = g.shard_bytes(indices.len(), records.iter().map(|r| r.record.len()).sum()) as u64;
        if let Some(limit) = options.disk_limit_bytes
            && existing + written + bytes > limit
        {
            let source = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device");
            return Err(StoreError::Full { path, source });
        }
        write_shard(&path, &header, &records, &g).map_err(|source| match source.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                StoreError::Full { path: path.clone(), source }
            }
            _ => StoreError::Write { path: path.clone(), source },
        })?;
        written += bytes;
    }
    if let Some(e) = analyzer_error {
        return Err(e);
    }
    // Opening checks what was written, as a reader will.
    Store::open(dataset, settings)?;
    Ok(BuildReport {
        dir,
        notes: n,
        shards: count,
        built: todo.len(),
        replaced,
        bytes: existing + written,
        elapsed_secs: start.elapsed().as_secs_f64(),
        removed_old,
    })
}

/// One note analysed: its fingerprint, its record, its split's group and its raw-frame sums.
struct Analysed {
    fingerprint: u64,
    record: Vec<u8>,
    group: usize,
    moments: (Moments, Moments),
}

fn analyse(
    dataset: &Dataset,
    analyzer: &mut Result<Analyzer, crate::dsp::DspError>,
    i: usize,
    settings: &StoreSettings,
    g: &Geometry,
    read: &(dyn Fn(usize) -> Result<Vec<f32>, String> + Sync),
) -> Result<Analysed, StoreError> {
    let note = &dataset.notes[i];
    let name = || note.record.note_str.clone();
    let analyzer = analyzer.as_mut().map_err(|e| StoreError::Analysis { note: name(), problem: e.to_string() })?;
    let path = dataset.audio_path(note);
    // The fingerprint is taken before reading: audio replaced meanwhile is seen as changed.
    let fingerprint = fingerprint(&path).unwrap_or(0);
    let samples = read(i).map_err(|problem| StoreError::Analysis { note: name(), problem })?;
    let raw = raw_views(analyzer, &samples);
    let pooled = raw.pool_time(settings.time_pool);
    if pooled.frames != g.frames || pooled.stft_bins != g.stft_bins || pooled.cqt_bins != g.cqt_bins {
        let problem = format!(
            "analysed into {} frames of {}+{} bins, expected {} of {}+{}",
            pooled.frames, pooled.stft_bins, pooled.cqt_bins, g.frames, g.stft_bins, g.cqt_bins
        );
        return Err(StoreError::Analysis { note: name(), problem });
    }
    let mut stft = Moments::new(raw.stft_bins);
    stft.add(&raw.stft);
    let mut cqt = Moments::new(raw.cqt_bins);
    cqt.add(&raw.cqt);
    Ok(Analysed {
        fingerprint,
        record: format::encode_record(note_power(&samples), &pooled, g),
        group: super::group(note.split),
        moments: (stft, cqt),
    })
}

fn write_shard(path: &Path, header: &Header, records: &[Analysed], g: &Geometry) -> std::io::Result<()> {
    let mut groups: [(Moments, Moments); format::GROUPS] =
        std::array::from_fn(|_| (Moments::new(g.stft_bins), Moments::new(g.cqt_bins)));
    for r in records {
        groups[r.group].0.merge(&r.moments.0);
        groups[r.group].1.merge(&r.moments.1);
    }
    let head = header.encode();
    let prints: Vec<u8> = records.iter().flat_map(|r| r.fingerprint.to_le_bytes()).collect();
    let ends: Vec<u8> = records
        .iter()
        .scan(0u64, |end, r| {
            *end += r.record.len() as u64;
            Some(*end)
        })
        .flat_map(u64::to_le_bytes)
        .collect();
    let sums: Vec<u8> = records.iter().flat_map(|r| format::record_sum(&r.record).to_le_bytes()).collect();
    let mut tail = Vec::new();
    format::encode_moments(&groups, &mut tail);
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&head);
    hasher.update(&prints);
    hasher.update(&ends);
    hasher.update(&sums);
    hasher.update(&tail);
    tail.extend_from_slice(&hasher.digest().to_le_bytes());
    crate::atomic_file::write_atomically(path, |w| {
        w.write_all(&head)?;
        w.write_all(&prints)?;
        w.write_all(&ends)?;
        w.write_all(&sums)?;
        for r in records {
            w.write_all(&r.record)?;
        }
        w.write_all(&tail)
    })
}

/// Stores beside `dir` (the same data set's `store/` folder) written in an older format: the
/// format is in their key, so a new version builds anew beside them and they would otherwise stay
/// on the disk for good. Stores of other settings in this format are kept; so is a folder whose
/// `store.json` cannot be read (not known to be a store).
fn remove_old_versions(dir: &Path) -> Vec<PathBuf> {
    let Some(Ok(entries)) = dir.parent().map(std::fs::read_dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path == dir {
            continue;
        }
        let format = std::fs::read_to_string(path.join(STORE_JSON))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|meta| meta["settings"]["format"].as_u64());
        if format.is_some_and(|f| f < u64::from(STORE_FORMAT)) && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// Temporary files of builds that were killed would otherwise pile up.
fn remove_dead_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.rsplit_once(".partial-").and_then(|(_, pid)| pid.parse::<u32>().ok()) else { continue };
        if !crate::platform::process_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
