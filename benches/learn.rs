//! One training step of the default model (models/default.toml) on a batch of its size:
//! forward, multi-task loss, backward and AdamW; and a contrastive step. Inputs are seeded
//! random values of the real shapes. `benches/compare_torch.py` runs this and the same model in
//! PyTorch in one go and prints samples per second and the ratio. Also the cost of one note's
//! feature-domain noise and room, which a step pays for each example so degraded, and one dense
//! layer as Candle's product and as the fused op the model uses; and a 4-s clip heard by a model
//! with the multi-label and mask heads, analysis to masks.

use std::hint::black_box;
use std::path::Path;

use candle_core::{Device, Tensor};
use criterion::{Criterion, criterion_group};
use rand::{Rng as _, SeedableRng as _};
use timbrescope::features::Analyzer;
use timbrescope::learn::network::fused::dense;
use timbrescope::learn::network::loss::nt_xent;
use timbrescope::learn::network::model::{Classes, ModelSpec, build};
use timbrescope::learn::network::optim::AdamW;
use timbrescope::learn::network::runtime::on_workers;
use timbrescope::learn::notes::augment::{FeatureAugment, NoiseBank, PitchShift, PitchShiftConfig, RoomBank};
use timbrescope::learn::notes::batch::BatchInputs;
use timbrescope::learn::notes::inputs::{InputShape, NOTE_SAMPLES, NoteInputs, Standardizer, note_power, raw_views};
use timbrescope::learn::notes::store::StoredNote;
use timbrescope::learn::scoring::score::{SoftTargets, mtl_loss};
use timbrescope::learn::scoring::vote::Voter;
use timbrescope::learn::training::config::TrainConfig;

/// The cached views' bins (STFT 1024-point, CQT 761 bins at 96 per octave).
const RAW_STFT_BINS: usize = 513;
const RAW_CQT_BINS: usize = 761;

fn one_hot(rng: &mut impl rand::Rng, rows: usize, classes: usize, dev: &Device) -> Tensor {
    let mut v = vec![0f32; rows * classes];
    for r in 0..rows {
        v[r * classes + rng.random_range(0..classes)] = 1.0;
    }
    Tensor::from_vec(v, (rows, classes), dev).unwrap()
}

fn learn(c: &mut Criterion) {
    let config = TrainConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.toml")).unwrap();
    let shape = InputShape::of(&config.input, RAW_STFT_BINS, RAW_CQT_BINS);
    let classes = Classes::fixed(16, 8, 12, 5, 0);
    let spec = ModelSpec {
        input: config.input,
        model: config.model.clone(),
        stft_bins: shape.stft_bins,
        cqt_bins: shape.cqt_bins,
        classes: classes.clone(),
    };
    timbrescope::learn::network::runtime::keep_freed_memory();
    let dev = Device::Cpu;
    let (varmap, model) = build(&spec, 7, &dev).unwrap();
    let named = varmap.data().lock().unwrap().clone();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let b = config.mtl.batch;
    let mut random = |n: usize| (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<_>>();
    let x = BatchInputs {
        stft: Tensor::from_vec(random(b * shape.frames * shape.stft_bins), (b, shape.frames, shape.stft_bins), &dev)
            .unwrap(),
        cqt: Tensor::from_vec(random(b * shape.frames * shape.cqt_bins), (b, shape.frames, shape.cqt_bins), &dev)
            .unwrap(),
    };
    let descriptors = Tensor::from_vec(random(b * 5), (b, 5), &dev).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let targets = SoftTargets {
        classes: classes.heads.iter().map(|(_, n)| one_hot(&mut rng, b, *n, &dev)).collect(),
        qualities: None,
        descriptors,
        library: None,
        polyphony: None,
    };
    let mut optimizer = AdamW::new(&named, config.mtl.weight_decay).unwrap();
    optimizer.lr = 1e-4;
    let mut group = c.benchmark_group("learn");
    group.sample_size(20);
    group.bench_function("mtl_step_batch64", |bench| {
        bench.iter(|| {
            on_workers(|| {
                let (_, loss) = mtl_loss(&model, black_box(&x), &targets, &config.mtl.loss_weights, None).unwrap();
                optimizer.apply(&loss.total.backward().unwrap()).unwrap();
            })
        })
    });
    group.bench_function("ssl_step_batch64", |bench| {
        bench.iter(|| {
            on_workers(|| {
                let (zs, zc) = model.project_views(black_box(&x.stft), &x.cqt).unwrap();
                let loss = nt_xent(&zs, &zc, 0.2).unwrap();
                optimizer.apply(&loss.backward().unwrap()).unwrap();
            })
        })
    });
    group.bench_function("predict_one", |bench| {
        let one_s = x.stft.narrow(0, 0, 1).unwrap();
        let one_c = x.cqt.narrow(0, 0, 1).unwrap();
        bench.iter(|| on_workers(|| model.forward(black_box(&one_s), &one_c, false).unwrap()))
    });
    // A prediction as the shipped model makes it (`[pitch_shift] votes = 2`): the note and four
    // shifted copies, each through the network.
    let statistics = Standardizer {
        stft_mean: vec![-60.0; RAW_STFT_BINS],
        stft_std: vec![15.0; RAW_STFT_BINS],
        cqt_mean: vec![-70.0; RAW_CQT_BINS],
        cqt_std: vec![20.0; RAW_CQT_BINS],
    };
    let voter = Voter::from_statistics(&statistics, &config.input, 2).unwrap();
    let row = |t: &Tensor| t.narrow(0, 0, 1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let note = NoteInputs { stft: row(&x.stft), cqt: row(&x.cqt) };
    group.bench_function("predict_one_voted", |bench| {
        bench.iter(|| voter.probabilities(&model, &shape, &[black_box(&note)], &Device::Cpu).unwrap())
    });
    // A 4-s clip as a model with the multi-label and mask heads ([polyphony]) hears a mixture:
    // analysed, the voted prediction, and the masks of the two instruments it names.
    let mut polyphonic = spec.clone();
    (polyphonic.classes.multi_label, polyphonic.classes.masks) = (vec![0, 1], true);
    let (_, polyphonic) = build(&polyphonic, 7, &dev).unwrap();
    let clip: Vec<f32> = (0..NOTE_SAMPLES)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            0.2 * (std::f32::consts::TAU * 220.0 * t).sin() + 0.2 * (std::f32::consts::TAU * 330.0 * t).sin()
        })
        .collect();
    let mut analyzer = Analyzer::default();
    group.bench_function("predict_4s_clip_with_masks", |bench| {
        bench.iter(|| {
            let inputs = statistics.apply(&raw_views(&mut analyzer, black_box(&clip)), &config.input);
            let p = voter.probabilities(&polyphonic, &shape, &[&inputs], &dev).unwrap();
            let rows = [(inputs.stft.as_slice(), inputs.cqt.as_slice())];
            let x = timbrescope::learn::notes::batch::to_tensors(&shape, &rows, &dev).unwrap();
            let masks = on_workers(|| {
                let (_, frames) = polyphonic.embed_frames(&x.stft, &x.cqt, false)?;
                polyphonic.mask_head().expect("built with one").source_masks(&x.stft, &frames, &[0, 0], &[3, 7])
            })
            .unwrap();
            (p, masks)
        })
    });
    group.finish();
}

/// What the feature-domain degradations add to a step: one note's noisy and reverberant version,
/// standardised and pooled, as `Examples::draw` makes them.
fn augment(c: &mut Criterion) {
    let config = TrainConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.toml")).unwrap();
    let input = config.input;
    // A decaying two-partial note; the cost does not depend on what the note holds.
    let wave: Vec<f32> = (0..NOTE_SAMPLES)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            0.2 * (-t).exp() * ((1382.3 * t).sin() + 0.5 * (2764.6 * t).sin())
        })
        .collect();
    let raw = raw_views(&mut Analyzer::default(), &wave).pool_time(input.time_pool);
    let unit = |bins: usize| (vec![0f32; bins], vec![1f32; bins]);
    let ((stft_mean, stft_std), (cqt_mean, cqt_std)) = (unit(raw.stft_bins), unit(raw.cqt_bins));
    let standardizer = Standardizer { stft_mean, stft_std, cqt_mean, cqt_std };
    let noise = config.feature_noise.clone().expect("the default config adds noise");
    let reverb = config.feature_reverb.clone().expect("the default config adds rooms");
    let augment = FeatureAugment {
        noise: Some((noise.clone(), NoiseBank::new(noise.color, &input, 1))),
        rooms: Some((reverb.clone(), RoomBank::new(&reverb, &input, 1).unwrap())),
    };
    let note = StoredNote { power: note_power(&wave), raw };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut group = c.benchmark_group("augment");
    let mut version = |v: usize| standardizer.finish(&augment.draw(v, black_box(&note), &mut rng), &input);
    group.bench_function("noise_one_note", |bench| bench.iter(|| version(0)));
    group.bench_function("room_one_note", |bench| bench.iter(|| version(1)));
    // The floor of the noise-floor recipe, taken out of one note with noise at 10 dB SNR.
    let ablation = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ablations/noise-floor.toml");
    let floor = TrainConfig::load(&ablation).unwrap().input.noise_floor.expect("the ablation takes the floor out");
    let (_, bank) = augment.noise.as_ref().expect("noise configured above");
    let noisy = bank.add(&note.raw, note.power, 10.0, 0, 0);
    group.bench_function("floor_one_note", |bench| bench.iter(|| black_box(&noisy).without_floor(&floor)));
    // A shift by two semitones of one note's finished inputs, the copy it makes included.
    let config = PitchShiftConfig { probability: 1.0, semitones: 2, votes: 0 };
    let shift = PitchShift::new(config, &standardizer, &input, [0.0; 5], [1.0; 5]);
    let finished = standardizer.finish(&note.raw, &input);
    group.bench_function("pitch_shift_one_note", |bench| {
        bench.iter(|| {
            let mut x = finished.clone();
            shift.apply(&mut x, black_box(2));
            x
        })
    });
    group.finish();
}

/// One dense layer of a convolution block (3,968 rows of 384 inputs to 128 outputs: batch 64 x 62
/// frames, three frames of 128 channels side by side), forward, as Candle's product plus a
/// broadcast bias and as the fused op the model uses.
fn products(c: &mut Criterion) {
    let dev = Device::Cpu;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut random = |dims: &[usize]| {
        let n = dims.iter().product();
        Tensor::from_vec((0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<_>>(), dims, &dev).unwrap()
    };
    let (x, w, b) = (random(&[3968, 384]), random(&[128, 384]), random(&[128]));
    let mut group = c.benchmark_group("products");
    group.bench_function("candle_matmul_3968x384x128", |bench| {
        bench.iter(|| black_box(&x).matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap())
    });
    group.bench_function("fused_dense_3968x384x128", |bench| bench.iter(|| dense(black_box(&x), &w, &b).unwrap()));
    group.finish();
}

criterion_group!(benches, learn, augment, products);

fn main() {
    // SAFETY: the first statement of main: no other thread exists yet.
    unsafe { timbrescope::learn::network::runtime::park_candle_helpers() };
    benches();
    Criterion::default().configure_from_args().final_summary();
}
