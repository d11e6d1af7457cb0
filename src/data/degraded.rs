//! The paired target domain of a whole data set: every note through a degradation chain, with
//! its own seed drawn from the chain's seed and its note_str, the drawn values kept in its record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::dataset::{
    AUDIO_DIR, DatasetError, EXAMPLES_JSON, NOTE_RATE_HZ, NoteRecord, TAXONOMY_JSON, audio_path, check_note_str,
    parse_note_wav, read_examples, read_note_wav, write_examples,
};
use super::parallel::map_parallel;
use crate::audio::{Clip, save_wav_pcm16};
use crate::degrade::{ChainSpec, apply_chain};

/// The key in a degraded note's record holding what was done to it.
pub const DEGRADATION_KEY: &str = "degradation";

pub struct DegradeDatasetOptions {
    pub dataset: PathBuf,
    pub out: PathBuf,
    pub chain: ChainSpec,
    pub seed: u64,
    pub threads: usize,
}

#[derive(Debug, Default)]
pub struct DegradeReport {
    pub notes: usize,
    pub written: usize,
    /// Notes whose output from an earlier run, with the same draw from the same audio, was kept.
    pub reused: usize,
    /// Notes that exceeded full scale and were clipped in 16-bit PCM.
    pub clipped: usize,
    pub elapsed_secs: f64,
}

/// The seed of one note: the same for a note whatever else is in the data set or the order of work.
pub fn note_seed(chain_seed: u64, note_str: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(note_str.as_bytes(), chain_seed)
}

/// Degrades every note of `options.dataset` into `options.out` (examples.json, audio/, taxonomy.json).
pub fn degrade_dataset(
    options: &DegradeDatasetOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<DegradeReport, DatasetError> {
    let start = Instant::now();
    if options.threads == 0 {
        return Err(DatasetError::Invalid("--threads must be at least 1".into()));
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(&options.dataset, &options.out) {
        return Err(DatasetError::Invalid(format!(
            "--out {} is the data set itself; the degraded copy needs its own folder",
            options.out.display()
        )));
    }
    options.chain.check().map_err(|e| DatasetError::Invalid(e.to_string()))?;
    let records = read_examples(&options.dataset.join(EXAMPLES_JSON))?;
    let examples = options.dataset.join(EXAMPLES_JSON);
    for note_str in records.keys() {
        check_note_str(note_str).map_err(|problem| DatasetError::BadNote {
            path: examples.clone(),
            note_str: note_str.clone(),
            problem,
        })?;
    }
    let earlier = read_examples(&options.out.join(EXAMPLES_JSON)).unwrap_or_default();
    let audio_dir = options.out.join(AUDIO_DIR);
    std::fs::create_dir_all(&audio_dir).map_err(|source| DatasetError::Write { path: audio_dir.clone(), source })?;

    let notes: Vec<&NoteRecord> = records.values().collect();
    let results = map_parallel(
        &notes,
        options.threads,
        progress,
        || (),
        |_, record| degrade_note(record, earlier.get(&record.note_str), options),
    )?;
    let mut report = DegradeReport::default();
    let mut out_records = BTreeMap::new();
    for (record, written, clipped) in results {
        report.written += usize::from(written);
        report.reused += usize::from(!written);
        report.clipped += usize::from(clipped);
        out_records.insert(record.note_str.clone(), record);
    }
    let taxonomy = options.dataset.join(TAXONOMY_JSON);
    if taxonomy.exists() {
        let target = options.out.join(TAXONOMY_JSON);
        let bytes = std::fs::read(&taxonomy).map_err(|source| DatasetError::Read { path: taxonomy.clone(), source })?;
        crate::atomic_file::write_atomically(&target, |w| std::io::Write::write_all(w, &bytes))
            .map_err(|source| DatasetError::Write { path: target, source })?;
    }
    write_examples(&options.out.join(EXAMPLES_JSON), &out_records)?;
    report.notes = out_records.len();
    report.elapsed_secs = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Degrades one note; returns its record, whether it was written (not reused), and clipped.
fn degrade_note(
    record: &NoteRecord,
    earlier: Option<&NoteRecord>,
    options: &DegradeDatasetOptions,
) -> Result<(NoteRecord, bool, bool), DatasetError> {
    let source = audio_path(&options.dataset, &record.note_str);
    let target = audio_path(&options.out, &record.note_str);
    let seed = note_seed(options.seed, &record.note_str);
    let stages = options.chain.draw(seed).map_err(|e| DatasetError::Invalid(e.to_string()))?;
    let bytes =
        std::fs::read(&source).map_err(|source_err| DatasetError::Read { path: source.clone(), source: source_err })?;
    // What the output depends on: the draw and the audio. The same key means the same output.
    let key = format!(
        "{:016x}",
        xxhash_rust::xxh3::xxh3_64_with_seed(
            serde_json::to_string(&stages).expect("plain data").as_bytes(),
            xxhash_rust::xxh3::xxh3_64(&bytes)
        )
    );
    if let Some(old) = earlier
        && old.extra.get(DEGRADATION_KEY).and_then(|d| d.get("key")).and_then(|k| k.as_str()) == Some(key.as_str())
        && read_note_wav(&target).is_ok()
    {
        return Ok((old.clone(), false, false));
    }
    // Decoded from the bytes already read for the key: each note is read from disk once.
    let samples = parse_note_wav(std::io::Cursor::new(&bytes), &source)?;
    let degraded = apply_chain(&samples, NOTE_RATE_HZ, &stages)
        .map_err(|e| DatasetError::BadAudio { path: source.clone(), problem: format!("cannot degrade: {e}") })?;
    let mid = degraded.mid();
    let clipped = mid.iter().any(|s| s.abs() > 1.0);
    save_wav_pcm16(&target, &Clip::new(record.note_str.clone(), mid, NOTE_RATE_HZ))
        .map_err(|e| DatasetError::Write { path: target.clone(), source: std::io::Error::other(e) })?;
    let mut out = record.clone();
    out.extra.insert(
        DEGRADATION_KEY.into(),
        serde_json::json!({ "chain_seed": options.seed, "seed": seed, "key": key, "stages": degraded.applied }),
    );
    Ok((out, true, clipped))
}
