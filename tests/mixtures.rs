//! Data-set mixtures: deterministic, distinct, and the sum of their sources.

mod common;

use std::path::Path;

use common::tiny_data;
use timbrescope::data::dataset::Dataset;
use timbrescope::data::mixing::{MAX_LEVEL_MATCH_DB, MixOptions, make_mixtures, mean_power, mixture_path};
use timbrescope::data::mixture::read_npz;

fn open(root: &Path) -> Dataset {
    Dataset::open_with(root, tiny_data::taxonomy(), &Default::default()).unwrap()
}

fn mix_options(out: &Path, seed: u64) -> MixOptions {
    MixOptions { out: out.to_owned(), count: 6, sources: 2..=3, seed, split: None, threads: 2 }
}

#[test]
fn mixtures_are_deterministic_distinct_and_sum_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    make_mixtures(&dataset, &mix_options(&a, 5), &|_, _| {}).unwrap();
    make_mixtures(&dataset, &mix_options(&b, 5), &|_, _| {}).unwrap();
    make_mixtures(&dataset, &mix_options(&c, 6), &|_, _| {}).unwrap();
    let mut differs = false;
    for i in 0..6 {
        let (pa, pb, pc) = (mixture_path(&a, i), mixture_path(&b, i), mixture_path(&c, i));
        assert!(std::fs::read(&pa).unwrap() == std::fs::read(&pb).unwrap(), "mixture {i} differs for one seed");
        differs |= std::fs::read(&pa).unwrap() != std::fs::read(&pc).unwrap();

        let file = read_npz(&pa).unwrap();
        let notes = file.meta["notes"].as_array().unwrap();
        assert!((2..=3).contains(&notes.len()));
        assert_eq!(file.sources.len(), notes.len());
        let instruments: std::collections::BTreeSet<u64> =
            notes.iter().map(|n| n["instrument16"].as_u64().unwrap()).collect();
        assert_eq!(instruments.len(), notes.len(), "sources are distinct instruments");
        let power_db = |s: &[f32]| 10.0 * mean_power(s).log10();
        let first_gain_db = notes[0]["gain_db"].as_f64().unwrap();
        for (k, note) in notes.iter().enumerate() {
            let gain_db = note["gain_db"].as_f64().unwrap();
            assert!((-6.0..=0.0).contains(&gain_db));
            // The stored source is the note's audio brought to the first's level, times its gain.
            let index = dataset.notes.iter().position(|n| n.record.note_str == note["note_str"].as_str().unwrap());
            let original = dataset.load_audio(&dataset.notes[index.unwrap()]).unwrap();
            let level_db = note["level_db"].as_f64().unwrap();
            assert!(level_db.abs() <= f64::from(MAX_LEVEL_MATCH_DB));
            let gain = 10_f32.powf((gain_db + level_db) as f32 / 20.0);
            let worst = original.iter().zip(&file.sources[k]).map(|(o, s)| (o * gain - s).abs()).fold(0.0, f32::max);
            // f32 rounding of one product.
            assert!(worst < 1e-6, "source {k}: {worst}");
            // So the sources' levels differ by their drawn gains alone.
            let relative = power_db(&file.sources[k]) - power_db(&file.sources[0]);
            assert!((relative - (gain_db - first_gain_db)).abs() < 0.01, "source {k}: {relative} dB");
        }
        let worst = (0..file.mixture.len())
            .map(|t| (file.mixture[t] - file.sources.iter().map(|s| s[t]).sum::<f32>()).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "mixture is not the sum of its sources: {worst}");
    }
    assert!(differs, "another seed draws other mixtures");
}

#[test]
fn mixing_needs_enough_instruments() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    // The tiny data set has three instruments; four distinct sources are impossible.
    let options = MixOptions { sources: 4..=4, ..mix_options(&dir.path().join("m"), 1) };
    let err = make_mixtures(&dataset, &options, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains("fewer than 4 instruments"), "{err}");
    // A reversed range, as a caller might build it from user input.
    let (lo, hi) = (3, 2);
    let options = MixOptions { sources: lo..=hi, ..mix_options(&dir.path().join("m"), 1) };
    assert!(make_mixtures(&dataset, &options, &|_, _| {}).unwrap_err().to_string().contains("--sources"));
}
