//! The degradation chain on a 4-s clip, one thread: the whole target chain (1.2 s binaural room,
//! pink noise at 10 dB, band-pass EQ, Opus 32 kbit/s), each stage alone (on both ears), the chain that
//! `benches/audiomentations_ref.py` can run too (MP3 in place of Opus), and what the workbench
//! does after a slider moves (chain, both views, both Δs). `benches/compare_degrade.py` runs
//! this and audiomentations in one go and prints the ratios.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use timbrescope::audio::load_clip;
use timbrescope::degrade::codec::Codec;
use timbrescope::degrade::convolve::convolve_many;
use timbrescope::degrade::eq::{Eq, apply};
use timbrescope::degrade::noise::{NoiseColor, add_noise};
use timbrescope::degrade::rir::{RirSpec, room_response};
use timbrescope::degrade::{ChainRunner, Stage, apply_chain, apply_chain_ears};
use timbrescope::features::Analyzer;
use timbrescope::jobs::Analysis;

const SR: u32 = 16_000;

fn target_chain() -> Vec<Stage> {
    vec![
        Stage::Reverb { rt60_s: 1.2, binaural: true, room_seed: 7 },
        Stage::Noise { color: NoiseColor::Pink, snr_db: 10.0, noise_seed: 7 },
        Stage::BandPass { low_hz: 300.0, high_hz: 3400.0 },
        Stage::Opus { kbps: 32 },
    ]
}

/// The chain audiomentations can run: its shelves and band-pass, and MP3 (it has no Opus).
fn audiomentations_chain() -> Vec<Stage> {
    vec![
        Stage::Reverb { rt60_s: 1.2, binaural: true, room_seed: 7 },
        Stage::Noise { color: NoiseColor::Pink, snr_db: 10.0, noise_seed: 7 },
        Stage::LowShelf { freq_hz: 200.0, gain_db: 6.0 },
        Stage::HighShelf { freq_hz: 4000.0, gain_db: -6.0 },
        Stage::BandPass { low_hz: 300.0, high_hz: 3400.0 },
        Stage::Mp3 { kbps: 32 },
    ]
}

fn degrade(c: &mut Criterion) {
    let clip = load_clip(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/piano_C4.wav")).unwrap();
    let x: Vec<f32> = clip.samples.to_vec();
    let rir_spec = RirSpec { rt60_s: 1.2, binaural: true, seed: 7, sofa: None };
    let rir = room_response(&rir_spec, SR).unwrap();
    // The same room for the audiomentations side of benches/compare_degrade.py.
    let brir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("brir_1.2s_seed7.wav");
    timbrescope::audio::save_wav_channels(&brir, &rir.channels, SR).unwrap();
    let mut group = c.benchmark_group("degrade");
    group.sample_size(30);
    // As the model hears it (the room's mid, one channel on), and with both ears for listening.
    group.bench_function("chain_target", |b| b.iter(|| apply_chain(black_box(&x), SR, &target_chain()).unwrap()));
    group.bench_function("chain_target_ears", |b| {
        b.iter(|| apply_chain_ears(black_box(&x), SR, &target_chain()).unwrap())
    });
    group.bench_function("chain_audiomentations", |b| {
        b.iter(|| apply_chain_ears(black_box(&x), SR, &audiomentations_chain()).unwrap())
    });
    group.bench_function("rir_binaural_1.2s", |b| b.iter(|| room_response(black_box(&rir_spec), SR).unwrap()));
    let kernels: Vec<&[f32]> = rir.channels.iter().map(Vec::as_slice).collect();
    group.bench_function("convolve_binaural_1.2s", |b| b.iter(|| convolve_many(black_box(&x), &kernels, x.len())));
    group.bench_function("convolve_mono_1.2s", |b| b.iter(|| convolve_many(black_box(&x), &kernels[..1], x.len())));
    // Later stages run on what they get inside the chain: the two reverberant ears.
    let wet = convolve_many(&x, &kernels, x.len());
    group.bench_function("pink_noise", |b| {
        b.iter(|| {
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
            let mut y = wet.clone();
            for ch in &mut y {
                add_noise(ch, NoiseColor::Pink, 10.0, &mut rng).unwrap();
            }
            y
        })
    });
    let band = Eq::BandPass { low_hz: 300.0, high_hz: 3400.0 }.design(SR).unwrap();
    group.bench_function("band_pass", |b| {
        b.iter(|| {
            let mut y = wet.clone();
            for ch in &mut y {
                apply(&band, ch);
            }
            y
        })
    });
    for (name, codec) in [("opus_32", Codec::Opus), ("mp3_32", Codec::Mp3)] {
        group.bench_function(name, |b| {
            b.iter(|| wet.iter().map(|ch| codec.round_trip(black_box(ch), SR, 32.0).unwrap()).collect::<Vec<_>>())
        });
    }

    // After a slider moves: the chain (from the changed stage on, both ears), then the degraded
    // clip's STFT and CQT and both Δs, as the workbench's worker does.
    let clean = Analysis::compute(clip.clone(), &mut Analyzer::default()).unwrap();
    let mut analyzer = Analyzer::default();
    let input: Arc<[f32]> = clip.samples.clone();
    let mut redraw = |runner: &mut ChainRunner, stages: &[Stage]| {
        let out = runner.run(&input, SR, stages).unwrap();
        let mid = timbrescope::audio::Clip::new("d", out.mid(), SR);
        let a = Analysis::compute(mid, &mut analyzer).unwrap();
        (a.stft.difference(&clean.stft, -80.0).unwrap(), a.cqt.difference(&clean.cqt, -80.0).unwrap())
    };
    let mut runner = ChainRunner::with_ears();
    let mut flip = false;
    group.bench_function("slider_rt60", |b| {
        b.iter(|| {
            flip = !flip;
            let mut stages = target_chain();
            stages[0] = Stage::Reverb { rt60_s: if flip { 1.2 } else { 1.1 }, binaural: true, room_seed: 7 };
            redraw(&mut runner, &stages)
        })
    });
    group.bench_function("slider_snr", |b| {
        b.iter(|| {
            flip = !flip;
            let mut stages = target_chain();
            stages[1] = Stage::Noise { color: NoiseColor::Pink, snr_db: if flip { 10.0 } else { 12.0 }, noise_seed: 7 };
            redraw(&mut runner, &stages)
        })
    });
    group.finish();
}

criterion_group!(benches, degrade);
criterion_main!(benches);
