//! The feature store on the tiny data set: what it holds against the analysis of the audio, its
//! refusal of stale, truncated and foreign shards, resuming a build, and a full disk.

mod common;

use std::path::Path;

use common::tiny_data;
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::features::Analyzer;
use timbrescope::learn::notes::inputs::{InputConfig, note_power, raw_views};
use timbrescope::learn::notes::moments::Moments;
use timbrescope::learn::notes::store::{
    BuildOptions, STEP_DB, STORE_DIR, STORE_FORMAT, Store, StoreError, StoreSettings, build,
};

fn open(root: &Path) -> Dataset {
    Dataset::open_with(root, tiny_data::taxonomy(), &Default::default()).unwrap()
}

fn settings(time_pool: usize) -> StoreSettings {
    StoreSettings::for_input(&InputConfig::pooled(time_pool, 4, 4))
}

/// Shards of 16 notes: the tiny data set's 126 notes make eight, the last one short.
fn options() -> BuildOptions {
    BuildOptions { threads: 2, shard_notes: 16, disk_limit_bytes: None }
}

/// The names in a folder, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn build_tiny(dataset: &Dataset) -> timbrescope::learn::notes::store::BuildReport {
    build(dataset, &settings(4), &options(), &|_, _| {}).unwrap()
}

#[test]
fn stored_notes_are_the_analysed_audio_within_half_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let report = build_tiny(&dataset);
    assert_eq!((report.notes, report.shards, report.built), (dataset.notes.len(), 8, 8));
    let again = build_tiny(&dataset);
    assert_eq!(again.built, 0, "a complete store is reused");

    let store = Store::open(&dataset, &settings(4)).unwrap();
    assert_eq!(store.len(), dataset.notes.len());
    let mut analyzer = Analyzer::default();
    let mut worst = 0f32;
    for i in [0, 15, 16, 77, dataset.notes.len() - 1] {
        let samples = dataset.load_audio(&dataset.notes[i]).unwrap();
        let expected = raw_views(&mut analyzer, &samples).pool_time(4);
        let stored = store.read(i).unwrap();
        assert_eq!(stored.power, note_power(&samples));
        assert_eq!((stored.raw.frames, stored.raw.stft_bins, stored.raw.cqt_bins), (62, 513, 761));
        for (want, got) in [(&expected.stft, &stored.raw.stft), (&expected.cqt, &stored.raw.cqt)] {
            let top = want.iter().copied().fold(f32::MIN, f32::max);
            for (w, g) in want.iter().zip(got) {
                // Values more than 255 steps below the view's loudest are kept at that level.
                worst = worst.max((w.max(top - 255.0 * STEP_DB) - g).abs());
            }
        }
    }
    // Half a step, and f32 rounding of values near 100 dB.
    assert!(worst <= STEP_DB / 2.0 + 1e-4, "a stored value is {worst} dB off");

    // The raw frames' sums of the training split are those of the audio.
    let (mut stft, mut cqt) = (Moments::new(513), Moments::new(761));
    for i in dataset.split_indices(Split::Train) {
        let raw = raw_views(&mut analyzer, &dataset.load_audio(&dataset.notes[i]).unwrap());
        stft.add(&raw.stft);
        cqt.add(&raw.cqt);
    }
    let (s, c) = store.raw_moments(Some(Split::Train));
    assert_eq!((s.count, c.count), (stft.count, cqt.count));
    for (a, b) in s.sum.iter().zip(&stft.sum).chain(c.sum_sq.iter().zip(&cqt.sum_sq)) {
        // Sums in f64 over the same values in another order.
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} against {b}");
    }
}

#[test]
fn changed_audio_is_never_served_and_a_rebuild_replaces_only_its_shard() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    build_tiny(&dataset);
    // Replace note 3's audio with note 40's (valid, same length, other content).
    std::fs::copy(dataset.audio_path(&dataset.notes[40]), dataset.audio_path(&dataset.notes[3])).unwrap();
    let err = Store::open(&dataset, &settings(4)).err().expect("stale inputs must not be served");
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("shard-00000.bin") && text.contains(&dataset.notes[3].record.note_str), "{text}");
    let report = build_tiny(&dataset);
    assert_eq!((report.built, report.replaced), (1, 1));
    let store = Store::open(&dataset, &settings(4)).unwrap();
    assert_eq!(store.read(3).unwrap().raw.stft, store.read(40).unwrap().raw.stft);
    // Other settings are another store, missing until built.
    let other = Store::open(&dataset, &settings(2)).err().unwrap();
    assert!(matches!(other, StoreError::Missing { .. }) && other.to_string().contains("store build"), "{other}");
}

#[test]
fn truncated_and_foreign_shards_are_refused_by_name_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let store_dir = build_tiny(&dataset).dir;
    let shard = store_dir.join("shard-00002.bin");
    let full = std::fs::metadata(&shard).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&shard).unwrap().set_len(full - 1000).unwrap();
    let err = Store::open(&dataset, &settings(4)).err().expect("a truncated shard must not open");
    assert!(matches!(err, StoreError::Damaged { .. }) && err.to_string().contains("shard-00002.bin"), "{err}");
    let report = build_tiny(&dataset);
    assert_eq!((report.built, report.replaced), (1, 1));
    assert_eq!(std::fs::metadata(&shard).unwrap().len(), full);

    // A record damaged in place, one byte in its middle, is refused by its own checksum when read
    // (opening reads no record), naming its shard; the shard's other notes still read.
    let mut bytes = std::fs::read(&shard).unwrap();
    let notes = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let first = u64::from_le_bytes(bytes[16..24].try_into().unwrap()) as usize;
    let (ends_at, records_at) = (64 + 8 * notes, 64 + 24 * notes);
    let end = u64::from_le_bytes(bytes[ends_at..ends_at + 8].try_into().unwrap()) as usize;
    bytes[records_at + end / 2] ^= 0x10;
    std::fs::write(&shard, &bytes).unwrap();
    let store = Store::open(&dataset, &settings(4)).unwrap();
    let err = store.read(first).expect_err("a damaged record must not decode");
    assert!(matches!(err, StoreError::Damaged { .. }) && err.to_string().contains("shard-00002.bin"), "{err}");
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(store.read(first + 1).is_ok(), "the shard's other records are whole");
    drop(store);
    std::fs::write(&shard, vec![0u8; 0]).unwrap();
    assert_eq!(build_tiny(&dataset).built, 1);

    // A shard of the same place in another store (other settings, the same notes and size).
    let other_dir = build(&dataset, &settings(2), &options(), &|_, _| {}).unwrap().dir;
    let other = other_dir.join("shard-00002.bin");
    std::fs::copy(&other, &shard).unwrap();
    let err = Store::open(&dataset, &settings(4)).err().expect("another store's shard must not open");
    assert!(err.to_string().contains("shard-00002.bin"), "{err}");
    // Its header's key (other settings) gives it away.
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");

    // A whole store of another data set, put where this one's belongs.
    let (other_root, _) = {
        let d = dir.path().join("second");
        std::fs::create_dir_all(&d).unwrap();
        tiny_data::build(&d)
    };
    // The same notes but one velocity: another data set as far as its examples.json goes.
    let path = other_root.join("examples.json");
    let mut examples: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let first = examples.values_mut().next().unwrap();
    first["velocity"] = serde_json::json!(first["velocity"].as_u64().unwrap() + 1);
    std::fs::write(&path, serde_json::to_string(&examples).unwrap()).unwrap();
    let second = open(&other_root);
    let (second_dir, ..) = timbrescope::learn::notes::store::location(&second, &settings(4)).unwrap();
    std::fs::create_dir_all(second_dir.parent().unwrap()).unwrap();
    std::fs::rename(&store_dir, &second_dir).unwrap();
    let err = Store::open(&second, &settings(4)).err().expect("a store of another data set must not open");
    assert!(matches!(err, StoreError::Foreign { .. }) && err.to_string().contains("store.json"), "{err}");
}

#[test]
fn an_interrupted_build_resumes_and_a_full_disk_leaves_only_whole_shards() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let one_shard = {
        let report = build_tiny(&dataset);
        let bytes = std::fs::metadata(report.dir.join("shard-00000.bin")).unwrap().len();
        std::fs::remove_dir_all(root.join(STORE_DIR)).unwrap();
        bytes
    };
    // The disk fills after three shards.
    let limited = BuildOptions { disk_limit_bytes: Some(3 * one_shard + one_shard / 2), ..options() };
    let err = build(&dataset, &settings(4), &limited, &|_, _| {}).unwrap_err();
    assert!(matches!(err, StoreError::Full { .. }) && err.to_string().contains("shard-00003.bin"), "{err}");
    let (store_dir, ..) = timbrescope::learn::notes::store::location(&dataset, &settings(4)).unwrap();
    assert_eq!(files_in(&store_dir), ["shard-00000.bin", "shard-00001.bin", "shard-00002.bin", "store.json"]);
    assert!(Store::open(&dataset, &settings(4)).is_err(), "an incomplete store does not open");

    // A build killed while writing leaves a temporary file of a dead process: never read,
    // removed by the next build, which writes only the five missing shards.
    let partial = store_dir.join(".shard-00003.bin.partial-4000000");
    std::fs::write(&partial, b"half").unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let report = build(&dataset, &settings(4), &options(), &|d, t| seen.lock().unwrap().push((d, t))).unwrap();
    assert_eq!((report.built, report.replaced), (5, 0));
    assert!(!partial.exists());
    // Progress starts at the notes already stored and ends at all of them.
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.first(), Some(&(48, dataset.notes.len())));
    assert_eq!(seen.last(), Some(&(dataset.notes.len(), dataset.notes.len())));
    Store::open(&dataset, &settings(4)).unwrap();
}

#[test]
fn a_note_that_cannot_be_read_is_named_and_no_shard_is_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    std::fs::write(dataset.audio_path(&dataset.notes[20]), b"RIFF junk").unwrap();
    let err = build(&dataset, &settings(4), &options(), &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains(&dataset.notes[20].record.note_str), "{err}");
    let (store_dir, ..) = timbrescope::learn::notes::store::location(&dataset, &settings(4)).unwrap();
    // The first shard was whole before the second met the bad note.
    assert_eq!(files_in(&store_dir), ["shard-00000.bin", "store.json"]);
}

#[test]
fn stores_of_an_older_format_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let other = build(&dataset, &settings(2), &options(), &|_, _| {}).unwrap().dir;
    let stores = other.parent().unwrap().to_owned();
    // A store an older version wrote, and a folder that is not known to be a store.
    let old = stores.join("00000000000000aa");
    std::fs::create_dir_all(&old).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(other.join("store.json")).unwrap()).unwrap();
    meta["settings"]["format"] = serde_json::json!(STORE_FORMAT - 1);
    std::fs::write(old.join("store.json"), meta.to_string()).unwrap();
    std::fs::write(old.join("shard-00000.bin"), [0u8; 64]).unwrap();
    let unknown = stores.join("notes-by-hand");
    std::fs::create_dir_all(&unknown).unwrap();
    let report = build_tiny(&dataset);
    assert_eq!(report.removed_old, vec![old.clone()]);
    assert!(!old.exists() && unknown.exists(), "only the older format goes");
    assert!(Store::open(&dataset, &settings(2)).is_ok(), "a store of other settings in this format stays");
    assert!(build_tiny(&dataset).removed_old.is_empty());
}
