//! The scale benchmark's data (scripts/bench_scale.sh): an NSynth-size data set in NSynth's
//! layout and labels, every GM program of the pool's libraries and TimGM6mb over 80 pitches and
//! 5 velocities, mapped onto NSynth's 11 families and 3 sources by GM program group.
//!
//! usage: scale_bench write DIR LIBRARY...        examples.json of every note, timed parse
//!        scale_bench render DIR LIBRARY...       the store, each note rendered into it (no audio)
//!        scale_bench wav DIR COUNT LIBRARY...    the first COUNT notes as WAV files, for `store build`
//!
//! The last library is the test split (its instruments unseen in training, as in NSynth); of the
//! others every tenth pitch is the valid split.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use timbrescope::data::dataset::{Dataset, NoteRecord, Split, write_examples};
use timbrescope::data::library::{Library, LibraryRenderer};
use timbrescope::data::soundfont::NoteSpec;
use timbrescope::data::taxonomy::{NSYNTH_FAMILIES, NSYNTH_SOURCES};
use timbrescope::learn::TrainConfig;
use timbrescope::learn::notes::store::{BuildOptions, StoreSettings, build_from};

const PITCHES: std::ops::RangeInclusive<u8> = 24..=103;
const VELOCITIES: [u8; 5] = [25, 50, 75, 100, 127];

/// NSynth's family and source of a GM program, by its group of eight.
fn family_source(program: u8) -> (&'static str, &'static str) {
    let electronic = matches!(program, 4 | 5 | 16 | 17 | 18 | 26..=31 | 33 | 34 | 36 | 37);
    let family = match program {
        0..=7 => "keyboard",
        8..=15 | 112..=119 => "mallet",
        16..=23 => "organ",
        24..=31 | 104..=107 => "guitar",
        32..=39 => "bass",
        40..=51 | 108..=111 => "string",
        52..=54 | 85 => "vocal",
        55..=63 => "brass",
        64..=71 => "reed",
        72..=79 => "flute",
        _ => "synth_lead",
    };
    let source = if matches!(program, 38 | 39 | 80..=103) {
        "synthetic"
    } else if electronic {
        "electronic"
    } else {
        "acoustic"
    };
    (family, source)
}

/// A planned note: library k, program, pitch, velocity, and its split folder.
type Planned = (usize, u8, u8, u8, &'static str);

/// Every note.
fn plan(libraries: &[PathBuf]) -> Vec<Planned> {
    let mut notes = Vec::new();
    for k in 0..libraries.len() {
        for program in 0..128u8 {
            for pitch in PITCHES {
                for velocity in VELOCITIES {
                    let split = if k + 1 == libraries.len() {
                        "nsynth-test"
                    } else if pitch % 10 == 0 {
                        "nsynth-valid"
                    } else {
                        "nsynth-train"
                    };
                    notes.push((k, program, pitch, velocity, split));
                }
            }
        }
    }
    notes
}

fn record(libraries: &[PathBuf], (k, program, pitch, velocity, _): Planned, n: u64) -> NoteRecord {
    let (family, source) = family_source(program);
    let library =
        libraries[k].file_stem().map(|s| s.to_string_lossy().replace(['-', '.', ' '], "_")).unwrap_or_default();
    let instrument_str = format!("{family}_{source}_{library}_{program:03}");
    NoteRecord {
        note: n,
        note_str: format!("{instrument_str}-{pitch:03}-{velocity:03}"),
        instrument: (k * 128 + usize::from(program)) as u64,
        instrument_str,
        pitch,
        velocity,
        sample_rate: 16_000,
        instrument_family: NSYNTH_FAMILIES.iter().position(|f| *f == family).unwrap_or(0) as u8,
        instrument_family_str: family.into(),
        instrument_source: NSYNTH_SOURCES.iter().position(|s| *s == source).unwrap_or(0) as u8,
        instrument_source_str: source.into(),
        qualities: vec![0; 10],
        qualities_str: Vec::new(),
        instrument16: None,
        family8: None,
        bank: None,
        split: None,
        descriptors: None,
        extra: Default::default(),
    }
}

fn write(dir: &Path, libraries: &[PathBuf], count: Option<usize>) -> anyhow::Result<Vec<Planned>> {
    let mut notes = plan(libraries);
    if let Some(count) = count {
        // Spread over the whole plan, so the subset has every library and split.
        let step = (notes.len() / count).max(1);
        notes = notes.into_iter().step_by(step).take(count).collect();
    }
    let mut by_split: BTreeMap<&str, BTreeMap<String, NoteRecord>> = BTreeMap::new();
    for (n, &note) in notes.iter().enumerate() {
        let r = record(libraries, note, n as u64);
        by_split.entry(note.4).or_default().insert(r.note_str.clone(), r);
    }
    for (split, records) in &by_split {
        std::fs::create_dir_all(dir.join(split))?;
        write_examples(&dir.join(split).join("examples.json"), records)?;
    }
    Ok(notes)
}

thread_local! {
    static RENDERERS: RefCell<BTreeMap<usize, LibraryRenderer>> = const { RefCell::new(BTreeMap::new()) };
}

/// Note `(k, program, pitch, velocity)` at 16 kHz, one renderer per library per thread; a
/// program or pitch a library lacks is rendered as silence (the benchmark times the path, and
/// 4 s of zeros cost the analysis what any note does).
fn render(libraries: &[Library], note: (usize, u8, u8, u8)) -> Result<Vec<f32>, String> {
    Ok(render_note(libraries, note).unwrap_or_else(|_| vec![0.0; NoteSpec::NSYNTH.num_samples()]))
}

fn render_note(libraries: &[Library], (k, program, pitch, velocity): (usize, u8, u8, u8)) -> Result<Vec<f32>, String> {
    RENDERERS.with(|r| {
        let mut r = r.borrow_mut();
        let renderer = match r.entry(k) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(libraries[k].renderer(16_000).map_err(|e| e.to_string())?)
            }
        };
        renderer.render_note(program, pitch, velocity, &NoteSpec::NSYNTH).map_err(|e| e.to_string())
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: scale_bench write|render DIR LIBRARY... | wav DIR COUNT LIBRARY...";
    let (verb, dir) = (args.get(1).context(usage)?, PathBuf::from(args.get(2).context(usage)?));
    let count = if verb == "wav" { Some(args.get(3).context(usage)?.parse::<usize>()?) } else { None };
    let libraries: Vec<PathBuf> = args[if count.is_some() { 4 } else { 3 }..].iter().map(PathBuf::from).collect();
    anyhow::ensure!(!libraries.is_empty(), "{usage}");
    match verb.as_str() {
        "write" => {
            let notes = write(&dir, &libraries, None)?;
            let start = Instant::now();
            let dataset = Dataset::open(&dir)?;
            let secs = start.elapsed().as_secs_f64();
            anyhow::ensure!(
                dataset.notes.len() == notes.len(),
                "read {} of {} notes",
                dataset.notes.len(),
                notes.len()
            );
            let sizes: Vec<String> = [Split::Train, Split::Valid, Split::Test]
                .iter()
                .map(|s| format!("{} {}", s.as_str(), dataset.split_indices(*s).len()))
                .collect();
            let bytes: u64 =
                dataset.examples_files().iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
            println!(
                "notes {} ({}); examples.json {:.1} MB, opened and checked in {secs:.2} s",
                notes.len(),
                sizes.join(", "),
                bytes as f64 / 1e6
            );
        }
        "render" => {
            let dataset = Dataset::open(&dir)?;
            let libs: Vec<Library> = libraries.iter().map(Library::load).collect::<Result<_, _>>()?;
            // Each note's library and program back from its record.
            let find = |i: usize| {
                let r = &dataset.notes[i].record;
                let k = r.instrument as usize / 128;
                (k, (r.instrument % 128) as u8, r.pitch, r.velocity)
            };
            let settings = StoreSettings::for_input(&TrainConfig::shipped_default().input);
            let options = BuildOptions { threads: 2, ..Default::default() };
            let start = Instant::now();
            let last = std::sync::Mutex::new(Instant::now());
            let report = build_from(&dataset, &settings, &options, &|i| render(&libs, find(i)), &|d, t| {
                let mut last = last.lock().expect("not poisoned");
                if last.elapsed().as_secs() >= 60 || d == t {
                    *last = Instant::now();
                    eprintln!("{d} of {t} notes, {:.0} s", start.elapsed().as_secs_f64());
                }
            })?;
            let secs = start.elapsed().as_secs_f64();
            println!(
                "rendered into the store: {} notes in {secs:.1} s, {:.1} notes/s, {} shards, {:.2} GB",
                report.notes,
                report.notes as f64 / secs,
                report.shards,
                report.bytes as f64 / 1e9
            );
        }
        "wav" => {
            let notes = write(&dir, &libraries, count)?;
            let libs: Vec<Library> = libraries.iter().map(Library::load).collect::<Result<_, _>>()?;
            let start = Instant::now();
            let dataset = Dataset::open(&dir)?;
            let by_name: BTreeMap<String, (usize, u8, u8, u8)> = notes
                .iter()
                .enumerate()
                .map(|(n, &note)| (record(&libraries, note, n as u64).note_str, (note.0, note.1, note.2, note.3)))
                .collect();
            timbrescope::data::parallel::map_parallel(
                &dataset.notes,
                2,
                &|_, _| {},
                || (),
                |_, note| {
                    let samples = render(&libs, by_name[&note.record.note_str])?;
                    let path = dataset.audio_path(note);
                    std::fs::create_dir_all(path.parent().expect("in audio/")).map_err(|e| e.to_string())?;
                    let clip = timbrescope::audio::Clip::new(note.record.note_str.clone(), samples, 16_000);
                    timbrescope::audio::save_wav_pcm16(&path, &clip).map_err(|e| e.to_string())
                },
            )
            .map_err(anyhow::Error::msg)?;
            println!("{} notes rendered to WAV in {:.1} s", dataset.notes.len(), start.elapsed().as_secs_f64());
        }
        _ => anyhow::bail!("{usage}"),
    }
    Ok(())
}
