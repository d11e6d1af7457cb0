//! The real-recordings data set: phrases made here with known notes, packed as the packages
//! pack them (a Qt resource file, a folder of single notes), cut and labelled.

use std::path::Path;

use timbrescope::data::dataset::{Dataset, NOTE_RATE_HZ, NOTE_SAMPLES, Split, read_examples, read_note_wav};
use timbrescope::data::real::rcc::write_rcc;
use timbrescope::data::real::{CutKind, RealSources, build_real};
use timbrescope::data::taxonomy::Taxonomy;

fn midi_to_hz(midi: f64) -> f64 {
    440.0 * 2f64.powf((midi - 69.0) / 12.0)
}

/// A phrase of harmonic notes (MIDI, start s, length s) at 16 kHz with 20 ms attacks and 60 ms
/// releases, silent between them.
fn phrase(notes: &[(f64, f64, f64)], secs: f64) -> Vec<f32> {
    let rate = f64::from(NOTE_RATE_HZ);
    let mut out = vec![0.0f32; (secs * rate) as usize];
    for &(midi, start, len) in notes {
        let f0 = midi_to_hz(midi);
        for i in 0..(len * rate) as usize {
            let t = i as f64 / rate;
            let env = (t / 0.02).min(1.0) * ((len - t) / 0.06).clamp(0.0, 1.0);
            let x: f64 = (1..=5).map(|h| (2.0 * std::f64::consts::PI * h as f64 * f0 * t).sin() / h as f64).sum();
            out[(start * rate) as usize + i] += (0.25 * env * x) as f32;
        }
    }
    out
}

fn wav_bytes(samples: &[f32]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: NOTE_RATE_HZ,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for &s in samples {
        w.write_sample((s * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    cursor.into_inner()
}

const VIOLIN: [(f64, f64, f64); 4] = [(67.0, 0.2, 0.5), (71.0, 0.9, 0.4), (74.0, 1.5, 0.6), (69.0, 2.3, 0.5)];
/// Its lowest note (MIDI 45) is under an alto's range: the range rule makes it a tenor.
const SAX: [(f64, f64, f64); 3] = [(45.0, 0.2, 0.5), (52.0, 0.9, 0.5), (57.0, 1.6, 0.5)];

/// A root holding `phrases.rcc` (a violin and a saxophone phrase) and `organ/` with two single
/// notes, and the sources naming them.
fn sources(root: &Path) -> RealSources {
    let violin = wav_bytes(&phrase(&VIOLIN, 3.0));
    let sax = wav_bytes(&phrase(&SAX, 2.5));
    let rcc = write_rcc(&[("violin.wav", &violin, true), ("saxophone.wav", &sax, false)]);
    std::fs::write(root.join("phrases.rcc"), rcc).unwrap();
    std::fs::create_dir_all(root.join("organ")).unwrap();
    for (name, midi) in [("a.wav", 48.0), ("b.wav", 60.0)] {
        std::fs::write(root.join("organ").join(name), wav_bytes(&phrase(&[(midi, 0.1, 1.5)], 2.5))).unwrap();
    }
    RealSources::parse(
        r#"
[[source]]
name = "phrases"
package = "p"
use = "test"
rcc = "phrases.rcc"
files = [
    { path = "violin.wav", instrument = "violin", holds = "phrase" },
    { path = "saxophone.wav", instrument = "alto_sax", lowest = [49, "tenor_sax"], family = "reed", holds = "phrase" },
]

[[source]]
name = "organ"
package = "o"
use = "train"
files = [
    { path = "organ/a.wav", instrument = "church_organ", holds = "note" },
    { path = "organ/b.wav", instrument = "church_organ", holds = "note", held = true },
]
"#,
    )
    .unwrap()
}

#[test]
fn phrases_are_cut_into_their_notes_with_pitch_instrument_family_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let (root, out) = (dir.path().join("root"), dir.path().join("real"));
    std::fs::create_dir_all(&root).unwrap();
    // A note of an earlier build that this one does not cut, and a file that is no note.
    std::fs::create_dir_all(out.join("audio")).unwrap();
    std::fs::write(out.join("audio/gone-060-100.wav"), wav_bytes(&[0.0; 160])).unwrap();
    std::fs::write(out.join("audio/README.txt"), "kept").unwrap();
    let report = build_real(&sources(&root), &root, &out, &Taxonomy::default(), CutKind::Note, &|_, _| {}).unwrap();
    assert_eq!(report.notes, VIOLIN.len() + SAX.len() + 2, "{report:?}");
    assert!(!out.join("audio/gone-060-100.wav").exists(), "a stale note's audio is left behind");
    assert!(out.join("audio/README.txt").exists());
    let wavs = std::fs::read_dir(out.join("audio"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "wav"));
    assert_eq!(wavs.count(), report.notes, "one WAV per note");
    let records = read_examples(&out.join("examples.json")).unwrap();
    let taxonomy = Taxonomy::default();
    let index = |name: &str| taxonomy.instruments.iter().position(|i| i.name == name).unwrap() as u8;

    let mut violin: Vec<_> = records.values().filter(|r| r.instrument16 == Some(index("violin"))).collect();
    violin.sort_by(|a, b| a.extra["onset_secs"].as_f64().partial_cmp(&b.extra["onset_secs"].as_f64()).unwrap());
    let pitches: Vec<u8> = violin.iter().map(|r| r.pitch).collect();
    assert_eq!(pitches, VIOLIN.map(|n| n.0 as u8).to_vec());
    for (r, n) in violin.iter().zip(VIOLIN) {
        assert_eq!(r.split, Some(Split::TestReal));
        assert_eq!(r.bank.as_deref(), Some("phrases"));
        // Two hops (32 ms) of onset error, as the segmenter's own test allows.
        assert!((r.extra["onset_secs"].as_f64().unwrap() - n.1).abs() < 0.04, "{r:?}");
        // The cut note: 4 s, the note first, then silence after its release.
        let audio = read_note_wav(&out.join("audio").join(format!("{}.wav", r.note_str))).unwrap();
        assert_eq!(audio.len(), NOTE_SAMPLES);
        let tail = &audio[((n.2 + 0.1) * 16_000.0) as usize..];
        assert!(tail.iter().all(|&s| s == 0.0), "sound after the note's end in {}", r.note_str);
    }

    // The saxophone's range makes it a tenor: outside the taxonomy, scored by its family.
    let sax: Vec<_> = records.values().filter(|r| r.instrument_str.ends_with("tenor_sax")).collect();
    assert_eq!(sax.len(), SAX.len());
    assert!(
        sax.iter().all(|r| r.instrument16.is_none() && r.family8 == taxonomy.family_index("reed").map(|f| f as u8))
    );

    // A train-eligible source: its notes train, but for the held file's.
    let organ: Vec<_> = records.values().filter(|r| r.bank.as_deref() == Some("organ")).collect();
    let split_of = |pitch: u8| organ.iter().find(|r| r.pitch == pitch).unwrap().split;
    assert_eq!((split_of(48), split_of(60)), (Some(Split::Train), Some(Split::TestReal)));

    // The folder opens as a data set; its counts file says the same.
    let dataset = Dataset::open(&out).unwrap();
    assert_eq!(dataset.split_indices(Split::TestReal).len(), VIOLIN.len() + SAX.len() + 1);
    let counts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("real_counts.json")).unwrap()).unwrap();
    assert_eq!(counts["organ"]["organ_acoustic_organ_church_organ"]["train"], 1);
}

#[test]
fn a_missing_file_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (root, out) = (dir.path().join("root"), dir.path().join("real"));
    std::fs::create_dir_all(&root).unwrap();
    let mut s = sources(&root);
    s.source[1].files[0].path = "organ/missing.wav".into();
    let err = build_real(&s, &root, &out, &Taxonomy::default(), CutKind::Note, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains("organ/missing.wav"), "{err}");
    assert!(!out.join("examples.json").exists());
}

#[test]
fn the_shipped_sources_parse_and_name_taxonomy_instruments_or_families() {
    let taxonomy = Taxonomy::default();
    for source in RealSources::shipped().source {
        for f in &source.files {
            let known = taxonomy.instruments.iter().any(|i| i.name == f.instrument);
            let family = f.family.as_ref().is_some_and(|fam| taxonomy.family_index(fam).is_some());
            assert!(known || family, "{}: {} is neither an instrument nor has a family", source.name, f.instrument);
        }
    }
}
