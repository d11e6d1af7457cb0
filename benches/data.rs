//! Reading a training epoch of features from the on-disk cache against computing it from the
//! audio (read WAV, STFT and CQT in dB, standardise), one thread. Needs FluidR3_GM
//! (`fluid-soundfont-gm`, installed by scripts/setup.sh).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use timbrescope::data::cache::{FeatureCache, FeatureConfig, build};
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::synth::{SynthOptions, synthesize};
use timbrescope::dsp::{Scale, View};
use timbrescope::features::Analyzer;

const FLUID_SF2: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

fn standardise(values: &mut [f32], mean: &[f32], std: &[f32]) {
    for frame in values.chunks_exact_mut(mean.len()) {
        for ((x, m), s) in frame.iter_mut().zip(mean).zip(std) {
            *x = (*x - m) / s;
        }
    }
}

fn epoch(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    // Every third pitch of every instrument at one velocity: about 260 notes, 210 for training.
    let options = SynthOptions {
        pitch_step: 3,
        velocities: Some(vec![100]),
        ..SynthOptions::new(vec![Path::new(FLUID_SF2).to_owned()], root.clone())
    };
    synthesize(&options, &|_, _| {}).expect("render the bench data set");
    let dataset = Dataset::open(&root).unwrap();
    build(&dataset, &FeatureConfig::default(), 2, &|_, _| {}).unwrap();
    let cache = FeatureCache::open(&dataset, &FeatureConfig::default()).unwrap();
    let train = dataset.split_indices(Split::Train);
    eprintln!("epoch: {} training clips", train.len());

    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    let mut buffer = Vec::new();
    group.bench_function("from_cache", |b| {
        b.iter(|| {
            for &i in &train {
                for view in [View::Stft, View::Cqt] {
                    cache.standardized_into(view, i, &mut buffer);
                    black_box(&buffer);
                }
            }
        })
    });
    let mut analyzer = Analyzer::default();
    group.bench_function("computed", |b| {
        b.iter(|| {
            for &i in &train {
                let samples = dataset.load_audio(&dataset.notes[i]).unwrap();
                for view in [View::Stft, View::Cqt] {
                    let mut spec = analyzer.compute(view, &samples, Scale::Db);
                    let stats = cache.stats(view);
                    standardise(&mut spec.values, &stats.mean, &stats.std);
                    black_box(&spec.values);
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
