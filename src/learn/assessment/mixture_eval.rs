//! Evaluation on mixtures: seeded mixtures of a split's notes of different instruments, made in
//! the waveform as the `mix` command makes them (perhaps through a chain), analysed as a clip is,
//! and scored as multi-label predictions (mAP, F1, per-class AP, exact set) and, for a model with
//! a mask head, by the masks it gives each true source against the ideal ones.
//!
//! A mask's SDR is measured on STFT magnitudes at the analysis' full resolution: the predicted
//! mask (normalised over the mixture's sources, each pooled cell spread over the frames and bins
//! it covers) times the mixture's magnitude, against the source's own magnitude. The ideal mask
//! on the same pooled grid is reported beside it: the most a mask of that grid can reach.

use std::collections::BTreeMap;
use std::path::PathBuf;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::data::dataset::{Dataset, NOTE_RATE_HZ, Split};
use crate::data::mixing::{matched_gains_db, mean_power, plan_mixture};
use crate::data::mixture::{DEFAULT_EPS, Mixture};
use crate::data::schema::SchemaKind;
use crate::degrade::ChainSpec;
use crate::dsp::{Stft, StftConfig};
use crate::features::Analyzer;
use crate::learn::assessment::eval::{check_taxonomy, load_chain, load_model};
use crate::learn::error::LearnError;
use crate::learn::network::modelfile::LoadedModel;
use crate::learn::notes::augment::LogAdd;
use crate::learn::notes::batch::to_tensors;
use crate::learn::notes::inputs::{InputShape, NOTE_SAMPLES, NoteInputs, RawViews, labelled, raw_views};
use crate::learn::notes::polyphony::{mask_weights, mix_views, pooled_masks};
use crate::learn::notes::store::{BuildOptions, Store, StoreSettings, build};
use crate::learn::scoring::multilabel::MultiLabelScores;

/// Mixtures analysed and scored at once: their full-resolution magnitudes are dropped after.
const CHUNK: usize = 64;

pub struct MixtureEvalOptions {
    pub model: PathBuf,
    pub dataset: PathBuf,
    pub split: Split,
    pub sources: usize,
    pub count: usize,
    pub seed: u64,
    /// A chain applied to each mixture, seeded with hash(seed, mixture index).
    pub chain: Option<(PathBuf, u64)>,
    /// An instrument is named when its probability reaches this.
    pub threshold: f32,
    pub threads: usize,
    /// Mix the notes' stored views in power, as training does, instead of their waveforms.
    pub in_power: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MixtureReport {
    pub model: String,
    pub dataset: String,
    pub split: String,
    pub sources: usize,
    pub count: usize,
    pub seed: u64,
    pub chain: Option<String>,
    pub chain_seed: Option<u64>,
    /// The notes' stored views added in power (as training draws mixtures), not their waveforms.
    #[serde(default)]
    pub in_power: bool,
    /// Where the instruments' scores come from: the multi-label head's sigmoids, or the
    /// single-label head's softmax for a model without one.
    pub scores_from: String,
    pub threshold: f32,
    pub map: f64,
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub exact_set: f64,
    /// Each instrument's average precision (null for one in no mixture).
    pub per_class_ap: BTreeMap<String, Option<f64>>,
    /// The families' mAP, from the multi-label head's family labels.
    pub family_map: Option<f64>,
    pub masks: Option<MaskScores>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MaskScores {
    /// Mean SDR (dB) of the sources masked by the model's masks, and its median.
    pub sdr_db: f64,
    pub sdr_median_db: f64,
    /// The same with the ideal masks on the model's grid.
    pub ideal_sdr_db: f64,
    /// Mean absolute difference between predicted and ideal masks, where the mixture sounds.
    pub l1: f64,
}

/// One mixture as the model reads it, with what it is scored against.
struct Made {
    inputs: NoteInputs,
    instruments: Vec<usize>,
    families: Vec<usize>,
    mixture: Mixture,
    /// Ideal masks on the model's grid, `[k][frame * bins + bin]`, and the cells' weights.
    ideal: Vec<Vec<f32>>,
    weights: Vec<f32>,
}

pub fn evaluate_mixtures(
    opts: &MixtureEvalOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<MixtureReport, LearnError> {
    let bad = |flag: &str, problem: String| LearnError::Config { path: flag.into(), problem };
    if opts.sources < 1 {
        return Err(bad("--mixtures", "a mixture needs at least 1 source".into()));
    }
    if opts.count == 0 {
        return Err(bad("--count", "evaluate at least 1 mixture".into()));
    }
    if !(opts.threshold > 0.0 && opts.threshold < 1.0) {
        return Err(bad("--threshold", format!("must lie in (0, 1), got {}", opts.threshold)));
    }
    let (model_path, loaded) = load_model(&opts.model)?;
    let meta = &loaded.meta;
    if meta.schema.kind != SchemaKind::Instruments {
        return Err(LearnError::Model {
            path: model_path,
            problem: "mixtures are scored by instrument; this model names NSynth's families".into(),
        });
    }
    let dataset = Dataset::open(&opts.dataset)
        .map_err(|e| LearnError::Dataset { path: opts.dataset.clone(), problem: e.to_string() })?;
    check_taxonomy(&dataset, meta, &opts.dataset)?;
    let candidates: Vec<usize> = labelled(&dataset, opts.split, &meta.schema);
    let chain = load_chain(opts.chain.as_ref())?;
    if opts.in_power && opts.chain.is_some() {
        return Err(bad("--mix-in", "a chain degrades a waveform: mix in the waveform to use one".into()));
    }
    let store = if opts.in_power {
        let settings = StoreSettings::for_input(&meta.spec.input);
        build(&dataset, &settings, &BuildOptions { threads: opts.threads.max(1), ..Default::default() }, &|_, _| {})?;
        Some(Store::open(&dataset, &settings)?)
    } else {
        None
    };
    let classes = meta.primary_classes().to_vec();
    let families = meta.spec.classes.multi_label.get(1).map_or(0, |&h| meta.spec.classes.heads[h].1);
    let (mut probs, mut truth) = (Vec::new(), Vec::new());
    let (mut family_probs, mut family_truth) = (Vec::new(), Vec::new());
    let (mut sdr, mut ideal_sdr, mut l1) = (Vec::new(), Vec::new(), Vec::new());
    let indices: Vec<usize> = (0..opts.count).collect();
    for (c, chunk) in indices.chunks(CHUNK).enumerate() {
        let done = c * CHUNK;
        let made = crate::data::parallel::map_parallel(
            chunk,
            opts.threads.max(1),
            &|d, _| progress(done + d, opts.count),
            || (Analyzer::default(), Stft::new(StftConfig::default()).expect("the default STFT is valid")),
            |(analyzer, stft), &index| {
                let chain = chain.as_ref().map(|(c, s)| (c, *s));
                make(&dataset, &candidates, opts, chain, store.as_ref(), &loaded, index, analyzer, stft)
            },
        )?;
        let scored = predict(&loaded, &made, &Device::Cpu)?;
        for (m, p) in made.iter().zip(scored) {
            truth.push((0..classes.len()).map(|k| m.instruments.contains(&k)).collect());
            probs.push(p.instruments);
            if let Some(f) = p.families {
                family_truth.push((0..families).map(|k| m.families.contains(&k)).collect::<Vec<bool>>());
                family_probs.push(f);
            }
            // A lone source's mask is the whole mixture: nothing to score.
            if let Some(masks) = p.masks.filter(|_| m.mixture.k() > 1) {
                let pool = meta.spec.input.stft_pool;
                let time_pool = meta.spec.input.time_pool;
                let grid = (m.inputs.stft.len() / meta.spec.stft_bins, meta.spec.stft_bins);
                for s in 0..m.mixture.k() {
                    sdr.push(masked_sdr(&m.mixture, s, &masks, grid, time_pool, pool));
                    ideal_sdr.push(masked_sdr(&m.mixture, s, &m.ideal, grid, time_pool, pool));
                    let w: f32 = m.weights.iter().sum::<f32>().max(f32::MIN_POSITIVE);
                    let diff: f32 =
                        masks[s].iter().zip(&m.ideal[s]).zip(&m.weights).map(|((a, b), w)| w * (a - b).abs()).sum();
                    l1.push(f64::from(diff / w));
                }
            }
        }
    }
    progress(opts.count, opts.count);
    let scores = MultiLabelScores::new(&probs, &truth, opts.threshold);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    Ok(MixtureReport {
        model: model_path.display().to_string(),
        dataset: opts.dataset.display().to_string(),
        split: opts.split.as_str().into(),
        sources: opts.sources,
        count: opts.count,
        seed: opts.seed,
        chain: opts.chain.as_ref().map(|(p, _)| p.display().to_string()),
        chain_seed: opts.chain.as_ref().map(|(_, s)| *s),
        in_power: opts.in_power,
        scores_from: if meta.spec.classes.multi_label.is_empty() { "softmax" } else { "multi_label" }.into(),
        threshold: opts.threshold,
        map: scores.map,
        micro_f1: scores.micro_f1,
        macro_f1: scores.macro_f1,
        exact_set: scores.exact_set,
        per_class_ap: classes.iter().cloned().zip(scores.per_class_ap.iter().copied()).collect(),
        family_map: (!family_probs.is_empty())
            .then(|| MultiLabelScores::new(&family_probs, &family_truth, opts.threshold).map),
        masks: (!sdr.is_empty()).then(|| MaskScores {
            sdr_db: mean(&sdr),
            sdr_median_db: median(&mut sdr),
            ideal_sdr_db: mean(&ideal_sdr),
            l1: mean(&l1),
        }),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[allow(clippy::too_many_arguments)]
fn make(
    dataset: &Dataset,
    candidates: &[usize],
    opts: &MixtureEvalOptions,
    chain: Option<(&ChainSpec, u64)>,
    store: Option<&Store>,
    loaded: &LoadedModel,
    index: usize,
    analyzer: &mut Analyzer,
    stft: &mut Stft,
) -> Result<Made, LearnError> {
    let data_error = |problem: String| LearnError::Dataset { path: opts.dataset.clone(), problem };
    let plan = plan_mixture(candidates, dataset, &(opts.sources..=opts.sources), opts.seed, index)
        .map_err(|e| data_error(e.to_string()))?;
    let audio = plan
        .notes
        .iter()
        .map(|&n| {
            let mut a = dataset.load_audio(&dataset.notes[n]).map_err(|e| e.to_string())?;
            a.resize(NOTE_SAMPLES, 0.0);
            Ok(a)
        })
        .collect::<Result<Vec<Vec<f32>>, String>>()
        .map_err(data_error)?;
    let sources: Vec<&[f32]> = audio.iter().map(Vec::as_slice).collect();
    // Each note brought to the first's level, then its drawn gain, as `mix` and training do.
    let gains_db = matched_gains_db(&audio.iter().map(|a| mean_power(a)).collect::<Vec<_>>(), &plan.gains_db);
    let gains: Vec<f32> = gains_db.iter().map(|db| 10f32.powf(db / 20.0)).collect();
    let mixture = Mixture::build(&sources, &gains, NOTE_RATE_HZ, stft, DEFAULT_EPS)
        .map_err(|e| data_error(format!("mixture {index}: {e}")))?;
    let heard = match chain {
        None => mixture.mixture.clone(),
        Some((spec, seed)) => {
            let stages = spec
                .draw(crate::data::degraded::note_seed(seed, &format!("mixture {index}")))
                .map_err(|e| LearnError::Config { path: "--chain".into(), problem: e.to_string() })?;
            crate::degrade::chain::apply_chain(&mixture.mixture, NOTE_RATE_HZ, &stages)
                .map_err(|e| data_error(format!("mixture {index}: {e}")))?
                .mid()
        }
    };
    let meta = &loaded.meta;
    let input = meta.spec.input;
    let raw = match store {
        None => raw_views(analyzer, &heard).pool_time(input.time_pool),
        Some(store) => {
            let notes = plan.notes.iter().map(|&n| store.read(n).map(|s| s.raw)).collect::<Result<Vec<_>, _>>()?;
            let views: Vec<&RawViews> = notes.iter().collect();
            mix_views(&views, &gains_db, &LogAdd::new())
        }
    };
    let inputs = meta.standardizer.finish(&raw, &input);
    let frames = inputs.stft.len() / meta.spec.stft_bins;
    let (bins, full_frames) = (mixture.bins, mixture.frames);
    let tp = input.time_pool;
    let mut ideal = pooled_masks(mixture.k(), frames, bins, input.stft_pool, |s, f, b| {
        (0..tp).map(|k| mixture.source_mag[(s * bins + b) * full_frames + f * tp + k]).sum()
    });
    let mut weights = mask_weights(&raw, input.stft_pool);
    let cells = frames * meta.spec.stft_bins;
    ideal.iter_mut().for_each(|m| m.truncate(cells));
    weights.truncate(cells);
    let family = |n: usize| dataset.notes[n].labels.family.map(usize::from);
    Ok(Made {
        inputs,
        instruments: plan.notes.iter().filter_map(|&n| dataset.notes[n].labels.instrument.map(usize::from)).collect(),
        families: plan.notes.iter().filter_map(|&n| family(n)).collect(),
        mixture,
        ideal,
        weights,
    })
}

struct Predicted {
    instruments: Vec<f32>,
    families: Option<Vec<f32>>,
    /// Each true source's mask, normalised over the sources, `[k][frame * bins + bin]`.
    masks: Option<Vec<Vec<f32>>>,
}

fn predict(loaded: &LoadedModel, made: &[Made], device: &Device) -> Result<Vec<Predicted>, LearnError> {
    let meta = &loaded.meta;
    let model = &loaded.model;
    let (stft_bins, cqt_bins) = (meta.spec.stft_bins, meta.spec.cqt_bins);
    let g = InputShape { frames: made[0].inputs.stft.len() / stft_bins, stft_bins, cqt_bins };
    let rows: Vec<(&[f32], &[f32])> =
        made.iter().map(|m| (m.inputs.stft.as_slice(), m.inputs.cqt.as_slice())).collect();
    let x = to_tensors(&g, &rows, device)?;
    let (e, frames) = model.embed_frames(&x.stft, &x.cqt, false)?;
    let out = model.heads(&e)?;
    let c = &meta.spec.classes;
    let instruments = c.heads[0].1;
    let (inst, fam): (Vec<Vec<f32>>, Option<Vec<Vec<f32>>>) = match &out.multi {
        Some(logits) => {
            let p: Vec<Vec<f32>> = candle_nn::ops::sigmoid(logits)?.to_vec2()?;
            let fam = (c.multi_label.len() > 1).then(|| p.iter().map(|r| r[instruments..].to_vec()).collect());
            (p.iter().map(|r| r[..instruments].to_vec()).collect(), fam)
        }
        None => (candle_nn::ops::softmax_last_dim(&out.classes[0])?.to_vec2()?, None),
    };
    let masks: Option<Vec<Vec<Vec<f32>>>> = match model.mask_head() {
        None => None,
        Some(head) => {
            let (mut rows, mut classes) = (Vec::new(), Vec::new());
            for (r, m) in made.iter().enumerate() {
                for &k in &m.instruments {
                    rows.push(r as u32);
                    classes.push(k as u32);
                }
            }
            let all: Vec<Vec<Vec<f32>>> = head.source_masks(&x.stft, &frames, &rows, &classes)?.to_vec3()?;
            let mut all = all.into_iter();
            Some(
                made.iter()
                    .map(|m| {
                        let own: Vec<Vec<f32>> = all.by_ref().take(m.instruments.len()).map(|t| t.concat()).collect();
                        normalised(own)
                    })
                    .collect(),
            )
        }
    };
    let mut masks = masks.map(Vec::into_iter);
    Ok(inst
        .into_iter()
        .enumerate()
        .map(|(i, instruments)| Predicted {
            instruments,
            families: fam.as_ref().map(|f| f[i].clone()),
            masks: masks.as_mut().and_then(Iterator::next),
        })
        .collect())
}

/// Masks scaled to share each cell whole, as the ideal masks do.
fn normalised(mut masks: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
    let cells = masks.first().map_or(0, Vec::len);
    for c in 0..cells {
        let total: f32 = masks.iter().map(|m| m[c]).sum::<f32>().max(1e-6);
        masks.iter_mut().for_each(|m| m[c] /= total);
    }
    masks
}

/// SDR (dB) of source `s` estimated as its mask on the `grid` (frames, pooled bins), spread over
/// the full-resolution frames and bins each cell pools, times the mixture's magnitude.
fn masked_sdr(
    mixture: &Mixture,
    s: usize,
    masks: &[Vec<f32>],
    (frames, pooled): (usize, usize),
    time_pool: usize,
    bin_pool: usize,
) -> f64 {
    let (bins, full) = (mixture.bins, mixture.frames);
    let (mut signal, mut error) = (0f64, 0f64);
    for b in 0..bins {
        let pb = (b / bin_pool).min(pooled - 1);
        for f in 0..full {
            let pf = (f / time_pool).min(frames - 1);
            let m = masks[s][pf * pooled + pb];
            let truth = f64::from(mixture.source_mag[(s * bins + b) * full + f]);
            let estimate = f64::from(m * mixture.mix_mag[b * full + f]);
            signal += truth * truth;
            error += (truth - estimate) * (truth - estimate);
        }
    }
    10.0 * (signal.max(1e-20) / error.max(1e-20)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ideal_mask_at_full_resolution_scores_higher_than_a_flat_one() {
        // Two tones in different bins: the ideal mask separates them, a flat half mask does not.
        let n = NOTE_SAMPLES;
        let tone = |f: f32| (0..n).map(|i| (std::f32::consts::TAU * f * i as f32 / 16_000.0).sin() * 0.3).collect();
        let (a, b): (Vec<f32>, Vec<f32>) = (tone(440.0), tone(1500.0));
        let mut stft = Stft::new(StftConfig::default()).unwrap();
        let m = Mixture::build(&[&a, &b], &[1.0, 1.0], NOTE_RATE_HZ, &mut stft, DEFAULT_EPS).unwrap();
        let frames = m.frames / 4;
        let ideal = pooled_masks(2, frames, m.bins, 4, |s, f, bin| {
            (0..4).map(|k| m.source_mag[(s * m.bins + bin) * m.frames + f * 4 + k]).sum()
        });
        let pooled = m.bins / 4;
        let flat = vec![vec![0.5f32; frames * pooled]; 2];
        let good = masked_sdr(&m, 0, &ideal, (frames, pooled), 4, 4);
        let poor = masked_sdr(&m, 0, &flat, (frames, pooled), 4, 4);
        // Half of each tone in each estimate: an error of half of a's magnitude plus half of
        // b's, as loud as a, so twice a's energy over the error's: 3.01 dB.
        assert!((poor - 3.01).abs() < 0.1, "{poor}");
        assert!(good > 25.0, "{good}");
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), 2.5);
        let n = normalised(vec![vec![0.2, 0.0], vec![0.6, 0.0]]);
        assert!((n[0][0] - 0.25).abs() < 1e-6 && (n[1][0] - 0.75).abs() < 1e-6);
    }
}
