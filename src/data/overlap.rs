//! Whether two banks share recordings. General MIDI SoundFonts are often assembled from one
//! another's samples, and a bank that shares a held-out bank's samples turns a cross-bank test
//! into a within-bank one. The same note (instrument, pitch, velocity) rendered from two banks
//! that use one sample correlates almost perfectly at some lag; independent recordings do not.

use std::collections::BTreeMap;

use super::dataset::{Dataset, DatasetError, NOTE_RATE_HZ};
use crate::degrade::convolve::convolve;

/// The largest normalised cross-correlation of `a` and `b` over every lag: 1 for a signal and any
/// delayed or scaled copy of it, near 0 for unrelated signals. 0 when either is silent.
pub fn peak_correlation(a: &[f32], b: &[f32]) -> f32 {
    let energy = |x: &[f32]| x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
    let norm = (energy(a) * energy(b)).sqrt();
    if norm == 0.0 {
        return 0.0;
    }
    // Correlating with `b` is convolving with `b` reversed; the full output holds every lag.
    let reversed: Vec<f32> = b.iter().rev().copied().collect();
    let lags = convolve(a, &reversed, a.len() + b.len() - 1);
    let peak = lags.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    (f64::from(peak) / norm) as f32
}

/// For one instrument and one pair of banks: the median and largest peak correlation over the
/// notes both banks play.
#[derive(Clone, Debug, PartialEq)]
pub struct BankOverlap {
    pub instrument: String,
    pub banks: (String, String),
    pub notes: usize,
    pub median: f32,
    pub max: f32,
}

/// Every pair of banks, instrument by instrument, over the notes at `velocity` whose pitch is a
/// multiple of `pitch_step`, on the first `seconds` of each note (the attack and the sustain,
/// where a shared sample shows).
pub fn bank_overlap(
    dataset: &Dataset,
    velocity: u8,
    pitch_step: u8,
    seconds: f32,
) -> Result<Vec<BankOverlap>, DatasetError> {
    if pitch_step == 0 || seconds.is_nan() || seconds <= 0.0 {
        return Err(DatasetError::Invalid(format!(
            "bank overlap needs a pitch step of at least 1 and a positive length, got {pitch_step} and {seconds} s"
        )));
    }
    let len = (seconds * NOTE_RATE_HZ as f32) as usize;
    // (instrument, pitch) -> bank -> note index
    let mut played: BTreeMap<(u8, u8), BTreeMap<&str, usize>> = BTreeMap::new();
    for (i, note) in dataset.notes.iter().enumerate() {
        let (Some(instrument), Some(bank)) = (note.labels.instrument, note.record.bank.as_deref()) else {
            continue;
        };
        if note.record.velocity == velocity && note.record.pitch % pitch_step == 0 {
            played.entry((instrument, note.record.pitch)).or_default().insert(bank, i);
        }
    }
    // (instrument, bank, bank) -> correlations; each note is read once for all its pairs.
    let mut pairs: BTreeMap<(u8, &str, &str), Vec<f32>> = BTreeMap::new();
    for (&(instrument, _), by_bank) in &played {
        let heads = by_bank
            .iter()
            .map(|(&bank, &i)| {
                let mut x = dataset.load_audio(&dataset.notes[i])?;
                x.truncate(len);
                Ok((bank, x))
            })
            .collect::<Result<Vec<_>, DatasetError>>()?;
        for (j, (a, x)) in heads.iter().enumerate() {
            for (b, y) in &heads[j + 1..] {
                pairs.entry((instrument, a, b)).or_default().push(peak_correlation(x, y));
            }
        }
    }
    Ok(pairs
        .into_iter()
        .map(|((instrument, a, b), mut values)| {
            values.sort_by(f32::total_cmp);
            BankOverlap {
                instrument: dataset.taxonomy.instruments[usize::from(instrument)].name.clone(),
                banks: (a.to_owned(), b.to_owned()),
                notes: values.len(),
                median: values[values.len() / 2],
                max: values[values.len() - 1],
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use rand::{Rng as _, SeedableRng as _};

    use super::*;

    /// The definition, one lag at a time.
    fn slow_peak(a: &[f32], b: &[f32]) -> f32 {
        let norm = (a.iter().map(|v| v * v).sum::<f32>() * b.iter().map(|v| v * v).sum::<f32>()).sqrt();
        let lags = -(b.len() as isize) + 1..a.len() as isize;
        let at = |lag: isize| -> f32 {
            (0..b.len() as isize).filter_map(|k| a.get(usize::try_from(k + lag).ok()?).map(|x| x * b[k as usize])).sum()
        };
        lags.map(|l| at(l).abs()).fold(0.0, f32::max) / norm
    }

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn a_delayed_scaled_copy_correlates_fully_and_independent_noise_does_not() {
        let a = noise(700, 1);
        let mut delayed = vec![0.0; 130];
        delayed.extend(a.iter().map(|v| -0.3 * v));
        assert!((peak_correlation(&a, &delayed) - 1.0).abs() < 1e-5);
        let independent = peak_correlation(&a, &noise(700, 2));
        // Over 1,400 lags the largest of roughly N(0, 1/700) values stays under 5 deviations.
        assert!(independent < 5.0 / 700f32.sqrt(), "{independent}");
        assert_eq!(peak_correlation(&a, &[0.0; 50]), 0.0);
    }

    #[test]
    fn fast_equals_the_definition_for_unequal_lengths() {
        let (a, b) = (noise(301, 3), noise(157, 4));
        let mixed: Vec<f32> = b.iter().zip(&a[40..]).map(|(x, y)| 0.5 * x + y).collect();
        for (x, y) in [(&a, &b), (&b, &a), (&a, &mixed)] {
            let (fast, slow) = (peak_correlation(x, y), slow_peak(x, y));
            assert!((fast - slow).abs() < 1e-4, "{fast} against {slow}");
        }
    }
}
