//! The feature cache (exact features, standardisation, staleness, damage) and data-set mixtures.

mod common;

use std::path::Path;

use common::tiny_data;
use timbrescope::data::cache::{CACHE_DIR, CacheError, FeatureCache, FeatureConfig, build};
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::mixing::{MixOptions, make_mixtures, mixture_path};
use timbrescope::data::mixture::read_npz;
use timbrescope::dsp::{Scale, View};
use timbrescope::features::Analyzer;

fn open(root: &Path) -> Dataset {
    Dataset::open_with(root, tiny_data::taxonomy(), &Default::default()).unwrap()
}

fn build_cache(dataset: &Dataset) -> timbrescope::data::cache::BuildReport {
    build(dataset, &FeatureConfig::default(), 2, &|_, _| {}).unwrap()
}

#[test]
fn cached_features_are_the_transforms_and_standardise_the_training_split() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let report = build_cache(&dataset);
    assert!(report.built);
    assert!(!build_cache(&dataset).built, "an up-to-date cache is reused");

    let cache = FeatureCache::open(&dataset, &FeatureConfig::default()).unwrap();
    assert_eq!(cache.len(), dataset.notes.len());
    assert_eq!(cache.shape(View::Stft), (513, 251));
    assert_eq!(cache.shape(View::Cqt), (761, 251));
    let mut analyzer = Analyzer::default();
    for i in [0, 17, dataset.notes.len() - 1] {
        let samples = dataset.load_audio(&dataset.notes[i]).unwrap();
        for view in [View::Stft, View::Cqt] {
            let spec = analyzer.compute(view, &samples, Scale::Db);
            assert!(cache.raw(view, i) == &spec.values[..], "{view:?} of note {i} differs from the transform");
        }
    }

    // Over the training split, every bin of the standardised features has mean 0 and std 1.
    let train = dataset.split_indices(Split::Train);
    let (bins, frames) = cache.shape(View::Cqt);
    let mut sum = vec![0.0_f64; bins];
    let mut sum_sq = vec![0.0_f64; bins];
    let mut buffer = Vec::new();
    for &i in &train {
        cache.standardized_into(View::Cqt, i, &mut buffer);
        for frame in buffer.chunks_exact(bins) {
            for (b, &x) in frame.iter().enumerate() {
                sum[b] += f64::from(x);
                sum_sq[b] += f64::from(x) * f64::from(x);
            }
        }
    }
    let n = (train.len() * frames) as f64;
    let stats = cache.stats(View::Cqt);
    for b in 0..bins {
        let mean = sum[b] / n;
        let var = sum_sq[b] / n - mean * mean;
        // 1e-3: f32 statistics over ~20k values of magnitude up to 100 dB.
        assert!(mean.abs() < 1e-3, "bin {b}: mean {mean}");
        // Bins constant over training (below the floor everywhere) have std clamped at the minimum.
        if stats.std[b] > 1e-2 {
            assert!((var - 1.0).abs() < 1e-3, "bin {b}: variance {var}");
        }
    }
}

#[test]
fn changed_audio_is_never_served_from_a_stale_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let first = build_cache(&dataset).dir;
    // Replace one note's audio with another note's (valid, same length, different content).
    let a = dataset.audio_path(&dataset.notes[3]);
    let b = dataset.audio_path(&dataset.notes[40]);
    std::fs::copy(&b, &a).unwrap();
    match FeatureCache::open(&dataset, &FeatureConfig::default()) {
        Err(CacheError::Missing { .. }) => {}
        Err(other) => panic!("expected a missing cache, got {other}"),
        Ok(_) => panic!("features of the old audio were served"),
    }
    let second = build_cache(&dataset);
    assert!(second.built && second.dir != first);
    let cache = FeatureCache::open(&dataset, &FeatureConfig::default()).unwrap();
    assert!(cache.raw(View::Stft, 3) == cache.raw(View::Stft, 40));
    // Another configuration is another cache too.
    let config = FeatureConfig {
        stft: timbrescope::dsp::StftConfig { hop_len: 512, ..Default::default() },
        ..Default::default()
    };
    assert!(matches!(FeatureCache::open(&dataset, &config), Err(CacheError::Missing { .. })));
}

#[test]
fn a_damaged_or_half_written_cache_is_detected_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    let cache_dir = build_cache(&dataset).dir;
    let stft = cache_dir.join("stft.f32");
    let full = std::fs::metadata(&stft).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&stft).unwrap().set_len(full / 2).unwrap();
    let err = FeatureCache::open(&dataset, &FeatureConfig::default()).err().expect("a truncated cache must not open");
    assert!(matches!(err, CacheError::Damaged { .. }) && err.to_string().contains("stft.f32"), "{err}");

    // A killed build leaves a partial folder of a dead process: never read, cleaned on the next build.
    let partial = root.join(CACHE_DIR).join(".0123456789abcdef.partial-4000000");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("index.json"), "{").unwrap();
    let report = build_cache(&dataset);
    assert!(report.built, "the damaged cache is rebuilt");
    assert_eq!(std::fs::metadata(&stft).unwrap().len(), full);
    assert!(!partial.exists());
    FeatureCache::open(&dataset, &FeatureConfig::default()).unwrap();
}

#[test]
fn a_build_that_fails_leaves_no_cache_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = open(&root);
    std::fs::write(dataset.audio_path(&dataset.notes[5]), b"RIFF junk").unwrap();
    // The hash of the damaged file is taken first; the decode fails during the build.
    let err = build(&dataset, &FeatureConfig::default(), 2, &|_, _| {}).unwrap_err().to_string();
    assert!(err.contains(&format!("{}.wav", dataset.notes[5].record.note_str)), "{err}");
    let left: Vec<_> = std::fs::read_dir(root.join(CACHE_DIR)).unwrap().collect();
    assert!(left.is_empty(), "nothing half-written may remain: {left:?}");
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
        for (k, note) in notes.iter().enumerate() {
            let gain_db = note["gain_db"].as_f64().unwrap();
            assert!((-6.0..=0.0).contains(&gain_db));
            // The stored source is the note's audio times its gain.
            let index = dataset.notes.iter().position(|n| n.record.note_str == note["note_str"].as_str().unwrap());
            let original = dataset.load_audio(&dataset.notes[index.unwrap()]).unwrap();
            let gain = 10_f32.powf(gain_db as f32 / 20.0);
            let worst = original.iter().zip(&file.sources[k]).map(|(o, s)| (o * gain - s).abs()).fold(0.0, f32::max);
            // f32 rounding of one product.
            assert!(worst < 1e-6, "source {k}: {worst}");
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
