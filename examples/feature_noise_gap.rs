//! How close the feature-domain noise of training (`[feature_noise]`) comes to noise added to the
//! waveform, on a data set's test notes, and what a model makes of each: the mean absolute dB
//! difference per bin between the two (against that between two waveform draws), the mean
//! difference, and the model's instrument accuracy on clean, waveform-noisy and feature-noisy
//! inputs. The waveform noise is `assets/chains/eval/pink_10db.toml` at seed 5, as in the
//! evaluation reports. On the train split (SPLIT `train`) it shows how much of the drop in noise
//! is the noise itself and how much is generalising to unseen pitches under it.
//!
//! usage: cargo run --example feature_noise_gap -- MODEL DATASET [SPLIT]   (default: test)

use std::path::Path;

use candle_core::Device;
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::degrade::ChainSpec;
use timbrescope::degrade::noise::NoiseColor;
use timbrescope::learn::network::modelfile;
use timbrescope::learn::notes::augment::NoiseBank;
use timbrescope::learn::notes::batch::{Examples, NoteSource, Targets};
use timbrescope::learn::notes::inputs::{InputShape, RawViews, labelled};
use timbrescope::learn::notes::store::{StoredNote, dataset_views};
use timbrescope::learn::scoring::score::score;
use timbrescope::learn::scoring::vote::Voter;

fn mean_abs(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from((x - y).abs())).sum::<f64>() / a.len() as f64
}

fn mean(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(x - y)).sum::<f64>() / a.len() as f64
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: feature_noise_gap MODEL DATASET [SPLIT]";
    let (model, data, split) = match args.as_slice() {
        [_, model, data] => (model, data, Split::Test),
        [_, model, data, split] => {
            (model, data, Split::parse(split).ok_or_else(|| anyhow::anyhow!("{split}: not a split; {usage}"))?)
        }
        _ => anyhow::bail!(usage),
    };
    let device = Device::Cpu;
    let loaded = modelfile::load(Path::new(model), &device)?;
    let meta = &loaded.meta;
    let input = meta.spec.input;
    // As the model predicts: with its own pitch-shift votes.
    let voter = Voter::new(meta, meta.shift_votes).map_err(anyhow::Error::msg)?;
    println!("shift votes: {}", voter.votes());
    let dataset = Dataset::open(Path::new(data))?;
    let idx = labelled(&dataset, split, &meta.schema);
    let chain = ChainSpec::load(Path::new("assets/chains/eval/pink_10db.toml"))?;
    let views = |c: Option<(&ChainSpec, u64)>| {
        dataset_views(&dataset, &idx, c, &input, 2, &|_, _| {}).map_err(anyhow::Error::msg)
    };
    let (clean, real, other) = (views(None)?, views(Some((&chain, 5)))?, views(Some((&chain, 6)))?);
    let bank = NoiseBank::new(NoiseColor::Pink, &input, 99);
    let feature: Vec<RawViews> =
        clean.iter().enumerate().map(|(k, n)| bank.add(&n.raw, n.power, 10.0, k, 7 * k)).collect();
    let n = idx.len() as f64;
    for (view, pick) in
        [("STFT", (|v: &RawViews| v.stft.clone()) as fn(&RawViews) -> Vec<f32>), ("CQT", |v| v.cqt.clone())]
    {
        let (mut err, mut spread, mut bias) = (0.0, 0.0, 0.0);
        for k in 0..idx.len() {
            let (f, r, o) = (pick(&feature[k]), pick(&real[k].raw), pick(&other[k].raw));
            err += mean_abs(&f, &r) / n;
            spread += mean_abs(&o, &r) / n;
            bias += mean(&f, &r) / n;
        }
        println!(
            "{view}: feature vs waveform noise {err:.2} dB per bin, two waveform draws {spread:.2}, mean difference {bias:+.2}"
        );
    }
    let raw = &clean[0].raw;
    let shape = InputShape::of(&input, raw.stft_bins, raw.cqt_bins);
    let targets: Vec<Targets> = idx
        .iter()
        .map(|&i| {
            let c = dataset.classes(i, &meta.schema).expect("labelled");
            Targets {
                classes: c.classes,
                qualities: c.qualities,
                descriptors: [0.0; 5],
                library: timbrescope::learn::notes::batch::NO_LIBRARY,
            }
        })
        .collect();
    let inputs: [(&str, Vec<&RawViews>); 3] = [
        ("clean", clean.iter().map(|p| &p.raw).collect()),
        ("waveform noise", real.iter().map(|p| &p.raw).collect()),
        ("feature noise", feature.iter().collect()),
    ];
    for (name, views) in inputs {
        let examples = Examples {
            shape,
            notes: idx.iter().map(|&i| dataset.notes[i].record.note_str.clone()).collect(),
            clean: NoteSource::Memory(views.iter().map(|v| StoredNote { power: 0.0, raw: (*v).clone() }).collect()),
            degraded: Vec::new(),
            standardizer: meta.standardizer.clone(),
            input,
            augment: None,
            eq: None,
            shift: None,
            crop: None,
            offsets: Vec::new(),
            played: None,
            targets: targets.clone(),
        };
        let scores = score(&loaded.model, &examples, meta, &voter, &device)?;
        println!("{name}: instrument accuracy {:.1}%", 100.0 * scores.metrics()["acc_instrument"]);
    }
    Ok(())
}
