//! A data set of real played recordings, in NSynth's layout: phrases cut into notes by onset and
//! pitch tracking, single notes taken whole. The sources (Debian packages) and what each may be
//! used for are listed in `assets/real_sources.toml`; a test-only source's notes are all in the
//! split `test_real`, never trained on.

pub mod rcc;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dataset::{
    AUDIO_DIR, DatasetError, EXAMPLES_JSON, NOTE_RATE_HZ, NOTE_SAMPLES, NoteRecord, Split, TAXONOMY_JSON, audio_path,
    write_examples,
};
use super::taxonomy::{Taxonomy, nsynth_family_id, nsynth_source_id};
use crate::atomic_file::write_atomically;
use crate::audio::clip::Clip;
use crate::audio::load::load_clip_from_bytes;
use crate::audio::save::save_wav_pcm16;
use crate::dsp::descriptors::describe_note;
pub use crate::dsp::segment::CutKind;
use crate::dsp::segment::{NoteSegment, cut_note, segment_notes};

/// The shipped list of sources.
pub const REAL_SOURCES_TOML: &str = include_str!("../../../assets/real_sources.toml");

/// Notes per source, instrument and split, written beside examples.json.
pub const COUNTS_JSON: &str = "real_counts.json";

/// What a source's notes may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Use {
    /// Only ever evaluated (`test_real`).
    Test,
    /// May be trained on: its notes go to `train`, but for the files marked `held`.
    Train,
}

/// How a file holds its notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holds {
    /// A played phrase, cut into notes by onset and pitch.
    Phrase,
    /// One note: the longest steady note found in it.
    Note,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub name: String,
    /// The Debian package it comes from.
    pub package: String,
    #[serde(rename = "use")]
    pub use_: Use,
    /// A Qt resource file (under the root) whose files are named below; otherwise they are
    /// files under the root.
    #[serde(default)]
    pub rcc: Option<String>,
    pub files: Vec<FileSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// A path under the root (or inside the resource file); a trailing `/*` takes every file of
    /// the folder, in name order.
    pub path: String,
    /// A taxonomy instrument, or an instrument outside it (its family then given).
    pub instrument: String,
    #[serde(default)]
    pub family: Option<String>,
    pub holds: Holds,
    /// A train-eligible source's file kept for `test_real` instead.
    #[serde(default)]
    pub held: bool,
    /// A saxophone named by its range: notes under this MIDI note make it the `low` instrument.
    #[serde(default)]
    pub lowest: Option<(u8, String)>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealSources {
    pub source: Vec<SourceSpec>,
}

impl RealSources {
    pub fn parse(text: &str) -> Result<Self, DatasetError> {
        toml::from_str(text).map_err(|e| DatasetError::Invalid(format!("real sources: {e}")))
    }

    pub fn shipped() -> Self {
        Self::parse(REAL_SOURCES_TOML).expect("the shipped real sources parse (tested)")
    }
}

/// What a build found, by source and instrument.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RealReport {
    /// note counts: source -> instrument -> split -> notes
    pub counts: BTreeMap<String, BTreeMap<String, BTreeMap<String, usize>>>,
    /// Notes found but left out, with why.
    pub left_out: Vec<String>,
    pub notes: usize,
}

/// One note ready to write.
struct Cut {
    record: NoteRecord,
    samples: Vec<f32>,
}

/// Builds the data set in `out` from the sources' files under `root`.
pub fn build_real(
    sources: &RealSources,
    root: &Path,
    out: &Path,
    taxonomy: &Taxonomy,
    cut: CutKind,
    progress: &dyn Fn(usize, usize),
) -> Result<RealReport, DatasetError> {
    let mut report = RealReport::default();
    let mut cuts = Vec::new();
    let total: usize = sources.source.iter().map(|s| s.files.len()).sum();
    let mut done = 0;
    for source in &sources.source {
        let files = source_files(source, root)?;
        for spec in &source.files {
            let matching: Vec<&(String, Vec<u8>)> = files.iter().filter(|(p, _)| matches(&spec.path, p)).collect();
            if matching.is_empty() {
                return Err(DatasetError::Invalid(format!(
                    "{}: no file {} under {} (package {})",
                    source.name,
                    spec.path,
                    root.display(),
                    source.package
                )));
            }
            for (path, bytes) in matching {
                cut_file(source, spec, path, bytes, taxonomy, cut, &mut cuts, &mut report)?;
            }
            done += 1;
            progress(done, total);
        }
    }
    let audio_dir = out.join(AUDIO_DIR);
    std::fs::create_dir_all(&audio_dir).map_err(|source| DatasetError::Write { path: audio_dir.clone(), source })?;
    let mut records = BTreeMap::new();
    for cut in cuts {
        let path = audio_path(out, &cut.record.note_str);
        save_wav_pcm16(&path, &Clip::new(cut.record.note_str.clone(), cut.samples, NOTE_RATE_HZ))
            .map_err(|e| DatasetError::Write { path: path.clone(), source: std::io::Error::other(e) })?;
        let split = cut.record.split.map_or("", |s| s.as_str()).to_string();
        let source = cut.record.bank.clone().unwrap_or_default();
        *report
            .counts
            .entry(source)
            .or_default()
            .entry(cut.record.instrument_str.clone())
            .or_default()
            .entry(split)
            .or_default() += 1;
        records.insert(cut.record.note_str.clone(), cut.record);
    }
    for (i, record) in records.values_mut().enumerate() {
        record.note = i as u64;
    }
    let taxonomy_path = out.join(TAXONOMY_JSON);
    write_atomically(&taxonomy_path, |w| {
        serde_json::to_writer_pretty(&mut *w, taxonomy).map_err(std::io::Error::other)
    })
    .map_err(|source| DatasetError::Write { path: taxonomy_path, source })?;
    write_examples(&out.join(EXAMPLES_JSON), &records)?;
    remove_stale_audio(&audio_dir, &records)?;
    report.notes = records.len();
    let counts_path = out.join(COUNTS_JSON);
    write_atomically(&counts_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &report.counts).map_err(std::io::Error::other)
    })
    .map_err(|source| DatasetError::Write { path: counts_path, source })?;
    Ok(report)
}

/// Removes the WAVs of an earlier build that no note of this one names: cut again with other
/// settings or sources, a folder would otherwise serve notes its examples.json no longer has.
fn remove_stale_audio(audio_dir: &Path, records: &BTreeMap<String, NoteRecord>) -> Result<(), DatasetError> {
    let entries =
        std::fs::read_dir(audio_dir).map_err(|source| DatasetError::Read { path: audio_dir.to_owned(), source })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = path.extension().is_some_and(|e| e == "wav")
            && path.file_stem().and_then(|s| s.to_str()).is_some_and(|stem| !records.contains_key(stem));
        if stale {
            std::fs::remove_file(&path).map_err(|source| DatasetError::Write { path: path.clone(), source })?;
        }
    }
    Ok(())
}

/// A file spec's path matches a file's: equal, or `DIR/*` over the files directly in DIR.
fn matches(spec: &str, path: &str) -> bool {
    match spec.strip_suffix("/*") {
        Some(dir) => path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')).is_some_and(|r| !r.contains('/')),
        None => spec == path,
    }
}

/// Every file a source names, read: from its resource file, or from the folders under root.
fn source_files(source: &SourceSpec, root: &Path) -> Result<Vec<(String, Vec<u8>)>, DatasetError> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| DatasetError::Read { path: path.to_owned(), source: e });
    if let Some(rcc) = &source.rcc {
        let path = root.join(rcc);
        let files =
            rcc::read_rcc(&read(&path)?).map_err(|e| DatasetError::BadAudio { path, problem: e.to_string() })?;
        // Named by the file's name inside the resource tree.
        return Ok(files
            .into_iter()
            .map(|f| (f.path.rsplit('/').next().unwrap_or_default().to_string(), f.data))
            .collect());
    }
    let mut out = Vec::new();
    for spec in &source.files {
        match spec.path.strip_suffix("/*") {
            Some(dir) => {
                let folder = root.join(dir);
                let mut entries: Vec<PathBuf> = std::fs::read_dir(&folder)
                    .map_err(|e| DatasetError::Read { path: folder.clone(), source: e })?
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect();
                entries.sort();
                for p in entries {
                    let name = format!("{dir}/{}", p.file_name().unwrap_or_default().to_string_lossy());
                    out.push((name, read(&p)?));
                }
            }
            None => out.push((spec.path.clone(), read(&root.join(&spec.path))?)),
        }
    }
    Ok(out)
}

/// The notes of one file, labelled.
#[allow(clippy::too_many_arguments)]
fn cut_file(
    source: &SourceSpec,
    spec: &FileSpec,
    path: &str,
    bytes: &[u8],
    taxonomy: &Taxonomy,
    cut: CutKind,
    cuts: &mut Vec<Cut>,
    report: &mut RealReport,
) -> Result<(), DatasetError> {
    let label = format!("{}:{path}", source.name);
    let clip = load_clip_from_bytes(&label, bytes)
        .map_err(|e| DatasetError::BadAudio { path: PathBuf::from(&label), problem: e.to_string() })?;
    let x = clip.samples;
    let mut notes = segment_notes(&x, NOTE_RATE_HZ);
    if spec.holds == Holds::Note {
        // A single note's file: its longest steady note (a release can read as a second one).
        notes = notes.into_iter().max_by_key(|n| n.end - n.start).into_iter().collect();
    }
    let lowest = notes.iter().map(|n| n.pitch).min();
    let instrument = match (&spec.lowest, lowest) {
        (Some((below, low)), Some(l)) if l < *below => low.clone(),
        _ => spec.instrument.clone(),
    };
    let known = taxonomy.instruments.iter().position(|i| i.name == instrument);
    let family = match known {
        Some(i) => taxonomy.instruments[i].family.clone(),
        None => spec.family.clone().ok_or_else(|| {
            DatasetError::Invalid(format!("{label}: {instrument} is not in the taxonomy and has no family"))
        })?,
    };
    let source_kind = known.map_or("acoustic", |i| taxonomy.instruments[i].source.as_str()).to_string();
    let split = match (source.use_, spec.held) {
        (Use::Train, false) => Split::Train,
        _ => Split::TestReal,
    };
    let file_slug: String = path
        .rsplit_once('.')
        .map_or(path, |(s, _)| s)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    for (k, note) in notes.iter().enumerate() {
        if let Some(i) = known {
            let inst = &taxonomy.instruments[i];
            if !(inst.pitch_lo..=inst.pitch_hi).contains(&note.pitch) {
                report.left_out.push(format!("{label} note {k} (MIDI {}): outside {instrument}'s range", note.pitch));
                continue;
            }
        }
        let instrument_str = format!("{family}_{source_kind}_{}_{instrument}", source.name);
        let note_str = format!("{instrument_str}-{file_slug}-{k:03}-{:03}", note.pitch);
        let samples = cut_note(&x, note, note.start, NOTE_SAMPLES, cut, NOTE_RATE_HZ);
        let record = record(
            &note_str,
            &instrument_str,
            note,
            taxonomy,
            known,
            &family,
            &source_kind,
            source,
            split,
            cut,
            &samples,
        );
        cuts.push(Cut { record, samples });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn record(
    note_str: &str,
    instrument_str: &str,
    note: &NoteSegment,
    taxonomy: &Taxonomy,
    known: Option<usize>,
    family: &str,
    source_kind: &str,
    source: &SourceSpec,
    split: Split,
    cut: CutKind,
    samples: &[f32],
) -> NoteRecord {
    let mut extra = serde_json::Map::new();
    extra.insert("onset_secs".into(), serde_json::json!(note.start as f64 / f64::from(NOTE_RATE_HZ)));
    extra.insert("length_secs".into(), serde_json::json!((note.end - note.start) as f64 / f64::from(NOTE_RATE_HZ)));
    extra.insert("tracked_midi".into(), serde_json::json!(note.midi));
    extra.insert("cut".into(), serde_json::json!(cut));
    NoteRecord {
        note: 0,
        note_str: note_str.to_string(),
        instrument: 0,
        instrument_str: instrument_str.to_string(),
        pitch: note.pitch,
        // A played note has no MIDI velocity; the middle level stands for it.
        velocity: 75,
        sample_rate: NOTE_RATE_HZ,
        instrument_family: nsynth_family_id(family).unwrap_or(u8::MAX),
        instrument_family_str: family.to_string(),
        instrument_source: nsynth_source_id(source_kind).unwrap_or(u8::MAX),
        instrument_source_str: source_kind.to_string(),
        qualities: vec![0; 10],
        qualities_str: Vec::new(),
        instrument16: known.map(|i| i as u8),
        family8: taxonomy.family_index(family).map(|f| f as u8),
        bank: Some(source.name.clone()),
        split: Some(split),
        descriptors: Some(describe_note(samples, NOTE_RATE_HZ, note.midi)),
        extra,
    }
}
