//! Reading a training epoch's notes from the feature store against analysing them from the audio
//! (read WAV, STFT and CQT in dB, pooled over time), one thread; and the same with the default
//! config's floor, standardisation and bin pooling after either, which training does per draw.
//! Needs FluidR3_GM (`fluid-soundfont-gm`, installed by scripts/setup.sh).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::synth::{SynthOptions, synthesize};
use timbrescope::features::Analyzer;
use timbrescope::learn::TrainConfig;
use timbrescope::learn::notes::batch::NoteSource;
use timbrescope::learn::notes::inputs::{Standardizer, raw_views};
use timbrescope::learn::notes::store::{BuildOptions, Store, StoreSettings, build};

const FLUID_SF2: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

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
    let config = TrainConfig::shipped_default();
    let input = config.input;
    let settings = StoreSettings::for_input(&input);
    build(&dataset, &settings, &BuildOptions { threads: 2, ..Default::default() }, &|_, _| {}).unwrap();
    let store = Store::open(&dataset, &settings).unwrap();
    let train = dataset.split_indices(Split::Train);
    let (s, c_) = store.raw_moments(Some(Split::Train));
    let standardizer = Standardizer::from_moments(s, c_);
    eprintln!("epoch: {} training notes", train.len());

    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    let mut analyzer = Analyzer::default();
    let mut analyse = |i: usize| {
        let samples = dataset.load_audio(&dataset.notes[i]).unwrap();
        raw_views(&mut analyzer, &samples).pool_time(input.time_pool)
    };
    group.bench_function("from_store", |b| {
        b.iter(|| train.iter().for_each(|&i| drop(black_box(store.read(i).unwrap()))))
    });
    group.bench_function("analysed", |b| b.iter(|| train.iter().for_each(|&i| drop(black_box(analyse(i))))));
    // As training reads a clean note: the floor taken on the stored steps.
    let source = NoteSource::Store { store: Arc::new(store), rows: train.clone() };
    group.bench_function("from_store_finished", |b| {
        b.iter(|| (0..train.len()).for_each(|k| drop(black_box(source.inputs(k, &standardizer, &input).unwrap()))))
    });
    group.bench_function("analysed_finished", |b| {
        b.iter(|| train.iter().for_each(|&i| drop(black_box(standardizer.finish(&analyse(i), &input)))))
    });
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
