//! Live listening's costs on this machine: one 16-ms block into the views (the STFT columns it
//! completes, its envelope, and a CQT refresh every sixth block, measured over six blocks so
//! the refresh is counted at its rate), of which the copy into the shared views is all that
//! holds the window's lock, and the running prediction of one hop (the last 4 s through the
//! shipped model). `benches/live.sh` times the whole stream as it runs, window and
//! all.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group};
use timbrescope::learn::notes::inputs::NOTE_SAMPLES;
use timbrescope::learn::{ModelSource, Predictor};
use timbrescope::live::{LiveAnalyser, LiveConfig, PREDICTION_HOP_SECS};

const BLOCK: usize = 256;

fn signal(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            0.3 * (std::f32::consts::TAU * 220.0 * t).sin() + 0.1 * (std::f32::consts::TAU * 1_760.0 * t).sin()
        })
        .collect()
}

fn blocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("live");
    // Warm: a minute heard, so the rings wrap and the CQT runs on its steady tail.
    let mut live = LiveAnalyser::new(LiveConfig { history_secs: 30.0, ..LiveConfig::default() }).unwrap();
    let mut views = live.views();
    live.push(&signal(60 * 16_000));
    views.apply(live.take_update());
    let six = signal(6 * BLOCK);
    group.bench_function("six_blocks_into_the_views", |bench| {
        bench.iter(|| {
            for block in six.chunks(BLOCK) {
                live.push(black_box(block));
            }
            views.apply(live.take_update());
        })
    });
    group.bench_function("six_blocks_copied_under_the_lock", |bench| {
        bench.iter_batched(
            || {
                for block in six.chunks(BLOCK) {
                    live.push(block);
                }
                live.take_update()
            },
            |update| views.apply(black_box(update)),
            BatchSize::SmallInput,
        )
    });
    let mut predictor = Predictor::open(&ModelSource::Shipped).unwrap();
    // Two windows a hop apart, taken in turn: live hops never repeat, and the predictor keeps
    // the last window's inputs, so the same window twice would skip its analysis.
    let hop = (PREDICTION_HOP_SECS * 16_000.0) as usize;
    let heard = signal(NOTE_SAMPLES + hop);
    let windows = [&heard[..NOTE_SAMPLES], &heard[hop..]];
    let mut turn = 0;
    group.bench_function("prediction_of_one_hop", |bench| {
        bench.iter(|| {
            turn ^= 1;
            predictor.predict(black_box(windows[turn]), 3).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, blocks);

fn main() {
    // SAFETY: the first statement of main: no other thread exists yet.
    unsafe { timbrescope::learn::network::runtime::park_candle_helpers() };
    benches();
    Criterion::default().configure_from_args().final_summary();
}
