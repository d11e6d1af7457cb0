//! The data set generator and reader: NSynth's layout, labels, splits, resuming, the NSynth
//! reader with its label mapping, and bad input.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::tiny_data;
use timbrescope::data::dataset::{Dataset, DatasetError, NOTE_SAMPLES, Split, read_examples};
use timbrescope::data::overlap::bank_overlap;
use timbrescope::data::synth::synthesize;

/// The keys every entry of NSynth's examples.json carries.
const NSYNTH_KEYS: [&str; 13] = [
    "note",
    "note_str",
    "instrument",
    "instrument_str",
    "pitch",
    "velocity",
    "sample_rate",
    "instrument_family",
    "instrument_family_str",
    "instrument_source",
    "instrument_source_str",
    "qualities",
    "qualities_str",
];

#[test]
fn synth_writes_nsynth_layout_with_labels_and_splits() {
    let dir = tempfile::tempdir().unwrap();
    let (root, report) = tiny_data::build(dir.path());
    assert_eq!(report.notes, tiny_data::KEPT_NOTES);
    assert_eq!(report.rendered, tiny_data::KEPT_NOTES);

    let json: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("examples.json")).unwrap()).unwrap();
    assert_eq!(json.len(), tiny_data::KEPT_NOTES);
    for (key, entry) in &json {
        for k in NSYNTH_KEYS.iter().chain(&["instrument16", "family8", "bank", "split", "descriptors"]) {
            assert!(entry.get(*k).is_some(), "{key} lacks {k}");
        }
        assert_eq!(entry["note_str"], key.as_str());
        assert_eq!(entry["sample_rate"], 16000);
    }

    // The data set carries the taxonomy its label indices refer to.
    let dataset = Dataset::open(&root).unwrap();
    assert_eq!(dataset.taxonomy, tiny_data::taxonomy());
    assert_eq!(dataset.banks(), ["tiny_a", "tiny_b"]);
    let mut splits_of: BTreeMap<(String, u8, u8), BTreeSet<Split>> = BTreeMap::new();
    for note in &dataset.notes {
        let r = &note.record;
        // NSynth's own name pattern: instrument_str, then 3-digit pitch and velocity.
        assert_eq!(r.note_str, format!("{}-{:03}-{:03}", r.instrument_str, r.pitch, r.velocity));
        assert_eq!(note.labels.pitch_class, r.pitch % 12);
        assert_eq!(note.labels.velocity_bin, if r.velocity == 50 { 0 } else { 1 });
        let inst = &dataset.taxonomy.instruments[usize::from(note.labels.instrument.unwrap())];
        assert_eq!(r.instrument_family_str, inst.family);
        assert_eq!(usize::from(note.labels.family.unwrap()), dataset.taxonomy.family_index(&inst.family).unwrap());
        assert!(note.labels.descriptors.is_some());
        let bank = r.bank.clone().unwrap();
        if bank == "tiny_b" {
            assert_eq!(note.split, Some(Split::TestBank), "{}", r.note_str);
        } else {
            assert_ne!(note.split, Some(Split::TestBank), "{}", r.note_str);
        }
        splits_of.entry((bank, note.labels.instrument.unwrap(), r.pitch)).or_default().insert(note.split.unwrap());

        // The audio is NSynth's: 16-bit PCM, mono, 16 kHz, 4 s.
        let wav = hound::WavReader::open(dataset.audio_path(note)).unwrap();
        let spec = wav.spec();
        assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 16000, 16));
        assert_eq!(spec.sample_format, hound::SampleFormat::Int);
        assert_eq!(wav.duration() as usize, NOTE_SAMPLES);
    }
    // A pitch of one instrument never appears in two splits (across its velocities).
    assert!(splits_of.values().all(|s| s.len() == 1));
    // tone_a in bank A: 24 pitches in runs of ten: 3 valid, 3 test, 18 train, two velocities each.
    let count = |split: Split, instrument: u8| {
        dataset.notes.iter().filter(|n| n.split == Some(split) && n.labels.instrument == Some(instrument)).count()
    };
    assert_eq!((count(Split::Valid, 0), count(Split::Test, 0), count(Split::Train, 0)), (6, 6, 36));

    // The note sounds at its label's pitch: the tiny bank's partials sit on exact harmonics.
    let note = dataset.notes.iter().find(|n| n.record.note_str.ends_with("tiny_a_000-069-100")).unwrap();
    let samples = dataset.load_audio(note).unwrap();
    let f0 = common::dominant_frequency(&samples[8000..40000], 16000.0);
    // 0.5%: well inside a semitone (6%); the sample is tuned exactly, the estimate is not.
    assert!((f0 / 440.0 - 1.0).abs() < 0.005, "f0 {f0}");
}

#[test]
fn missing_programs_and_silent_pitches_are_left_out_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let (_, report) = tiny_data::build(dir.path());
    let missing: Vec<_> = report.left_out.iter().filter(|l| l.reason.contains("no GM program 5")).collect();
    assert_eq!(missing.len(), 1, "{:?}", report.left_out);
    assert!(missing[0].what.contains("absent") && missing[0].what.contains("tiny_a.sf2"));
    let silent: BTreeSet<&str> =
        report.left_out.iter().filter(|l| l.reason.contains("silent")).map(|l| l.what.as_str()).collect();
    // Bank B has program 0 only from key 60: pitches 48..=59 at two velocities.
    let expected: BTreeSet<String> =
        (48..60).flat_map(|p| [50, 100].map(|v| format!("keyboard_acoustic_tiny_b_000-{p:03}-{v:03}"))).collect();
    assert_eq!(silent, expected.iter().map(String::as_str).collect());
    assert!(!dir.path().join("data/audio/keyboard_acoustic_tiny_b_000-048-050.wav").exists());
}

#[test]
fn rerun_keeps_good_files_and_redoes_damaged_ones_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let examples = std::fs::read(root.join("examples.json")).unwrap();
    let audio = root.join("audio");
    let removed = audio.join("keyboard_acoustic_tiny_a_000-060-100.wav");
    let truncated = audio.join("string_electronic_tiny_a_040-060-050.wav");
    let original = std::fs::read(&truncated).unwrap();
    std::fs::remove_file(&removed).unwrap();
    std::fs::write(&truncated, &original[..original.len() / 2]).unwrap();

    let (a, b) = (dir.path().join("tiny_a.sf2"), dir.path().join("tiny_b.sf2"));
    let report = synthesize(&tiny_data::options(&[a, b], &root), &|_, _| {}).unwrap();
    assert_eq!((report.rendered, report.reused), (2, tiny_data::KEPT_NOTES - 2));
    assert!(removed.exists());
    assert!(std::fs::read(&truncated).unwrap() == original, "a re-render must be bit-identical");
    let rewritten = std::fs::read(root.join("examples.json")).unwrap();
    assert!(rewritten == examples, "a resumed run must write the same examples.json");
    // No temporary files are left next to the data.
    let stray: Vec<_> = std::fs::read_dir(&audio)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn another_seed_draws_other_splits_but_the_same_notes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = tiny_data::banks(dir.path());
    let render = |seed: u64, out: &str| {
        let options = timbrescope::data::synth::SynthOptions {
            seed,
            ..tiny_data::options(std::slice::from_ref(&a), &dir.path().join(out))
        };
        synthesize(&options, &|_, _| {}).unwrap();
        read_examples(&dir.path().join(out).join("examples.json")).unwrap()
    };
    let (first, again, other) = (render(3, "s3"), render(3, "s3b"), render(4, "s4"));
    assert_eq!(first, again);
    assert_eq!(first.keys().collect::<Vec<_>>(), other.keys().collect::<Vec<_>>());
    assert!(first.iter().any(|(k, r)| other[k].split != r.split));
}

#[test]
fn train_banks_split_each_named_bank_by_the_same_pitches_and_hold_out_none_beyond() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tiny_data::banks(dir.path());
    let banks = [a, b];
    let out = dir.path().join("both");
    let options = timbrescope::data::synth::SynthOptions { train_banks: 2, ..tiny_data::options(&banks, &out) };
    synthesize(&options, &|_, _| {}).unwrap();
    let dataset = Dataset::open(&out).unwrap();
    let mut split_of: BTreeMap<(u8, u8), BTreeSet<Split>> = BTreeMap::new();
    let mut banks_in: BTreeMap<Split, BTreeSet<String>> = BTreeMap::new();
    for note in &dataset.notes {
        let split = note.split.unwrap();
        assert_ne!(split, Split::TestBank, "{}", note.record.note_str);
        split_of.entry((note.labels.instrument.unwrap(), note.record.pitch)).or_default().insert(split);
        banks_in.entry(split).or_default().insert(note.record.bank.clone().unwrap());
    }
    // One pitch of an instrument lands in one split whichever bank plays it.
    assert!(split_of.values().all(|s| s.len() == 1));
    assert_eq!(banks_in[&Split::Train].len(), 2);

    for bad in [0, 3] {
        let options = timbrescope::data::synth::SynthOptions {
            train_banks: bad,
            ..tiny_data::options(&banks, &dir.path().join("bad"))
        };
        let err = error_text(synthesize(&options, &|_, _| {}));
        assert!(err.contains("--train-banks") && err.contains(&bad.to_string()), "{err}");
        assert!(!dir.path().join("bad").exists());
    }
}

#[test]
fn a_bank_rendered_twice_overlaps_fully_on_the_notes_both_play() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tiny_data::banks(dir.path());
    let copy = dir.path().join("tiny_c.sf2");
    std::fs::copy(&a, &copy).unwrap();
    let out = dir.path().join("three");
    let options = timbrescope::data::synth::SynthOptions { train_banks: 1, ..tiny_data::options(&[a, b, copy], &out) };
    synthesize(&options, &|_, _| {}).unwrap();
    let dataset = Dataset::open(&out).unwrap();
    let overlap = bank_overlap(&dataset, 100, 1, 1.0).unwrap();
    let find = |inst: &str, x: &str, y: &str| {
        overlap.iter().find(|o| o.instrument == inst && o.banks == (x.to_owned(), y.to_owned())).unwrap()
    };
    // The copy plays tone_a's 24 pitches with the same sample; bank B only the 12 from key 60.
    let same = find("tone_a", "tiny_a", "tiny_c");
    assert_eq!(same.notes, 24);
    assert!(same.median > 0.999, "{same:?}");
    assert_eq!(find("tone_a", "tiny_a", "tiny_b").notes, 12);
    // Only bank B plays `absent`, so no pair of banks compares it.
    assert!(overlap.iter().all(|o| o.instrument != "absent"));
    let err = error_text(bank_overlap(&dataset, 100, 0, 1.0));
    assert!(err.contains("pitch step"), "{err}");
}

fn error_text(result: Result<impl std::fmt::Debug, DatasetError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn bad_soundfonts_name_the_file_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let missing = dir.path().join("nowhere.sf2");
    let err = error_text(synthesize(&tiny_data::options(std::slice::from_ref(&missing), &out), &|_, _| {}));
    assert!(err.contains("nowhere.sf2"), "{err}");
    let garbage = dir.path().join("garbage.sf2");
    std::fs::write(&garbage, b"RIFF\x04\x00\x00\x00sfbkjunk").unwrap();
    let err = error_text(synthesize(&tiny_data::options(&[garbage], &out), &|_, _| {}));
    assert!(err.contains("garbage.sf2"), "{err}");
    assert!(!out.exists(), "nothing is created before the banks are read");
}

/// A copy of the tiny data set whose examples.json or audio the test then damages.
fn damaged_copy(dir: &Path, edit: impl FnOnce(&Path)) -> Result<Dataset, DatasetError> {
    let (root, _) = tiny_data::build(dir);
    edit(&root);
    Dataset::open_with(&root, tiny_data::taxonomy(), &Default::default())
}

#[test]
fn malformed_examples_json_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let err =
        error_text(damaged_copy(dir.path(), |root| std::fs::write(root.join("examples.json"), "{\"a\": 3").unwrap()));
    assert!(err.contains("examples.json") && err.contains("not a valid"), "{err}");
}

#[test]
fn an_escaping_note_str_is_an_error_even_when_key_and_name_agree() {
    let dir = tempfile::tempdir().unwrap();
    let err = error_text(damaged_copy(dir.path(), |root| {
        let path = root.join("examples.json");
        let text = std::fs::read_to_string(&path).unwrap().replace("keyboard_acoustic_tiny_a_000-048-050", "../secret");
        std::fs::write(&path, text).unwrap();
    }));
    assert!(err.contains("../secret") && err.contains("plain file name"), "{err}");
}

#[test]
fn missing_short_or_wrong_rate_audio_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = damaged_copy(dir.path(), |root| {
        let audio = root.join("audio");
        std::fs::remove_file(audio.join("keyboard_acoustic_tiny_a_000-050-050.wav")).unwrap();
        let write = |name: &str, rate: u32, len: usize| {
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(audio.join(name), spec).unwrap();
            (0..len).for_each(|_| w.write_sample(0_i16).unwrap());
            w.finalize().unwrap();
        };
        write("keyboard_acoustic_tiny_a_000-051-050.wav", 16000, 16000);
        write("keyboard_acoustic_tiny_a_000-052-050.wav", 44100, NOTE_SAMPLES);
    })
    .unwrap();
    let load = |suffix: &str| {
        let note = dataset.notes.iter().find(|n| n.record.note_str.ends_with(suffix)).unwrap();
        dataset.load_audio(note).unwrap_err().to_string()
    };
    let err = load("000-050-050");
    assert!(err.contains("000-050-050.wav"), "{err}");
    let err = load("000-051-050");
    assert!(err.contains("000-051-050.wav") && err.contains("64000") && err.contains("16000"), "{err}");
    let err = load("000-052-050");
    assert!(err.contains("000-052-050.wav") && err.contains("44100"), "{err}");
}

/// A real NSynth split folder: the fixture's examples.json uses NSynth's exact keys and values.
#[test]
fn nsynth_folders_are_read_with_their_official_labels_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nsynth-valid");
    std::fs::create_dir_all(root.join("audio")).unwrap();
    std::fs::copy(common::fixture("nsynth/examples.json"), root.join("examples.json")).unwrap();
    let records = read_examples(&root.join("examples.json")).unwrap();
    for (note_str, record) in &records {
        let freq = 440.0 * 2_f32.powf((f32::from(record.pitch) - 69.0) / 12.0);
        let samples: Vec<f32> =
            (0..NOTE_SAMPLES).map(|i| 0.3 * (std::f32::consts::TAU * freq * i as f32 / 16000.0).sin()).collect();
        let clip = timbrescope::audio::Clip::new(note_str.clone(), samples, 16000);
        timbrescope::audio::save_wav_pcm16(&root.join("audio").join(format!("{note_str}.wav")), &clip).unwrap();
    }
    let dataset = Dataset::open(&root).unwrap();
    assert_eq!(dataset.notes.len(), records.len());
    let by_name = |name: &str| dataset.notes.iter().find(|n| n.record.note_str == name).unwrap();

    let bass = by_name("bass_synthetic_068-049-025");
    assert_eq!(bass.record.instrument_family_str, "bass");
    assert_eq!(bass.record.qualities_str, ["dark"]);
    assert_eq!(bass.labels.family, Some(4), "NSynth bass -> our bass family (index 4)");
    assert_eq!(bass.labels.instrument, None, "NSynth instruments have no GM program to map");
    assert_eq!((bass.labels.pitch_class, bass.labels.velocity_bin), (1, 0));
    assert_eq!(bass.split, Some(Split::Valid), "from the folder name nsynth-valid");

    let keys = by_name("keyboard_electronic_001-021-127");
    assert_eq!((keys.labels.family, keys.labels.velocity_bin), (Some(0), 4));
    let flute = by_name("flute_acoustic_002-077-100");
    assert_eq!(flute.labels.family, None, "flute has no family among our eight");
    assert_eq!(flute.labels.pitch_class, 5);
    let samples = dataset.load_audio(flute).unwrap();
    let f0 = common::dominant_frequency(&samples, 16000.0);
    // 0.5%: the tone is written at the label's pitch; this only guards against a wrong file.
    assert!((f0 / 698.456 - 1.0).abs() < 0.005, "{f0}");

    // Paths from JSON are never trusted, in NSynth folders either.
    let text =
        std::fs::read_to_string(root.join("examples.json")).unwrap().replace("flute_acoustic_002-077-100", "../../x");
    std::fs::write(root.join("examples.json"), text).unwrap();
    let err = Dataset::open(&root).unwrap_err().to_string();
    assert!(err.contains("../../x"), "{err}");
}

/// A TiMidity configuration of tiny GUS patches: program 0 only (tone_a), drums ignored.
fn tiny_gus_library(dir: &Path) -> std::path::PathBuf {
    use timbrescope::data::gus::patch::{MODE_ENVELOPE, MODE_LOOPING, write};
    let pats = dir.join("pats");
    std::fs::create_dir_all(&pats).unwrap();
    let sample = common::gus::sine_sample(
        0.5,
        MODE_LOOPING | MODE_ENVELOPE,
        [0xc0 | 47, 63, 63, 0xc0 | 30, 63, 63],
        [254, 254, 254, 0, 0, 0],
    );
    std::fs::write(pats.join("tone.pat"), write(&[sample])).unwrap();
    let cfg = dir.join("tiny_gus.cfg");
    std::fs::write(&cfg, "# tiny\ndir pats\n\nbank 0\n 0\ttone amp=100 pan=center\ndrumset 0\n 40 tone\n").unwrap();
    cfg
}

#[test]
fn partial_libraries_and_exclusion_lists_leave_programs_out_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tiny_data::banks(dir.path());
    let gus = tiny_gus_library(dir.path());
    let out = dir.path().join("pool");
    let options = timbrescope::data::synth::SynthOptions {
        train_banks: 2,
        exclude: BTreeMap::from([("tiny_b".to_string(), vec![40])]),
        ..tiny_data::options(&[a.clone(), gus.clone(), b.clone()], &out)
    };
    let report = synthesize(&options, &|_, _| {}).unwrap();
    let dataset = Dataset::open(&out).unwrap();
    let mut kept: BTreeMap<(String, u8), usize> = BTreeMap::new();
    for note in &dataset.notes {
        *kept.entry((note.record.bank.clone().unwrap(), note.labels.instrument.unwrap())).or_default() += 1;
    }
    // The GUS library has only tone_a (its program 40 is a drum): 24 pitches at 2 velocities,
    // split by pitch with tiny_a; tiny_b's excluded tone_b and its silent low tone_a are gone.
    assert_eq!(kept.get(&("tiny_gus".into(), 0)), Some(&48), "{kept:?}");
    assert_eq!(kept.get(&("tiny_gus".into(), 1)), None);
    assert_eq!(kept.get(&("tiny_b".into(), 1)), None, "an excluded program was rendered");
    assert_eq!(kept.get(&("tiny_b".into(), 2)), Some(&6));
    let reasons: Vec<String> = report.left_out.iter().map(|l| format!("{}: {}", l.what, l.reason)).collect();
    assert!(reasons.iter().any(|r| r.contains("tiny_gus.cfg") && r.contains("no GM program 40")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("tiny_b.sf2") && r.contains("excluded")), "{reasons:?}");
    let gus_notes: Vec<_> = dataset.notes.iter().filter(|n| n.record.bank.as_deref() == Some("tiny_gus")).collect();
    assert!(gus_notes.iter().all(|n| n.split != Some(Split::TestBank)), "a training library is split by pitch");
    // Rendered notes are heard at their pitch: the lowest and the highest.
    for note in [gus_notes[0], gus_notes[gus_notes.len() - 1]] {
        let x = dataset.load_audio(note).unwrap();
        let expected = 440.0 * 2f64.powf((f64::from(note.record.pitch) - 69.0) / 12.0);
        let heard = common::dominant_frequency(&x[16_000..32_000], 16_000.0);
        assert!((heard / expected).log2().abs() * 1200.0 < 10.0, "{}: {heard} Hz", note.record.note_str);
    }

    // An exclusion naming no bank is refused before anything is written.
    let bad = dir.path().join("bad");
    let options = timbrescope::data::synth::SynthOptions {
        exclude: BTreeMap::from([("tiny_z".to_string(), vec![40])]),
        ..tiny_data::options(&[a, gus, b], &bad)
    };
    let err = error_text(synthesize(&options, &|_, _| {}));
    assert!(err.contains("--exclude") && err.contains("tiny_z") && err.contains("tiny_gus"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn a_bad_timidity_configuration_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("broken.cfg");
    std::fs::write(&cfg, "bank 0\n0 piano.pat\n300 organ.pat\n").unwrap();
    let err = timbrescope::data::library::Library::load(&cfg).unwrap_err().to_string();
    assert!(err.contains("broken.cfg") && err.contains("line 3") && err.contains("300"), "{err}");
    // A patch that is not one is named when a note is rendered from it.
    std::fs::write(dir.path().join("piano.pat"), b"not a patch").unwrap();
    std::fs::write(&cfg, "bank 0\n0 piano.pat\n").unwrap();
    let library = timbrescope::data::library::Library::load(&cfg).unwrap();
    let mut renderer = library.renderer(16_000).unwrap();
    let err =
        renderer.render_note(0, 60, 100, &timbrescope::data::soundfont::NoteSpec::NSYNTH).unwrap_err().to_string();
    assert!(err.contains("piano.pat") && err.contains("not a GUS patch"), "{err}");
}
