//! A played copy of a rendered data set: every train note of it rendered again from its library,
//! as an [`Expression`] drawn for it plays it, under the same name. Training starts a drawn
//! example from it as often as `[played] probability` says (`train --played DIR`), the
//! degradations applying on top; the browser shows a note and its played version as A and B.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::{Expression, render_expressive};
use crate::atomic_file::write_atomically;
use crate::audio::{Clip, save_wav_pcm16};
use crate::data::dataset::{
    AUDIO_DIR, DatasetError, EXAMPLES_JSON, NOTE_RATE_HZ, NoteRecord, Split, TAXONOMY_JSON, audio_path, read_examples,
    write_examples,
};
use crate::data::degraded::note_seed;
use crate::data::library::{Library, LibraryRenderer};
use crate::data::parallel::map_parallel;
use crate::data::soundfont::NoteSpec;
use crate::data::synth::{RENDER_GAIN, bank_slug};
use crate::data::taxonomy::Taxonomy;
use crate::dsp::descriptors::describe_note;

/// The key in a played note's record holding how it was played.
pub const EXPRESSION_KEY: &str = "expression";

pub struct PlayedCopyOptions {
    /// The rendered data set (examples.json, taxonomy.json).
    pub dataset: PathBuf,
    /// Its libraries, as `dataset synth` was given them.
    pub libraries: Vec<PathBuf>,
    pub out: PathBuf,
    pub seed: u64,
    pub threads: usize,
}

#[derive(Debug, Default)]
pub struct PlayedCopyReport {
    pub notes: usize,
    /// Train notes of libraries not given, left out.
    pub skipped: usize,
    pub elapsed_secs: f64,
}

/// Renders the played copy of every train note into `options.out`.
pub fn played_copy(
    options: &PlayedCopyOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<PlayedCopyReport, DatasetError> {
    let start = Instant::now();
    if options.threads == 0 {
        return Err(DatasetError::Invalid("--threads must be at least 1".into()));
    }
    if options.out.canonicalize().ok().is_some_and(|o| options.dataset.canonicalize().ok() == Some(o)) {
        return Err(DatasetError::Invalid("--out is the data set itself; the played copy needs its own folder".into()));
    }
    let taxonomy = Taxonomy::load(&options.dataset.join(TAXONOMY_JSON))?;
    let records = read_examples(&options.dataset.join(EXAMPLES_JSON))?;
    let libraries = options.libraries.iter().map(Library::load).collect::<Result<Vec<_>, _>>()?;
    let slugs: Vec<String> = options.libraries.iter().map(|p| bank_slug(p)).collect();
    let mut report = PlayedCopyReport::default();
    let mut notes: Vec<(&NoteRecord, usize, u8)> = Vec::new();
    for record in records.values().filter(|r| r.split == Some(Split::Train)) {
        let library = record.bank.as_ref().and_then(|b| slugs.iter().position(|s| s == b));
        let instrument = record.instrument16.and_then(|i| taxonomy.instruments.get(usize::from(i)));
        match (library, instrument) {
            (Some(l), Some(inst)) => notes.push((record, l, inst.program)),
            _ => report.skipped += 1,
        }
    }
    if notes.is_empty() {
        return Err(DatasetError::Invalid(format!(
            "no train note of {} comes from the libraries given ({})",
            options.dataset.display(),
            slugs.join(", ")
        )));
    }
    let audio_dir = options.out.join(AUDIO_DIR);
    std::fs::create_dir_all(&audio_dir).map_err(|source| DatasetError::Write { path: audio_dir.clone(), source })?;
    let played = map_parallel(
        &notes,
        options.threads,
        progress,
        || libraries.iter().map(|_| None).collect::<Vec<Option<LibraryRenderer>>>(),
        |renderers, &(record, library, program)| {
            let renderer = match &mut renderers[library] {
                Some(r) => r,
                slot => slot.insert(libraries[library].renderer(NOTE_RATE_HZ).map_err(|e| render_error(record, e))?),
            };
            play_note(record, program, renderer, options)
        },
    )?;
    let mut out = BTreeMap::new();
    for record in played {
        out.insert(record.note_str.clone(), record);
    }
    let taxonomy_path = options.out.join(TAXONOMY_JSON);
    write_atomically(&taxonomy_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &taxonomy).map_err(std::io::Error::other)
    })
    .map_err(|source| DatasetError::Write { path: taxonomy_path, source })?;
    write_examples(&options.out.join(EXAMPLES_JSON), &out)?;
    report.notes = out.len();
    report.elapsed_secs = start.elapsed().as_secs_f64();
    Ok(report)
}

fn render_error(record: &NoteRecord, e: crate::data::soundfont::RenderError) -> DatasetError {
    DatasetError::Invalid(format!("{}: {e}", record.note_str))
}

/// The expression of a note: drawn from the copy's seed and the note's name, so it does not
/// depend on what else is rendered.
pub fn note_expression(record: &NoteRecord, seed: u64) -> Expression {
    let mut rng = ChaCha8Rng::seed_from_u64(note_seed(seed, &record.note_str));
    let family = record.instrument_family_str.as_str();
    let electric = record.instrument_source_str == "electronic" && matches!(family, "guitar" | "bass");
    Expression::draw(family, electric, NoteSpec::NSYNTH.hold_secs, &mut rng)
}

fn play_note(
    record: &NoteRecord,
    program: u8,
    renderer: &mut LibraryRenderer,
    options: &PlayedCopyOptions,
) -> Result<NoteRecord, DatasetError> {
    let expression = note_expression(record, options.seed);
    let mut samples =
        render_expressive(renderer, program, record.pitch, record.velocity, &expression, &NoteSpec::NSYNTH)
            .map_err(|e| render_error(record, e))?;
    samples.iter_mut().for_each(|s| *s *= RENDER_GAIN);
    let path = audio_path(&options.out, &record.note_str);
    let clip = Clip::new(record.note_str.clone(), samples, NOTE_RATE_HZ);
    save_wav_pcm16(&path, &clip)
        .map_err(|e| DatasetError::Write { path: path.clone(), source: std::io::Error::other(e) })?;
    let mut out = record.clone();
    out.descriptors = Some(describe_note(&clip.samples, NOTE_RATE_HZ, f32::from(record.pitch)));
    out.extra.insert(
        EXPRESSION_KEY.into(),
        serde_json::to_value(&expression).map_err(|e| DatasetError::Invalid(e.to_string()))?,
    );
    Ok(out)
}
