//! Reverberation time measured on an impulse response: Schroeder backward integration and a
//! least-squares line through the decay between -5 and -35 dB (T30, ISO 3382), extrapolated to 60 dB.

/// Schroeder backward integration: the energy left after each sample, and the total.
fn energy_left(response: &[f32]) -> (Vec<f64>, f64) {
    let mut left = vec![0.0f64; response.len()];
    let mut acc = 0.0f64;
    for (i, &x) in response.iter().enumerate().rev() {
        acc += f64::from(x) * f64::from(x);
        left[i] = acc;
    }
    (left, acc)
}

/// The energy decay curve in dB (0 dB at the start): 10 log10 of the energy left after each sample.
pub fn energy_decay_db(response: &[f32]) -> Vec<f64> {
    let (left, total) = energy_left(response);
    let total = total.max(f64::MIN_POSITIVE);
    left.iter().map(|&e| 10.0 * (e / total).max(1e-300).log10()).collect()
}

/// T30 in seconds, or `None` when the decay never falls 35 dB (too short, or not a decay).
pub fn t30_secs(response: &[f32], sample_rate_hz: u32) -> Option<f64> {
    decay_time_secs(response, sample_rate_hz, -5.0, -35.0)
}

/// Points of the decay curve the line is fitted to: more add nothing to a smooth curve's slope.
const FIT_POINTS: usize = 4096;

/// The time to decay 60 dB, from the line fitted to the decay curve between `from_db` and `to_db`.
pub fn decay_time_secs(response: &[f32], sample_rate_hz: u32, from_db: f64, to_db: f64) -> Option<f64> {
    // The dB thresholds become energy thresholds, so only the fitted points need a logarithm.
    let (left, acc) = energy_left(response);
    if acc <= 0.0 {
        return None;
    }
    let start = left.iter().position(|&e| e <= acc * 10f64.powf(from_db / 10.0))?;
    let end = left.iter().position(|&e| e <= acc * 10f64.powf(to_db / 10.0))?;
    if end <= start + 1 {
        return None;
    }
    let dt = 1.0 / f64::from(sample_rate_hz);
    let stride = (end - start).div_ceil(FIT_POINTS);
    let (mut n, mut st, mut sd, mut stt, mut std) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for i in (start..end).step_by(stride) {
        let t = (i - start) as f64 * dt;
        let d = 10.0 * (left[i] / acc).log10();
        n += 1.0;
        st += t;
        sd += d;
        stt += t * t;
        std += t * d;
    }
    let slope = (n * std - st * sd) / (n * stt - st * st);
    (slope < 0.0).then(|| -60.0 / slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_exponential_decay_gives_its_rt60() {
        // Amplitude falling 60 dB in 0.8 s: exp(-6.9078 t / 0.8).
        let sr = 16_000;
        let h: Vec<f32> = (0..sr * 2).map(|i| (-6.907_755 * i as f32 / sr as f32 / 0.8).exp()).collect();
        let t = t30_secs(&h, sr as u32).unwrap();
        assert!((t - 0.8).abs() < 1e-3 * 0.8, "{t}");
        let edc = energy_decay_db(&h);
        assert_eq!(edc[0], 0.0);
    }

    #[test]
    fn no_decay_no_answer() {
        assert_eq!(t30_secs(&[1.0; 100], 16_000), None);
        assert_eq!(t30_secs(&[], 16_000), None);
    }
}
