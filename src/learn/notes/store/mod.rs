//! The feature store: every note of a data set analysed once into what training, evaluation and
//! the library probe read, in shards of bounded size beside the data set.
//!
//! Layout: `DATASET/store/<key>/{store.json, shard-00000.bin, ...}`. The key hashes the analysis
//! settings and the data set's `examples.json`, so other settings or other notes select another
//! folder; each shard also records every note's audio fingerprint (size and modification time),
//! so audio changed since is never served. A note is kept as its time-pooled STFT and CQT in dB,
//! before the floor and the standardisation, which stay per draw: the floor is taken after a
//! feature-domain degradation, and the standardiser is fitted on whichever notes train. Values
//! are 8-bit steps of 0.5 dB below each view's loudest ([`format`]).
//!
//! Shards are read with positional reads rather than mapped: mapped pages of a store larger than
//! memory would count as the process's own, and a shard truncated under a mapping is a SIGBUS.

mod build;
mod format;

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::learn::error::StoreError;
pub use build::{BuildOptions, BuildReport, build, build_from};
pub use format::{GROUPS, Geometry, STEP_DB};

use crate::data::dataset::{Dataset, Split};
use crate::degrade::ChainSpec;
use crate::dsp::{CqtConfig, StftConfig};
use crate::features::Analyzer;
use crate::learn::notes::floor::NoiseFloor;
use crate::learn::notes::inputs::{
    CACHE_FRAMES, InputConfig, NOTE_RATE_HZ, NOTE_SAMPLES, RawViews, note_power, raw_views,
};
use crate::learn::notes::moments::Moments;
use crate::platform::read_exact_at;

/// Bump when the analysis or the layout changes in a way the settings do not show.
pub const STORE_FORMAT: u32 = 3;
pub const STORE_DIR: &str = "store";
const STORE_JSON: &str = "store.json";
/// About 160 MB a shard at the default settings before compression: a killed build loses at
/// most one.
pub const SHARD_NOTES: usize = 2048;

/// What a store holds; with the data set's `examples.json` it names the store's folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreSettings {
    pub format: u32,
    pub stft: StftConfig,
    pub cqt: CqtConfig,
    pub note_samples: usize,
    pub time_pool: usize,
    pub step_db: f32,
}

impl StoreSettings {
    /// The settings training and evaluation read with this input config.
    pub fn for_input(input: &InputConfig) -> Self {
        Self {
            format: STORE_FORMAT,
            stft: StftConfig::default(),
            cqt: CqtConfig::default(),
            note_samples: NOTE_SAMPLES,
            time_pool: input.time_pool,
            step_db: STEP_DB,
        }
    }

    pub fn geometry(&self) -> Geometry {
        Geometry {
            frames: CACHE_FRAMES / self.time_pool.max(1),
            stft_bins: self.stft.bins(),
            cqt_bins: self.cqt.n_bins,
        }
    }
}

/// `store.json`: what the folder holds, checked on opening against what is asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StoreMeta {
    settings: StoreSettings,
    examples_xxh3: String,
    notes: usize,
    shard_notes: usize,
}

/// Which of a shard's moment groups a split's notes add to.
pub fn group(split: Option<Split>) -> usize {
    match split {
        Some(Split::Train) => 0,
        Some(Split::Valid) => 1,
        Some(Split::Test) => 2,
        // Held-out notes, of a bank or real players, share a group: neither is trained on.
        Some(Split::TestBank | Split::TestReal) => 3,
        None => 4,
    }
}

/// A note as stored: its power and its time-pooled views in dB.
#[derive(Clone, Debug)]
pub struct StoredNote {
    pub power: f64,
    pub raw: RawViews,
}

/// The store's key: the settings and the data set's note list.
fn key(settings: &StoreSettings, examples_xxh3: &str) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(serde_json::to_string(settings).expect("settings serialise").as_bytes());
    hasher.update(examples_xxh3.as_bytes());
    hasher.digest()
}

/// The hash of the data set's examples.json files, which fix its notes and their order.
fn examples_hash(dataset: &Dataset) -> Result<String, StoreError> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for path in dataset.examples_files() {
        let bytes = std::fs::read(&path).map_err(|source| StoreError::Read { path, source })?;
        hasher.update(&bytes);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

/// Where the store of this data set and these settings lives, and its key.
pub fn location(dataset: &Dataset, settings: &StoreSettings) -> Result<(PathBuf, u64, String), StoreError> {
    let examples = examples_hash(dataset)?;
    let key = key(settings, &examples);
    Ok((dataset.root().join(STORE_DIR).join(format!("{key:016x}")), key, examples))
}

fn shard_name(k: usize) -> String {
    format!("shard-{k:05}.bin")
}

/// A note's audio fingerprint: its size and modification time; None when it cannot be read.
fn fingerprint(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    let mut bytes = meta.len().to_le_bytes().to_vec();
    bytes.extend_from_slice(&modified.as_nanos().to_le_bytes());
    Some(xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// An opened store: one file handle per shard, and the merged raw-frame sums of each split.
pub struct Store {
    dir: PathBuf,
    geometry: Geometry,
    shard_notes: usize,
    notes: usize,
    shards: Vec<Shard>,
    moments: Vec<(Moments, Moments)>,
}

/// An open shard and where each of its records ends, counted from the first record.
struct Shard {
    file: File,
    path: PathBuf,
    ends: Vec<u64>,
    /// Each record's checksum, checked as it is read.
    sums: Vec<u64>,
}

impl Store {
    /// Opens the complete store of a data set, checking every shard's header, size and checksum,
    /// and each note's audio fingerprint where its audio is still there.
    pub fn open(dataset: &Dataset, settings: &StoreSettings) -> Result<Self, StoreError> {
        let (dir, key, examples) = location(dataset, settings)?;
        let meta_path = dir.join(STORE_JSON);
        if !meta_path.exists() {
            return Err(StoreError::Missing { dir, dataset: dataset.root().to_owned() });
        }
        let text = std::fs::read_to_string(&meta_path)
            .map_err(|source| StoreError::Read { path: meta_path.clone(), source })?;
        let meta: StoreMeta = serde_json::from_str(&text)
            .map_err(|e| StoreError::Damaged { path: meta_path.clone(), problem: format!("unreadable ({e})") })?;
        if meta.settings != *settings || meta.examples_xxh3 != examples || meta.notes != dataset.notes.len() {
            return Err(StoreError::Foreign {
                path: meta_path,
                problem: "it was built with other settings or for another data set".into(),
            });
        }
        let geometry = settings.geometry();
        let count = meta.notes.div_ceil(meta.shard_notes);
        let mut shards = Vec::with_capacity(count);
        let mut moments: Vec<(Moments, Moments)> =
            (0..GROUPS).map(|_| (Moments::new(geometry.stft_bins), Moments::new(geometry.cqt_bins))).collect();
        let check_audio = dataset.has_audio();
        for k in 0..count {
            let path = dir.join(shard_name(k));
            let first = k * meta.shard_notes;
            let notes = meta.shard_notes.min(meta.notes - first);
            let shard = check_shard(&path, key, first, notes, &geometry)?;
            if check_audio {
                for (j, stored) in shard.fingerprints.iter().enumerate() {
                    let note = &dataset.notes[first + j];
                    let audio = dataset.audio_path(note);
                    if let Some(now) = fingerprint(&audio)
                        && now != *stored
                    {
                        return Err(StoreError::Stale { path, note: note.record.note_str.clone(), audio });
                    }
                }
            }
            for (total, (s, c)) in moments.iter_mut().zip(&shard.moments) {
                total.0.merge(s);
                total.1.merge(c);
            }
            shards.push(Shard { file: shard.file, path, ends: shard.ends, sums: shard.sums });
        }
        Ok(Self { dir, geometry, shard_notes: meta.shard_notes, notes: meta.notes, shards, moments })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn len(&self) -> usize {
        self.notes
    }

    pub fn is_empty(&self) -> bool {
        self.notes == 0
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn record(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        let shard = &self.shards[i / self.shard_notes];
        let j = i % self.shard_notes;
        let start = if j == 0 { 0 } else { shard.ends[j - 1] };
        let mut bytes = vec![0u8; (shard.ends[j] - start) as usize];
        let offset = format::Geometry::records_offset(shard.ends.len()) as u64 + start;
        read_exact_at(&shard.file, &mut bytes, offset)
            .map_err(|source| StoreError::Read { path: shard.path.clone(), source })?;
        if format::record_sum(&bytes) != shard.sums[j] {
            return Err(StoreError::Damaged {
                path: shard.path.clone(),
                problem: format!("corrupt (the record of its note {j} does not match its checksum)"),
            });
        }
        format::decompress_record(&bytes, &self.geometry)
            .map_err(|problem| StoreError::Damaged { path: shard.path.clone(), problem })
    }

    /// Note `i` of the data set (in its `notes` order).
    pub fn read(&self, i: usize) -> Result<StoredNote, StoreError> {
        let (power, raw) = format::decode_record(&self.record(i)?, &self.geometry);
        Ok(StoredNote { power, raw })
    }

    /// Note `i`'s views with their floor taken out, as [`RawViews::without_floor`] takes it,
    /// computed on the stored steps: what every clean draw of training needs, at a third of the
    /// cost.
    pub fn read_floored(&self, i: usize, floor: &NoiseFloor) -> Result<RawViews, StoreError> {
        let bytes = self.record(i)?;
        let g = &self.geometry;
        let (_, (stft_top, stft), (cqt_top, cqt)) = format::record_parts(&bytes, g);
        let stepped = |codes: &[u8], top: f32, bins: usize| floor.apply_to_steps(codes, top, STEP_DB, g.frames, bins);
        Ok(match (stepped(stft, stft_top, g.stft_bins), stepped(cqt, cqt_top, g.cqt_bins)) {
            (Some(stft), Some(cqt)) => {
                RawViews { stft, cqt, stft_bins: g.stft_bins, cqt_bins: g.cqt_bins, frames: g.frames }
            }
            _ => format::decode_record(&bytes, g).1.without_floor(floor),
        })
    }

    /// The per-bin sums over every raw (not time-pooled) frame of a split's notes ([`group`]).
    pub fn raw_moments(&self, split: Option<Split>) -> &(Moments, Moments) {
        &self.moments[group(split)]
    }
}

struct CheckedShard {
    file: File,
    fingerprints: Vec<u64>,
    ends: Vec<u64>,
    sums: Vec<u64>,
    moments: [(Moments, Moments); GROUPS],
}

/// Opens a shard and checks that it is whole and belongs here.
fn check_shard(path: &Path, key: u64, first: usize, notes: usize, g: &Geometry) -> Result<CheckedShard, StoreError> {
    let damaged = |problem: String| StoreError::Damaged { path: path.to_owned(), problem };
    let file = File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => damaged("missing".into()),
        _ => StoreError::Read { path: path.to_owned(), source },
    })?;
    let read = |bytes: &mut [u8], offset: usize| {
        read_exact_at(&file, bytes, offset as u64).map_err(|source| StoreError::Read { path: path.to_owned(), source })
    };
    let len = file.metadata().map_err(|source| StoreError::Read { path: path.to_owned(), source })?.len() as usize;
    let truncated = || damaged(format!("{len} bytes long, too short for a whole shard of {notes} notes (truncated?)"));
    if len < g.shard_bytes(notes, 0) {
        return Err(truncated());
    }
    let mut header = [0u8; format::HEADER_BYTES];
    read(&mut header, 0)?;
    let h = format::Header::decode(&header).map_err(damaged)?;
    if h.key != key {
        return Err(StoreError::Foreign {
            path: path.to_owned(),
            problem: "its key differs (other settings or another data set)".into(),
        });
    }
    if h.format != STORE_FORMAT || h.geometry != *g || h.first != first as u64 || h.notes as usize != notes {
        return Err(damaged("inconsistent with store.json".into()));
    }
    let mut prints = vec![0u8; 8 * notes];
    read(&mut prints, format::HEADER_BYTES)?;
    let mut ends_bytes = vec![0u8; 8 * notes];
    read(&mut ends_bytes, format::Geometry::ends_offset(notes))?;
    let words = |b: &[u8]| -> Vec<u64> {
        b.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect()
    };
    let ends = words(&ends_bytes);
    let mut sums_bytes = vec![0u8; 8 * notes];
    read(&mut sums_bytes, format::Geometry::sums_offset(notes))?;
    let records = ends.last().copied().unwrap_or(0) as usize;
    if len != g.shard_bytes(notes, records) {
        return Err(truncated());
    }
    let tail_at = format::Geometry::records_offset(notes) + records;
    let mut tail = vec![0u8; len - tail_at];
    read(&mut tail, tail_at)?;
    let (moments_bytes, sum) = tail.split_at(tail.len() - 8);
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&header);
    hasher.update(&prints);
    hasher.update(&ends_bytes);
    hasher.update(&sums_bytes);
    hasher.update(moments_bytes);
    if hasher.digest() != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
        return Err(damaged("corrupt (its checksum does not match)".into()));
    }
    if ends.windows(2).any(|w| w[0] > w[1]) {
        return Err(damaged("corrupt (its record ends go backwards)".into()));
    }
    let fingerprints = words(&prints);
    let sums = words(&sums_bytes);
    Ok(CheckedShard { file, fingerprints, ends, sums, moments: format::decode_moments(moments_bytes, g) })
}

/// The given notes of a data set analysed as a store holds them, optionally through a
/// degradation chain (each note with its own seed, as `dataset degrade` draws them), on
/// `threads` threads.
pub fn dataset_views(
    dataset: &Dataset,
    indices: &[usize],
    chain: Option<(&ChainSpec, u64)>,
    input: &InputConfig,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<StoredNote>, String> {
    crate::data::parallel::map_parallel(indices, threads, progress, Analyzer::default, |analyzer, &i| {
        let note = &dataset.notes[i];
        let mut samples = dataset.load_audio(note).map_err(|e| e.to_string())?;
        if let Some((spec, seed)) = chain {
            let note_seed = crate::data::degraded::note_seed(seed, &note.record.note_str);
            let stages = spec.draw(note_seed).map_err(|e| e.to_string())?;
            let degraded = crate::degrade::chain::apply_chain(&samples, NOTE_RATE_HZ, &stages)
                .map_err(|e| format!("{}: {e}", note.record.note_str))?;
            samples = degraded.mid();
        }
        let raw = raw_views(analyzer, &samples).pool_time(input.time_pool);
        Ok(StoredNote { power: note_power(&samples), raw })
    })
}
