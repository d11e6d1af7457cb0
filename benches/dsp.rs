//! Speed of the views' transforms on the demo clips (4 s at 16 kHz), one thread, and of the
//! folder export on one and two threads. benches/compare.py runs this beside librosa.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use timbrescope::audio::load_clip;
use timbrescope::dsp::{Cqt, CqtConfig, Scale, Stft, StftConfig, View};
use timbrescope::features::export_folder;

fn demo_clip() -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/violin_A4.wav");
    load_clip(&path).expect("demo clip").samples.to_vec()
}

fn transforms(c: &mut Criterion) {
    let x = demo_clip();
    let mut stft = Stft::new(StftConfig::default()).unwrap();
    c.bench_function("stft_log", |b| b.iter(|| black_box(stft.compute(black_box(&x), Scale::Db))));
    c.bench_function("stft_log_per_frame", |b| b.iter(|| black_box(stft.compute_per_frame(black_box(&x), Scale::Db))));
    let mut cqt = Cqt::new(CqtConfig::default()).unwrap();
    cqt.compute(&x, Scale::Db); // builds and caches the plan, as librosa's timings with cache do
    c.bench_function("cqt_db", |b| b.iter(|| black_box(cqt.compute(black_box(&x), Scale::Db))));
}

fn folder(c: &mut Criterion) {
    // 32 clips: the 8 demo clips, four times each.
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    for entry in std::fs::read_dir(&demo).unwrap().flatten() {
        for copy in 0..4 {
            std::fs::copy(entry.path(), dir.path().join(format!("{copy}_{}", entry.file_name().to_string_lossy())))
                .unwrap();
        }
    }
    let out = tempfile::tempdir().unwrap();
    // Read, analyse, write the .npy and flush: what `timbrescope features DIR` does, and what
    // benches/librosa_ref.py times librosa and numpy doing.
    let mut group = c.benchmark_group("features_folder");
    group.throughput(Throughput::Elements(32));
    group.sample_size(20);
    for (view, name, threads) in [(View::Stft, "stft", 1), (View::Cqt, "cqt", 1), (View::Cqt, "cqt", 2)] {
        group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
            b.iter(|| export_folder(dir.path(), out.path(), view, Scale::Db, threads, &|_, _| {}).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, transforms, folder);
criterion_main!(benches);
