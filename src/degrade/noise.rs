//! Additive noise at an exact signal-to-noise ratio: white (Gaussian) or pink (1/f power,
//! -3 dB per octave, shaped in the frequency domain so the slope holds at every frequency).

use rand::Rng;
use rand_distr::StandardNormal;
use realfft::num_complex::Complex32;

use super::{DegradeError, check_range};

/// SNRs a stage accepts, in dB.
pub const SNR_RANGE_DB: [f64; 2] = [-30.0, 80.0];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseColor {
    White,
    Pink,
}

impl NoiseColor {
    pub fn name(self) -> &'static str {
        match self {
            NoiseColor::White => "white",
            NoiseColor::Pink => "pink",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [NoiseColor::White, NoiseColor::Pink].into_iter().find(|c| c.name() == s)
    }
}

/// `len` samples of zero-mean noise of the given colour (unit variance for white).
pub fn noise<R: Rng>(color: NoiseColor, len: usize, rng: &mut R) -> Vec<f32> {
    match color {
        NoiseColor::White => (0..len).map(|_| rng.sample(StandardNormal)).collect(),
        NoiseColor::Pink => pink(len, rng),
    }
}

fn pink<R: Rng>(len: usize, rng: &mut R) -> Vec<f32> {
    if len < 2 {
        return vec![0.0; len];
    }
    let n = super::convolve::fast_len(len);
    let (_, inv) = super::convolve::plans(n);
    // Amplitude 1/sqrt(f) gives power 1/f; no DC, so the noise is zero-mean.
    let mut spectrum: Vec<Complex32> = (0..n / 2 + 1)
        .map(|k| {
            if k == 0 {
                return Complex32::new(0.0, 0.0);
            }
            let amp = 1.0 / (k as f32).sqrt();
            let (re, im): (f32, f32) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
            Complex32::new(re * amp, if n.is_multiple_of(2) && k == n / 2 { 0.0 } else { im * amp })
        })
        .collect();
    let mut out = inv.make_output_vec();
    inv.process(&mut spectrum, &mut out).expect("buffers sized by the plan");
    out.truncate(len);
    out
}

/// Mean power of a signal.
pub fn power(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64
}

/// Adds noise scaled so that 10 log10(P_signal / P_noise) is exactly `snr_db` for this signal
/// and this draw. A silent signal stays silent (no SNR describes noise added to nothing).
pub fn add_noise<R: Rng>(signal: &mut [f32], color: NoiseColor, snr_db: f64, rng: &mut R) -> Result<(), DegradeError> {
    let snr_db = check_range("snr_db", snr_db, SNR_RANGE_DB[0], SNR_RANGE_DB[1], " dB")?;
    let noise = noise(color, signal.len(), rng);
    let (ps, pn) = (power(signal), power(&noise));
    if ps == 0.0 || pn == 0.0 {
        return Ok(());
    }
    let gain = (ps / pn / 10f64.powf(snr_db / 10.0)).sqrt();
    for (s, n) in signal.iter_mut().zip(&noise) {
        *s = (f64::from(*s) + gain * f64::from(*n)) as f32;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use realfft::RealFftPlanner;

    fn tone(len: usize) -> Vec<f32> {
        (0..len).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect()
    }

    #[test]
    fn the_measured_snr_is_the_requested_one() {
        for color in [NoiseColor::White, NoiseColor::Pink] {
            for snr in [-5.0, 0.0, 10.0, 20.0, 37.5] {
                let clean = tone(64_000);
                let mut noisy = clean.clone();
                add_noise(&mut noisy, color, snr, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
                let residual: Vec<f32> = noisy.iter().zip(&clean).map(|(a, b)| a - b).collect();
                let measured = 10.0 * (power(&clean) / power(&residual)).log10();
                // The only error is f32 rounding of the sum: far below the 0.1 dB asked for.
                assert!((measured - snr).abs() < 0.01, "{color:?} {snr} dB measured {measured}");
            }
        }
    }

    /// Welch-averaged periodogram power per octave band, fitted by a line in log2(f).
    fn slope_db_per_octave(x: &[f32], sr: f64) -> f64 {
        let n = 4096;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let mut psd = vec![0.0f64; n / 2 + 1];
        for frame in x.windows(n).step_by(n / 2) {
            let mut buf: Vec<f32> = frame
                .iter()
                .enumerate()
                .map(|(i, &v)| v * (0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos()))
                .collect();
            let mut spec = fft.make_output_vec();
            fft.process(&mut buf, &mut spec).unwrap();
            for (p, c) in psd.iter_mut().zip(&spec) {
                *p += f64::from(c.norm_sqr());
            }
        }
        // Mean power density in octave bands from 62.5 Hz to 4 kHz.
        let points: Vec<(f64, f64)> = (0..7)
            .map(|o| {
                let lo = 62.5 * 2f64.powi(o);
                let bins: Vec<f64> = (0..psd.len())
                    .filter(|&k| (lo..2.0 * lo).contains(&(k as f64 * sr / n as f64)))
                    .map(|k| psd[k])
                    .collect();
                ((lo * 2f64.sqrt()).log2(), 10.0 * (bins.iter().sum::<f64>() / bins.len() as f64).log10())
            })
            .collect();
        let m = points.len() as f64;
        let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
        let (sxx, sxy) = points.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0 * p.0, b + p.0 * p.1));
        (m * sxy - sx * sy) / (m * sxx - sx * sx)
    }

    #[test]
    fn pink_falls_three_db_per_octave_and_white_is_flat() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let pink = noise(NoiseColor::Pink, 16_000 * 8, &mut rng);
        let slope = slope_db_per_octave(&pink, 16_000.0);
        assert!((slope + 3.0).abs() < 0.5, "pink slope {slope} dB/octave");
        let white = noise(NoiseColor::White, 16_000 * 8, &mut rng);
        let slope = slope_db_per_octave(&white, 16_000.0);
        assert!(slope.abs() < 0.5, "white slope {slope} dB/octave");
        let mean = pink.iter().map(|&v| f64::from(v)).sum::<f64>() / pink.len() as f64;
        assert!(mean.abs() < 1e-3 * power(&pink).sqrt(), "pink noise has no DC: {mean}");
    }

    #[test]
    fn bad_snr_is_refused_by_name_and_silence_stays_silent() {
        let mut x = tone(100);
        for bad in [f64::NAN, f64::INFINITY, -100.0, 200.0] {
            let err = add_noise(&mut x, NoiseColor::White, bad, &mut ChaCha8Rng::seed_from_u64(0)).unwrap_err();
            assert!(err.to_string().contains("snr_db"), "{err}");
        }
        let mut silent = vec![0.0; 100];
        add_noise(&mut silent, NoiseColor::Pink, 10.0, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
        assert!(silent.iter().all(|&v| v == 0.0));
        let mut short = vec![0.5];
        add_noise(&mut short, NoiseColor::Pink, 10.0, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    }
}
