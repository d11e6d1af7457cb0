//! Noise in the feature domain. Powers add when signal and noise are independent, so a noisy bin is
//! `10 log10(10^(x/10) + 10^(n/10))` of the clean bin `x` and a noise bin `n` analysed by the
//! same pipeline and scaled to the wanted SNR. The views hold means of dB over pooled frames,
//! which makes this an approximation where signal and noise are close in level;
//! `feature_noise_matches_noise_added_to_the_waveform` measures how close.

use rand::SeedableRng as _;

use super::log_add::LogAdd;
use crate::degrade::noise::{NoiseColor, noise, power};
use crate::features::Analyzer;
use crate::learn::notes::inputs::{InputConfig, NOTE_SAMPLES, RawViews, raw_views};

/// Noise realisations, each a note's length at unit power, analysed and pooled over time.
const REALISATIONS: usize = 8;

/// Adds noise bins `noise + gain_db` to `clean` (both dB, same layout), in power.
fn add_in_power(log_add: &LogAdd, clean: &[f32], noise: &[f32], gain_db: f32) -> Vec<f32> {
    clean.iter().zip(noise).map(|(&x, &n)| log_add.add(x, n + gain_db)).collect()
}

/// Unit-power noise analysed like a note and pooled over time, ready to be scaled and added.
pub struct NoiseBank {
    realisations: Vec<RawViews>,
    log_add: LogAdd,
}

impl NoiseBank {
    pub fn new(color: NoiseColor, input: &InputConfig, seed: u64) -> Self {
        let mut analyzer = Analyzer::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let realisations = (0..REALISATIONS)
            .map(|_| {
                let mut n = noise(color, NOTE_SAMPLES, &mut rng);
                let scale = (1.0 / power(&n).max(1e-30)).sqrt() as f32;
                n.iter_mut().for_each(|v| *v *= scale);
                raw_views(&mut analyzer, &n).pool_time(input.time_pool)
            })
            .collect();
        Self { realisations, log_add: LogAdd::new() }
    }

    /// `clean` with noise at `snr_db` below `signal_power` (the note's mean power over its 4 s,
    /// as `degrade::noise::add_noise` measures it), from realisation `which` rotated by `shift`
    /// frames. A silent note stays silent, as in the waveform domain.
    pub fn add(&self, clean: &RawViews, signal_power: f64, snr_db: f64, which: usize, shift: usize) -> RawViews {
        if signal_power <= 0.0 {
            return clean.clone();
        }
        let gain_db = (10.0 * signal_power.log10() - snr_db) as f32;
        let n = &self.realisations[which % self.realisations.len()];
        let frames = clean.frames.min(n.frames);
        let rotate = |values: &[f32], bins: usize| {
            let split = (shift % n.frames) * bins;
            let mut v = Vec::with_capacity(values.len());
            v.extend_from_slice(&values[split..]);
            v.extend_from_slice(&values[..split]);
            v.truncate(frames * bins);
            v
        };
        let ns = rotate(&n.stft, n.stft_bins);
        let nc = rotate(&n.cqt, n.cqt_bins);
        RawViews {
            stft: add_in_power(&self.log_add, &clean.stft[..frames * clean.stft_bins], &ns, gain_db),
            cqt: add_in_power(&self.log_add, &clean.cqt[..frames * clean.cqt_bins], &nc, gain_db),
            stft_bins: clean.stft_bins,
            cqt_bins: clean.cqt_bins,
            frames,
        }
    }

    pub fn realisations(&self) -> usize {
        self.realisations.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::noise::add_noise;
    use crate::learn::notes::augment::{FeatureNoiseConfig, mean_abs_db, mean_db, test_note};
    use crate::learn::notes::inputs::note_power;

    #[test]
    fn feature_noise_matches_noise_added_to_the_waveform() {
        let input = InputConfig::pooled(4, 4, 4);
        let mut analyzer = Analyzer::default();
        let clean_wave = test_note();
        let clean = raw_views(&mut analyzer, &clean_wave).pool_time(4);
        let bank = NoiseBank::new(NoiseColor::Pink, &input, 11);
        let p = note_power(&clean_wave);
        let real = |snr: f64, seed: u64| {
            let mut wave = clean_wave.clone();
            add_noise(&mut wave, NoiseColor::Pink, snr, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed)).unwrap();
            raw_views(&mut Analyzer::default(), &wave).pool_time(4)
        };
        for snr in [0.0, 10.0, 20.0] {
            let (real, other) = (real(snr, 5), real(snr, 6));
            let ours = bank.add(&clean, p, snr, 3, 17);
            for (view, r, r2, o, c) in [
                ("stft", &real.stft, &other.stft, &ours.stft, &clean.stft),
                ("cqt", &real.cqt, &other.cqt, &ours.cqt, &clean.cqt),
            ] {
                // Noise moves the views a long way from clean. The feature-domain noise lands
                // about as close to one real noise draw as another real draw does, and level
                // with it on average.
                let moved = mean_abs_db(r, c);
                let (err, spread) = (mean_abs_db(o, r), mean_abs_db(r2, r));
                let bias = mean_db(o, r);
                assert!(moved > 10.0, "{view} at {snr} dB: noise moved the views by only {moved} dB");
                assert!(err < 1.1 * spread, "{view} at {snr} dB: {err} dB from a real draw, {spread} between two");
                assert!(bias.abs() < 1.0, "{view} at {snr} dB: biased by {bias} dB");
            }
        }
    }

    #[test]
    fn a_silent_note_stays_silent_and_bad_ranges_are_named() {
        let input = InputConfig::pooled(4, 4, 4);
        let bank = NoiseBank::new(NoiseColor::White, &input, 1);
        let silent = raw_views(&mut Analyzer::default(), &[0.0; 100]).pool_time(4);
        assert_eq!(bank.add(&silent, 0.0, 10.0, 0, 0).stft, silent.stft);
        let bad = FeatureNoiseConfig { color: NoiseColor::Pink, snr_db: [20.0, 10.0], weight: 1.0 };
        assert!(bad.check().unwrap_err().contains("feature_noise.snr_db"));
        let good = FeatureNoiseConfig { color: NoiseColor::Pink, snr_db: [0.0, 30.0], weight: 1.0 };
        assert!(good.check().is_ok());
        let heavy = FeatureNoiseConfig { weight: -1.0, ..good };
        assert!(heavy.check().unwrap_err().contains("feature_noise.weight"));
    }
}
