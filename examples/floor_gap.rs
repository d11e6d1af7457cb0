//! What taking each bin's floor out of the inputs (`[input.noise_floor]`) does before any model
//! learns from them: for each setting, the mean absolute difference between a test note's
//! finished inputs clean and with pink noise at 10 dB (`assets/chains/eval/pink_10db.toml`,
//! seed 5), and the instrument accuracy of the nearest clean training note (Euclidean, on the
//! finished inputs) for the clean and the noisy test notes, at the default pooling (4:4:4).
//!
//! usage: cargo run --example floor_gap -- DATASET [PERCENTILE:MARGIN:RANGE ...]

use std::path::Path;

use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::schema::PitchLabels;
use timbrescope::degrade::ChainSpec;
use timbrescope::learn::notes::floor::NoiseFloor;
use timbrescope::learn::notes::inputs::{InputConfig, NoteInputs, Standardizer, floored_moments, labelled};
use timbrescope::learn::notes::moments::Moments;
use timbrescope::learn::notes::store::{StoredNote, dataset_views};

fn flat(n: &NoteInputs) -> Vec<f32> {
    n.stft.iter().chain(&n.cqt).copied().collect()
}

fn nearest(x: &[f32], pool: &[Vec<f32>]) -> usize {
    let dist = |y: &Vec<f32>| x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum::<f32>();
    (0..pool.len()).min_by(|&a, &b| dist(&pool[a]).total_cmp(&dist(&pool[b]))).expect("a training note")
}

fn parse(s: &str) -> anyhow::Result<NoiseFloor> {
    let v: Vec<u32> = s.split(':').map(str::parse).collect::<Result<_, _>>()?;
    let [percentile, margin_db, range_db] = v[..] else { anyhow::bail!("{s}: expected PERCENTILE:MARGIN:RANGE") };
    let floor = NoiseFloor { percentile, margin_db, range_db };
    floor.check().map_err(anyhow::Error::msg)?;
    Ok(floor)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(data) = args.get(1) else { anyhow::bail!("usage: floor_gap DATASET [PERCENTILE:MARGIN:RANGE ...]") };
    let mut settings: Vec<Option<NoiseFloor>> = vec![None];
    for s in &args[2..] {
        settings.push(Some(parse(s)?));
    }
    let dataset = Dataset::open(Path::new(data))?;
    let schema = dataset.schema(PitchLabels::Class);
    let (train_idx, test_idx) = (labelled(&dataset, Split::Train, &schema), labelled(&dataset, Split::Test, &schema));
    let chain = ChainSpec::load(Path::new("assets/chains/eval/pink_10db.toml"))?;
    let input = InputConfig::pooled(4, 4, 4);
    let views = |idx: &[usize], c: Option<(&ChainSpec, u64)>| {
        dataset_views(&dataset, idx, c, &input, 2, &|_, _| {}).map_err(anyhow::Error::msg)
    };
    let (train, clean, noisy) =
        (views(&train_idx, None)?, views(&test_idx, None)?, views(&test_idx, Some((&chain, 5)))?);
    let label = |i: usize| dataset.notes[i].labels.instrument;
    println!("| floor (percentile:margin:range) | mean abs clean-noisy | 1-NN clean | 1-NN pink 10 dB |");
    println!("|---|---|---|---|");
    for floor in settings {
        let input = InputConfig { noise_floor: floor, ..input };
        // The statistics as training computes them with a floor; without one, of the time-pooled
        // frames (training sums every raw frame, which its store keeps).
        let (mut s, mut c) = (Moments::new(train[0].raw.stft_bins), Moments::new(train[0].raw.cqt_bins));
        for n in &train {
            match floor {
                Some(floor) => {
                    let (ns, nc) = floored_moments(&n.raw, &floor);
                    s.merge(&ns);
                    c.merge(&nc);
                }
                None => {
                    s.add(&n.raw.stft);
                    c.add(&n.raw.cqt);
                }
            }
        }
        let standardizer = Standardizer::from_moments(&s, &c);
        let finish = |notes: &[StoredNote]| -> Vec<Vec<f32>> {
            notes.iter().map(|n| flat(&standardizer.finish(&n.raw, &input))).collect()
        };
        let (pool, c, n) = (finish(&train), finish(&clean), finish(&noisy));
        let gap =
            c.iter().zip(&n).map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32);
        let gap = gap.sum::<f32>() / c.len() as f32;
        let acc = |set: &[Vec<f32>]| {
            let hits = set.iter().zip(&test_idx).filter(|(x, i)| label(train_idx[nearest(x, &pool)]) == label(**i));
            100.0 * hits.count() as f64 / set.len() as f64
        };
        let name = floor.map_or("none".into(), |f| format!("{}:{}:{}", f.percentile, f.margin_db, f.range_db));
        println!("| {name} | {gap:.3} | {:.1}% | {:.1}% |", acc(&c), acc(&n));
    }
    Ok(())
}
