//! Renders the taxonomy from sample libraries (SF2 or GUS patches) into an NSynth-layout data
//! set, on all cores, resumable. A program a library lacks, or one its exclusion list names, is
//! left out with a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;
use rand_chacha::ChaCha8Rng;

use super::dataset::{
    AUDIO_DIR, DatasetError, EXAMPLES_JSON, NOTE_RATE_HZ, NoteRecord, Split, TAXONOMY_JSON, audio_path, read_note_wav,
    write_examples,
};
use super::library::{Library, LibraryRenderer};
use super::parallel::map_parallel;
use super::soundfont::{NoteSpec, peak_abs};
use super::taxonomy::{Taxonomy, nsynth_family_id, nsynth_source_id};
use crate::atomic_file::write_atomically;
use crate::audio::{Clip, save_wav_pcm16};
use crate::dsp::descriptors::describe_note;

/// A render whose peak stays below -80 dBFS is a missing sample, not a quiet note: the softest
/// real notes (a high vibraphone at velocity 25 in FluidR3) peak near -60 dBFS after the gain below.
pub const DEFAULT_SILENCE_PEAK: f32 = 1e-4;
/// rustysynth's output peaks at -9 dBFS for the loudest notes of FluidR3 and TimGM6mb; 6 dB more
/// keeps the softest notes further above the 16-bit quantisation floor without clipping.
pub const RENDER_GAIN: f32 = 2.0;
/// Pitches are split in runs of this many neighbours, one to valid and one to test per run, so
/// every register of every instrument is represented in each split (80/10/10).
const SPLIT_RUN: usize = 10;

#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// The first `train_banks` are split into train/valid/test; every further bank is held out whole.
    pub soundfonts: Vec<PathBuf>,
    /// At least 1 and at most the number of banks.
    pub train_banks: usize,
    pub out: PathBuf,
    pub pitch_step: u8,
    /// None: the taxonomy's velocities.
    pub velocities: Option<Vec<u8>>,
    pub seed: u64,
    pub threads: usize,
    pub taxonomy: Taxonomy,
    pub silence_peak: f32,
    /// Per bank (by its name, [`bank_slug`]): GM programs never rendered from it, e.g. ones that
    /// hold another library's recordings.
    pub exclude: BTreeMap<String, Vec<u8>>,
}

impl SynthOptions {
    pub fn new(soundfonts: Vec<PathBuf>, out: PathBuf) -> Self {
        Self {
            soundfonts,
            train_banks: 1,
            out,
            pitch_step: 1,
            velocities: None,
            seed: 0,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            taxonomy: Taxonomy::default(),
            silence_peak: DEFAULT_SILENCE_PEAK,
            exclude: BTreeMap::new(),
        }
    }
}

/// A note that was planned but is not in the data set, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct LeftOut {
    pub what: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct SynthReport {
    /// Notes in the written examples.json.
    pub notes: usize,
    pub rendered: usize,
    /// Valid WAVs from an earlier run that were kept.
    pub reused: usize,
    pub left_out: Vec<LeftOut>,
    /// Notes whose render exceeded full scale and was clipped when written as 16-bit PCM.
    pub clipped: usize,
    pub elapsed_secs: f64,
}

/// One note to render: its record (labels filled in, descriptors pending) and where it comes from.
#[derive(Clone, Debug)]
pub struct PlannedNote {
    pub record: NoteRecord,
    pub bank: usize,
    pub program: u8,
}

/// File-name-safe bank name from the SoundFont's file stem: `FluidR3_GM.sf2` -> `fluidr3_gm`.
pub fn bank_slug(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let slug: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if slug.is_empty() { "bank".into() } else { slug }
}

/// Parses `--exclude NAME:P,P,...` (a bank's name and the GM programs never rendered from it).
pub fn parse_exclusion(text: &str) -> Result<(String, Vec<u8>), String> {
    let (name, programs) =
        text.split_once(':').ok_or_else(|| format!("--exclude {text:?}: expected BANK:PROGRAM[,PROGRAM...]"))?;
    let programs = programs
        .split(',')
        .map(|p| p.trim().parse::<u8>().ok().filter(|p| *p < 128))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| format!("--exclude {text:?}: programs must be GM numbers 0-127"))?;
    if name.is_empty() || programs.is_empty() {
        return Err(format!("--exclude {text:?}: expected BANK:PROGRAM[,PROGRAM...]"));
    }
    Ok((name.to_string(), programs))
}

/// Every note of every instrument in every bank that has the instrument's program and does not
/// exclude it, with splits.
pub fn plan(options: &SynthOptions, banks: &[Library]) -> Result<(Vec<PlannedNote>, Vec<LeftOut>), DatasetError> {
    let taxonomy = &options.taxonomy;
    if options.pitch_step == 0 {
        return Err(DatasetError::Invalid("--pitch-step must be at least 1".into()));
    }
    if !(1..=banks.len()).contains(&options.train_banks) {
        return Err(DatasetError::Invalid(format!(
            "--train-banks must be between 1 and the {} bank(s) given, got {}",
            banks.len(),
            options.train_banks
        )));
    }
    let velocities = options.velocities.clone().unwrap_or_else(|| taxonomy.velocities.clone());
    if velocities.is_empty() || velocities.iter().any(|v| !(1..=127).contains(v)) {
        return Err(DatasetError::Invalid(format!("--velocities must be in 1..=127, got {velocities:?}")));
    }
    let slugs: Vec<String> = banks.iter().map(|b| bank_slug(b.path())).collect();
    for (i, slug) in slugs.iter().enumerate() {
        if slugs[..i].contains(slug) {
            return Err(DatasetError::Invalid(format!("two SoundFonts share the name {slug}; rename one")));
        }
    }
    if let Some(name) = options.exclude.keys().find(|name| !slugs.contains(name)) {
        return Err(DatasetError::Invalid(format!(
            "--exclude names the bank {name}, which is none of {}",
            slugs.join(", ")
        )));
    }
    let pitch_splits = within_bank_splits(taxonomy, options.pitch_step, options.seed);
    let mut planned = Vec::new();
    let mut left_out = Vec::new();
    for (b, bank) in banks.iter().enumerate() {
        for (i, inst) in taxonomy.instruments.iter().enumerate() {
            if bank.program_name(inst.program).is_none() {
                left_out.push(LeftOut {
                    what: format!("{} in {}", inst.name, bank.path().display()),
                    reason: format!("the bank has no GM program {}", inst.program),
                });
                continue;
            }
            if options.exclude.get(&slugs[b]).is_some_and(|p| p.contains(&inst.program)) {
                left_out.push(LeftOut {
                    what: format!("{} in {}", inst.name, bank.path().display()),
                    reason: format!("GM program {} is excluded for {}", inst.program, slugs[b]),
                });
                continue;
            }
            let family = &inst.family;
            let instrument_str = format!("{family}_{}_{}_{:03}", inst.source, slugs[b], inst.program);
            for (&pitch, &within) in &pitch_splits[i] {
                for &velocity in &velocities {
                    let note_str = format!("{instrument_str}-{pitch:03}-{velocity:03}");
                    let record = NoteRecord {
                        note: 0,
                        note_str,
                        instrument: b as u64 * 128 + u64::from(inst.program),
                        instrument_str: instrument_str.clone(),
                        pitch,
                        velocity,
                        sample_rate: NOTE_RATE_HZ,
                        instrument_family: nsynth_family_id(family).unwrap_or(u8::MAX),
                        instrument_family_str: family.clone(),
                        instrument_source: nsynth_source_id(&inst.source).unwrap_or(u8::MAX),
                        instrument_source_str: inst.source.clone(),
                        // Rendered dry and unannotated: no NSynth quality applies by construction.
                        qualities: vec![0; 10],
                        qualities_str: Vec::new(),
                        instrument16: Some(i as u8),
                        family8: taxonomy.family_index(family).map(|f| f as u8),
                        bank: Some(slugs[b].clone()),
                        split: Some(if b < options.train_banks { within } else { Split::TestBank }),
                        descriptors: None,
                        extra: Default::default(),
                    };
                    planned.push(PlannedNote { record, bank: b, program: inst.program });
                }
            }
        }
    }
    Ok((planned, left_out))
}

/// Per instrument: pitch -> split, deterministic for a seed; all velocities of a pitch share it.
fn within_bank_splits(taxonomy: &Taxonomy, pitch_step: u8, seed: u64) -> Vec<BTreeMap<u8, Split>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    taxonomy
        .instruments
        .iter()
        .map(|inst| {
            let pitches: Vec<u8> = (inst.pitch_lo..=inst.pitch_hi).step_by(usize::from(pitch_step)).collect();
            let mut splits = BTreeMap::new();
            for run in pitches.chunks(SPLIT_RUN) {
                let mut order: Vec<u8> = run.to_vec();
                order.shuffle(&mut rng);
                // A run too short for three splits stays in training rather than starving it.
                let held = if run.len() >= 3 { 2 } else { 0 };
                for (k, &pitch) in order.iter().enumerate() {
                    let split = match k {
                        0 if held > 0 => Split::Valid,
                        1 if held > 0 => Split::Test,
                        _ => Split::Train,
                    };
                    splits.insert(pitch, split);
                }
            }
            splits
        })
        .collect()
}

enum Outcome {
    Kept { record: Box<NoteRecord>, rendered: bool, clipped: bool },
    Silent { note_str: String, peak: f32 },
}

/// Renders (or reuses) every planned note, then writes examples.json atomically.
pub fn synthesize(
    options: &SynthOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<SynthReport, DatasetError> {
    let start = Instant::now();
    if options.soundfonts.is_empty() {
        return Err(DatasetError::Invalid("give at least one --soundfont".into()));
    }
    if options.threads == 0 {
        return Err(DatasetError::Invalid("--threads must be at least 1".into()));
    }
    let banks = options.soundfonts.iter().map(Library::load).collect::<Result<Vec<_>, _>>()?;
    let (planned, mut left_out) = plan(options, &banks)?;
    let audio_dir = options.out.join(AUDIO_DIR);
    std::fs::create_dir_all(&audio_dir).map_err(|source| DatasetError::Write { path: audio_dir.clone(), source })?;

    let outcomes = map_parallel(
        &planned,
        options.threads,
        progress,
        || banks.iter().map(|_| None).collect::<Vec<Option<LibraryRenderer>>>(),
        |renderers, note| process_note(note, &banks, renderers, options),
    )?;

    let mut report = SynthReport::default();
    let mut records = BTreeMap::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Kept { record, rendered, clipped } => {
                report.rendered += usize::from(rendered);
                report.reused += usize::from(!rendered);
                report.clipped += usize::from(clipped);
                records.insert(record.note_str.clone(), *record);
            }
            Outcome::Silent { note_str, peak } => left_out.push(LeftOut {
                what: note_str,
                reason: format!("silent render (peak {:.1} dBFS)", 20.0 * f64::from(peak).max(1e-12).log10()),
            }),
        }
    }
    // NSynth numbers notes in examples.json order.
    for (i, record) in records.values_mut().enumerate() {
        record.note = i as u64;
    }
    // The labels' indices mean something only with the taxonomy they index into.
    let taxonomy_path = options.out.join(TAXONOMY_JSON);
    write_atomically(&taxonomy_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &options.taxonomy).map_err(std::io::Error::other)
    })
    .map_err(|source| DatasetError::Write { path: taxonomy_path, source })?;
    write_examples(&options.out.join(EXAMPLES_JSON), &records)?;
    report.notes = records.len();
    report.left_out = left_out;
    report.elapsed_secs = start.elapsed().as_secs_f64();
    Ok(report)
}

fn process_note(
    note: &PlannedNote,
    banks: &[Library],
    renderers: &mut [Option<LibraryRenderer>],
    options: &SynthOptions,
) -> Result<Outcome, DatasetError> {
    let path = audio_path(&options.out, &note.record.note_str);
    // A valid WAV from an earlier run is kept; anything else (truncated, wrong length) is redone.
    let existing = if path.exists() { read_note_wav(&path).ok() } else { None };
    let rendered = existing.is_none();
    let samples = match existing {
        Some(samples) => samples,
        None => {
            let renderer = match &mut renderers[note.bank] {
                Some(r) => r,
                slot => slot.insert(banks[note.bank].renderer(NOTE_RATE_HZ).map_err(|e| render_error(&path, e))?),
            };
            let (pitch, velocity) = (note.record.pitch, note.record.velocity);
            let mut samples = renderer
                .render_note(note.program, pitch, velocity, &NoteSpec::NSYNTH)
                .map_err(|e| render_error(&path, e))?;
            samples.iter_mut().for_each(|s| *s *= RENDER_GAIN);
            samples
        }
    };
    let peak = peak_abs(&samples);
    if peak < options.silence_peak {
        if !rendered {
            // An earlier run's file for a note now judged silent would be served by nobody.
            let _ = std::fs::remove_file(&path);
        }
        return Ok(Outcome::Silent { note_str: note.record.note_str.clone(), peak });
    }
    let samples = if rendered {
        let clip = Clip::new(note.record.note_str.clone(), samples, NOTE_RATE_HZ);
        save_wav_pcm16(&path, &clip)
            .map_err(|e| DatasetError::Write { path: path.clone(), source: std::io::Error::other(e) })?;
        // Describe what a reader gets back from the file, so a resumed run writes the same labels.
        clip.samples.iter().map(|&s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() / 32768.0).collect()
    } else {
        samples
    };
    let mut record = note.record.clone();
    record.descriptors = Some(describe_note(&samples, NOTE_RATE_HZ, f32::from(note.record.pitch)));
    Ok(Outcome::Kept { record: Box::new(record), rendered, clipped: peak > 1.0 })
}

fn render_error(path: &Path, error: super::soundfont::RenderError) -> DatasetError {
    DatasetError::BadAudio { path: path.to_owned(), problem: format!("cannot render: {error}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusions_parse_and_bad_ones_are_named() {
        assert_eq!(parse_exclusion("a320u:16,19,57"), Ok(("a320u".into(), vec![16, 19, 57])));
        assert!(parse_exclusion("a320u").unwrap_err().contains("BANK:PROGRAM"));
        assert!(parse_exclusion("a320u:16,x").unwrap_err().contains("0-127"));
        assert!(parse_exclusion("a320u:128").is_err());
        assert!(parse_exclusion(":16").is_err());
    }

    #[test]
    fn bank_slugs_are_file_name_safe() {
        assert_eq!(bank_slug(Path::new("/usr/share/sounds/sf2/FluidR3_GM.sf2")), "fluidr3_gm");
        assert_eq!(bank_slug(Path::new("TimGM6mb.sf2")), "timgm6mb");
        assert_eq!(bank_slug(Path::new("My Bank (v2).sf2")), "my_bank__v2_");
    }

    #[test]
    fn splits_are_stratified_and_never_share_a_pitch() {
        let taxonomy = Taxonomy::default();
        let splits = within_bank_splits(&taxonomy, 1, 7);
        assert_eq!(splits, within_bank_splits(&taxonomy, 1, 7), "same seed, same splits");
        assert_ne!(splits, within_bank_splits(&taxonomy, 1, 8), "another seed draws again");
        for (inst, map) in taxonomy.instruments.iter().zip(&splits) {
            let count = |s: Split| map.values().filter(|&&v| v == s).count();
            let n = map.len();
            assert_eq!(n, usize::from(inst.pitch_hi - inst.pitch_lo) + 1);
            // One valid and one test pitch per full run of ten: 10% each, give or take a short tail.
            assert!(count(Split::Valid) >= n / SPLIT_RUN && count(Split::Valid) <= n / SPLIT_RUN + 1, "{}", inst.name);
            assert_eq!(count(Split::Valid), count(Split::Test), "{}", inst.name);
            // Each run of ten pitches holds exactly one valid and one test pitch: no register is missing.
            let pitches: Vec<&Split> = map.values().collect();
            for run in pitches.chunks(SPLIT_RUN).filter(|r| r.len() == SPLIT_RUN) {
                assert_eq!(run.iter().filter(|s| ***s == Split::Test).count(), 1, "{}", inst.name);
            }
        }
    }
}
