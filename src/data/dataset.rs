//! A data set in NSynth's layout: `examples.json` (note_str -> labels) and `audio/<note_str>.wav`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::nsynth::NsynthMapping;
pub use super::record::{NoteRecord, Split};
use super::schema::{LabelSchema, NoteClasses, PitchLabels};
use super::taxonomy::Taxonomy;
use crate::atomic_file::write_atomically;

/// NSynth's notes are 4 s at 16 kHz.
pub const NOTE_SAMPLES: usize = 64_000;
pub const NOTE_RATE_HZ: u32 = 16_000;
pub const EXAMPLES_JSON: &str = "examples.json";
pub const AUDIO_DIR: &str = "audio";
/// The taxonomy a data set was rendered with, kept beside its examples.json.
pub const TAXONOMY_JSON: &str = "taxonomy.json";

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid examples.json: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path}: note {note_str:?}: {problem}")]
    BadNote { path: PathBuf, note_str: String, problem: String },
    #[error("{path}: {problem}")]
    BadAudio { path: PathBuf, problem: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Taxonomy(#[from] super::taxonomy::TaxonomyError),
    #[error(transparent)]
    Bank(#[from] super::soundfont::BankError),
    #[error("{0}")]
    Invalid(String),
}

/// The targets of every task head for one note; `None` where the data set has no such label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Labels {
    pub instrument: Option<u8>,
    pub family: Option<u8>,
    pub pitch_class: u8,
    pub velocity_bin: u8,
    pub descriptors: Option<[f32; 5]>,
}

/// A note with its labels resolved against the taxonomy (and, for NSynth, the mapping).
#[derive(Clone, Debug)]
pub struct Note {
    pub record: NoteRecord,
    pub labels: Labels,
    pub split: Option<Split>,
    /// Which of the data set's folders holds its audio (0 but for an NSynth download's root).
    pub part: u8,
}

/// An opened data set folder.
#[derive(Clone, Debug)]
pub struct Dataset {
    root: PathBuf,
    pub taxonomy: Taxonomy,
    /// Sorted by note_str, so indices are stable for a given examples.json.
    pub notes: Vec<Note>,
    /// A folder without our taxonomy: a real NSynth split, whose own labels are its schema.
    nsynth_native: bool,
    /// The folders holding examples.json and audio/: the root itself, or the NSynth splits
    /// (nsynth-train, nsynth-valid, nsynth-test) of a download's root.
    parts: Vec<PathBuf>,
}

impl Dataset {
    /// Opens a folder of ours (with the taxonomy it was rendered with, `taxonomy.json`) or a real
    /// NSynth split (the shipped taxonomy, labels mapped by the shipped mapping).
    pub fn open(root: &Path) -> Result<Self, DatasetError> {
        let path = root.join(TAXONOMY_JSON);
        let taxonomy = if path.exists() { Taxonomy::load(&path)? } else { Taxonomy::default() };
        Self::open_with(root, taxonomy, &NsynthMapping::default())
    }

    pub fn open_with(root: &Path, taxonomy: Taxonomy, mapping: &NsynthMapping) -> Result<Self, DatasetError> {
        let parts = parts(root);
        let nsynth_native = !root.join(TAXONOMY_JSON).exists();
        let mut notes = Vec::new();
        for (part, folder) in parts.iter().enumerate() {
            Self::read_part(folder, part, &taxonomy, mapping, nsynth_native, &mut notes)?;
        }
        // One order over every part, by note_str: indices are stable for given examples.json files.
        notes.sort_by(|a, b| a.record.note_str.cmp(&b.record.note_str));
        if let Some(w) = notes.windows(2).find(|w| w[0].record.note_str == w[1].record.note_str) {
            let path = parts[usize::from(w[1].part)].join(EXAMPLES_JSON);
            return Err(bad_note(&path, &w[1].record.note_str, "another split folder has this note too".into()));
        }
        Ok(Self { root: root.to_owned(), taxonomy, notes, nsynth_native, parts })
    }

    /// The notes of one folder with an examples.json and an audio/ folder.
    fn read_part(
        root: &Path,
        part: usize,
        taxonomy: &Taxonomy,
        mapping: &NsynthMapping,
        nsynth_native: bool,
        notes: &mut Vec<Note>,
    ) -> Result<(), DatasetError> {
        let path = root.join(EXAMPLES_JSON);
        let records = read_examples(&path)?;
        // Real NSynth folders carry their split in the folder name (nsynth-train, nsynth-valid, ...).
        let folder_split = folder_split(root);
        notes.reserve(records.len());
        for (key, record) in records {
            if nsynth_native {
                super::schema::check_nsynth_labels(&record).map_err(|problem| bad_note(&path, &key, problem))?;
            }
            if key != record.note_str {
                return Err(bad_note(&path, &key, format!("its key differs from its note_str {:?}", record.note_str)));
            }
            check_note_str(&record.note_str).map_err(|problem| bad_note(&path, &key, problem))?;
            if record.pitch > 127 || record.velocity > 127 {
                return Err(bad_note(&path, &key, "pitch and velocity must lie in 0..=127".into()));
            }
            let instrument = match record.instrument16 {
                Some(i) if usize::from(i) >= taxonomy.instruments.len() => {
                    return Err(bad_note(&path, &key, format!("instrument16 {i} is not in the taxonomy")));
                }
                Some(i) => Some(i),
                None => mapping.instrument(&record.instrument_str, taxonomy),
            };
            let family = match record.family8 {
                Some(f) if usize::from(f) >= taxonomy.families.len() => {
                    return Err(bad_note(&path, &key, format!("family8 {f} is not in the taxonomy")));
                }
                Some(f) => Some(f),
                None => mapping.family(&record.instrument_family_str, taxonomy),
            };
            let labels = Labels {
                instrument,
                family,
                pitch_class: record.pitch % 12,
                velocity_bin: taxonomy.velocity_bin(record.velocity) as u8,
                descriptors: record.descriptors.map(|d| d.to_array()),
            };
            let split = record.split.or(folder_split);
            notes.push(Note { record, labels, split, part: part as u8 });
        }
        Ok(())
    }

    /// The labels this data set answers: ours for a folder rendered here (it carries its
    /// taxonomy), NSynth's own for a real NSynth folder.
    pub fn schema(&self, pitch: PitchLabels) -> LabelSchema {
        if self.nsynth_native { LabelSchema::nsynth(pitch) } else { LabelSchema::instruments(&self.taxonomy, pitch) }
    }

    /// Note `i`'s labels under a schema; None when it lacks one the schema asks.
    pub fn classes(&self, i: usize, schema: &LabelSchema) -> Option<NoteClasses> {
        let note = &self.notes[i];
        schema.classes_of(&note.record, note.labels.instrument, note.labels.family)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn audio_path(&self, note: &Note) -> PathBuf {
        audio_path(&self.parts[usize::from(note.part)], &note.record.note_str)
    }

    /// The examples.json files the notes come from: the folder's own, or each NSynth split's.
    pub fn examples_files(&self) -> Vec<PathBuf> {
        self.parts.iter().map(|p| p.join(EXAMPLES_JSON)).collect()
    }

    /// Whether any of the data set's audio folders is there (a store can train without them).
    pub fn has_audio(&self) -> bool {
        self.parts.iter().any(|p| p.join(AUDIO_DIR).is_dir())
    }

    /// The note's samples, checked to be NSynth's 4 s of 16 kHz mono.
    pub fn load_audio(&self, note: &Note) -> Result<Vec<f32>, DatasetError> {
        read_note_wav(&self.audio_path(note))
    }

    /// Indices of the notes in a split.
    pub fn split_indices(&self, split: Split) -> Vec<usize> {
        (0..self.notes.len()).filter(|&i| self.notes[i].split == Some(split)).collect()
    }

    /// Banks present, sorted.
    pub fn banks(&self) -> Vec<String> {
        let banks: std::collections::BTreeSet<&String> =
            self.notes.iter().filter_map(|n| n.record.bank.as_ref()).collect();
        banks.into_iter().cloned().collect()
    }
}

pub fn audio_path(root: &Path, note_str: &str) -> PathBuf {
    root.join(AUDIO_DIR).join(format!("{note_str}.wav"))
}

/// A note_str becomes a file name, so it must not name anything outside `audio/`.
pub fn check_note_str(note_str: &str) -> Result<(), String> {
    let safe = !note_str.is_empty()
        && !note_str.starts_with('.')
        && note_str.len() <= 200
        && note_str.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if safe { Ok(()) } else { Err("note_str must be a plain file name of [A-Za-z0-9_.-] not starting with '.'".into()) }
}

fn bad_note(path: &Path, note_str: &str, problem: String) -> DatasetError {
    DatasetError::BadNote { path: path.to_owned(), note_str: note_str.to_owned(), problem }
}

/// The folders a data set's notes come from: the root when it has an examples.json, otherwise its
/// NSynth split folders (named for their split, each with an examples.json), in name order.
fn parts(root: &Path) -> Vec<PathBuf> {
    if root.join(EXAMPLES_JSON).exists() {
        return vec![root.to_owned()];
    }
    let mut splits: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(EXAMPLES_JSON).is_file() && folder_split(p).is_some())
                .collect()
        })
        .unwrap_or_default();
    splits.sort();
    // Without any, the root's own (missing) examples.json is what the error names.
    if splits.is_empty() { vec![root.to_owned()] } else { splits }
}

fn folder_split(root: &Path) -> Option<Split> {
    let name = root.file_name()?.to_string_lossy().to_lowercase();
    [Split::Train, Split::Valid, Split::Test].into_iter().find(|s| {
        let suffix = s.as_str();
        name == suffix || name.ends_with(&format!("-{suffix}")) || name.ends_with(&format!("_{suffix}"))
    })
}

pub fn read_examples(path: &Path) -> Result<BTreeMap<String, NoteRecord>, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read { path: path.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|source| DatasetError::Parse { path: path.to_owned(), source })
}

/// Writes examples.json atomically, keys sorted, so a killed run never leaves half of it.
pub fn write_examples(path: &Path, records: &BTreeMap<String, NoteRecord>) -> Result<(), DatasetError> {
    write_atomically(path, |w| {
        serde_json::to_writer_pretty(&mut *w, records).map_err(std::io::Error::other)?;
        std::io::Write::write_all(w, b"\n")
    })
    .map_err(|source| DatasetError::Write { path: path.to_owned(), source })
}

/// Reads a note WAV and insists on NSynth's format: mono, 16 kHz, exactly 4 s.
pub fn read_note_wav(path: &Path) -> Result<Vec<f32>, DatasetError> {
    let file = std::fs::File::open(path)
        .map_err(|e| DatasetError::BadAudio { path: path.to_owned(), problem: format!("cannot read WAV: {e}") })?;
    parse_note_wav(std::io::BufReader::new(file), path)
}

/// As [`read_note_wav`], for a note already in memory; `path` names it in errors.
pub fn parse_note_wav<R: std::io::Read>(source: R, path: &Path) -> Result<Vec<f32>, DatasetError> {
    let bad = |problem: String| DatasetError::BadAudio { path: path.to_owned(), problem };
    let mut reader = hound::WavReader::new(source).map_err(|e| bad(format!("cannot read WAV: {e}")))?;
    let spec = reader.spec();
    if spec.channels != 1 || spec.sample_rate != NOTE_RATE_HZ {
        return Err(bad(format!(
            "expected mono at {NOTE_RATE_HZ} Hz, found {} channel(s) at {} Hz",
            spec.channels, spec.sample_rate
        )));
    }
    if reader.duration() as usize != NOTE_SAMPLES {
        return Err(bad(format!("expected {NOTE_SAMPLES} samples (4 s), found {}", reader.duration())));
    }
    let samples: Result<Vec<f32>, hound::Error> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect(),
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1_u64 << (bits - 1)) as f32;
            reader.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect()
        }
        (format, bits) => return Err(bad(format!("unsupported sample format {format:?} with {bits} bits"))),
    };
    samples.map_err(|e| bad(format!("truncated or unreadable samples: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_str_cannot_escape_the_folder() {
        for bad in ["", "../x", "a/b", "a\\b", ".hidden", "..", "a b", "x\0y"] {
            assert!(check_note_str(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["keyboard_acoustic_004-060-100", "guitar_electronic_fluidr3_gm_07-040-025", "a.b"] {
            assert!(check_note_str(good).is_ok(), "{good:?} rejected");
        }
    }

    #[test]
    fn splits_round_trip_through_their_names() {
        for split in Split::ALL {
            assert_eq!(Split::parse(split.as_str()), Some(split));
            let json = serde_json::to_string(&split).unwrap();
            assert_eq!(json, format!("\"{}\"", split.as_str()));
        }
    }

    #[test]
    fn nsynth_folder_names_give_the_split() {
        assert_eq!(folder_split(Path::new("/data/nsynth-valid")), Some(Split::Valid));
        assert_eq!(folder_split(Path::new("/data/nsynth-test")), Some(Split::Test));
        assert_eq!(folder_split(Path::new("/data/mine")), None);
        assert_eq!(folder_split(Path::new("/data/latest")), None);
    }
}
