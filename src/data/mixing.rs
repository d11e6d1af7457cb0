//! Polyphonic mixtures drawn from a data set: 2 or 3 notes of different instruments, each brought
//! to the first one's level and then given a drawn gain, seeded.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::dataset::{Dataset, DatasetError, NOTE_RATE_HZ, Split};
use super::mixture::{DEFAULT_EPS, Mixture, MixtureError, write_npz};
use crate::dsp::{Stft, StftConfig};

/// Each source's gain is drawn uniformly in this range (dB), so no source always dominates.
pub const GAIN_RANGE_DB: (f32, f32) = (-6.0, 0.0);

#[derive(Clone, Debug)]
pub struct MixOptions {
    pub out: PathBuf,
    pub count: usize,
    pub sources: RangeInclusive<usize>,
    pub seed: u64,
    /// Draw notes from this split only (None: every note with an instrument label).
    pub split: Option<Split>,
    pub threads: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MixError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Mixture(#[from] MixtureError),
    #[error("cannot create {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

/// The notes and gains of one mixture, before any audio is read.
#[derive(Clone, Debug, PartialEq)]
pub struct MixturePlan {
    pub notes: Vec<usize>,
    pub gains_db: Vec<f32>,
}

/// Mixture `index` of a seed: its own random stream, so mixtures can be made in any order.
pub fn plan_mixture(
    candidates: &[usize],
    dataset: &Dataset,
    sources: &RangeInclusive<usize>,
    seed: u64,
    index: usize,
) -> Result<MixturePlan, MixError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    let k = rng.random_range(sources.clone());
    let mut notes: Vec<usize> = Vec::with_capacity(k);
    // Distinct instruments, so every source of a mixture has its own label and mask.
    for _ in 0..k {
        let free: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&c| {
                let inst = dataset.notes[c].labels.instrument;
                notes.iter().all(|&n| dataset.notes[n].labels.instrument != inst)
            })
            .collect();
        let Some(&pick) = free.choose(&mut rng) else {
            return Err(MixError::Invalid(format!("the data set has fewer than {k} instruments to mix")));
        };
        notes.push(pick);
    }
    let gains_db = (0..k).map(|_| rng.random_range(GAIN_RANGE_DB.0..=GAIN_RANGE_DB.1)).collect();
    Ok(MixturePlan { notes, gains_db })
}

/// The most a source is raised or lowered to meet the first source's level (dB).
pub const MAX_LEVEL_MATCH_DB: f32 = 40.0;

/// Each source's level offset in dB that brings its mean power to the first source's; the drawn
/// gains then apply on top. The pool's notes span 35 dB of RMS (5th to 95th percentile, velocity
/// and instrument), so gains drawn alone would bury the quiet note of most mixtures under the
/// loud one while its label still names it. A silent source is left where it is.
pub fn level_match_db(powers: &[f64]) -> Vec<f32> {
    let reference = powers.first().copied().unwrap_or(0.0);
    powers
        .iter()
        .map(|&p| {
            if p > 0.0 && reference > 0.0 {
                ((10.0 * (reference / p).log10()) as f32).clamp(-MAX_LEVEL_MATCH_DB, MAX_LEVEL_MATCH_DB)
            } else {
                0.0
            }
        })
        .collect()
}

/// Each source's gain in dB as a mixture applies it: brought to the first source's level
/// ([`level_match_db`] of `powers`), then its drawn gain on top. Training, `eval --mixtures` and
/// `mix` all mix through this.
pub fn matched_gains_db(powers: &[f64], drawn_db: &[f32]) -> Vec<f32> {
    drawn_db.iter().zip(level_match_db(powers)).map(|(g, l)| g + l).collect()
}

/// Mean square of a source, the power [`level_match_db`] matches.
pub fn mean_power(samples: &[f32]) -> f64 {
    samples.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / samples.len().max(1) as f64
}

pub fn mixture_path(out: &Path, index: usize) -> PathBuf {
    out.join(format!("mix_{index:06}.npz"))
}

/// Writes `count` mixtures as .npz files; returns how many were written.
pub fn make_mixtures(
    dataset: &Dataset,
    options: &MixOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<usize, MixError> {
    let (lo, hi) = (*options.sources.start(), *options.sources.end());
    if lo < 1 || lo > hi {
        return Err(MixError::Invalid(format!(
            "--sources must be a range like 2..3 with 1 <= min <= max, got {lo}..{hi}"
        )));
    }
    if options.threads == 0 {
        return Err(MixError::Invalid("--threads must be at least 1".into()));
    }
    let candidates: Vec<usize> = (0..dataset.notes.len())
        .filter(|&i| dataset.notes[i].labels.instrument.is_some())
        .filter(|&i| options.split.is_none_or(|s| dataset.notes[i].split == Some(s)))
        .collect();
    if candidates.is_empty() {
        return Err(MixError::Invalid("no note with an instrument label in the chosen split".into()));
    }
    std::fs::create_dir_all(&options.out).map_err(|source| MixError::Create { path: options.out.clone(), source })?;
    let indices: Vec<usize> = (0..options.count).collect();
    let stft = || Stft::new(StftConfig::default()).expect("the default STFT is valid");
    super::parallel::map_parallel(&indices, options.threads, progress, stft, |stft, &index| {
        write_one(dataset, &candidates, options, index, stft)
    })?;
    Ok(options.count)
}

fn write_one(
    dataset: &Dataset,
    candidates: &[usize],
    options: &MixOptions,
    index: usize,
    stft: &mut Stft,
) -> Result<(), MixError> {
    let plan = plan_mixture(candidates, dataset, &options.sources, options.seed, index)?;
    let audio = plan.notes.iter().map(|&n| dataset.load_audio(&dataset.notes[n])).collect::<Result<Vec<_>, _>>()?;
    let sources: Vec<&[f32]> = audio.iter().map(Vec::as_slice).collect();
    let powers: Vec<f64> = audio.iter().map(|a| mean_power(a)).collect();
    let levels = level_match_db(&powers);
    let gains: Vec<f32> = matched_gains_db(&powers, &plan.gains_db).iter().map(|db| 10_f32.powf(db / 20.0)).collect();
    let mixture = Mixture::build(&sources, &gains, NOTE_RATE_HZ, stft, DEFAULT_EPS)?;
    let notes: Vec<serde_json::Value> = plan
        .notes
        .iter()
        .zip(plan.gains_db.iter().zip(&levels))
        .map(|(&n, (gain_db, level_db))| {
            let note = &dataset.notes[n];
            let instrument = note.labels.instrument.map(|i| dataset.taxonomy.instruments[usize::from(i)].name.clone());
            json!({
                "note_str": note.record.note_str,
                "instrument16": note.labels.instrument,
                "instrument": instrument,
                "family8": note.labels.family,
                "pitch": note.record.pitch,
                "pitch_class": note.labels.pitch_class,
                "velocity": note.record.velocity,
                "velocity_bin": note.labels.velocity_bin,
                "split": note.split,
                "gain_db": gain_db,
                "level_db": level_db,
            })
        })
        .collect();
    let meta = json!({ "index": index, "seed": options.seed, "notes": notes });
    write_npz(&mixture_path(&options.out, index), &mixture, &meta)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_meets_the_first_ones_power_within_the_limit() {
        let offsets = level_match_db(&[1e-2, 1e-5, 4e-2, 1e-12, 0.0]);
        assert_eq!(offsets[0], 0.0);
        // 1000 times less power: raised by 30 dB; 4 times more: lowered by 6.02 dB.
        assert!((offsets[1] - 30.0).abs() < 1e-4, "{offsets:?}");
        assert!((offsets[2] + 6.0206).abs() < 1e-3, "{offsets:?}");
        // 100 dB under: raised by the limit only; silence: left alone.
        assert_eq!(offsets[3], MAX_LEVEL_MATCH_DB);
        assert_eq!(offsets[4], 0.0);
        // A silent first source leaves every level as it is.
        assert_eq!(level_match_db(&[0.0, 1e-3]), vec![0.0, 0.0]);
        assert!((mean_power(&[3.0, -1.0]) - 5.0).abs() < 1e-12);
        // The drawn gains sit on top of the matching: -3 dB on a source raised by 30 dB is 27.
        assert_eq!(matched_gains_db(&[1e-2, 1e-5], &[-1.0, -3.0]), vec![-1.0, 27.0]);
    }
}
