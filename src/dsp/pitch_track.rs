//! A frame-by-frame pitch track (YIN, de Cheveigné & Kawahara 2002) of a monophonic recording:
//! what tells a played phrase's notes apart where no attack does (legato winds and bows).

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

use super::notes::hz_to_midi;

/// Frames of [`HOP`] samples; the track's frame `t` describes samples from `t * HOP`.
pub const HOP: usize = 256;
/// The integration window: 64 ms at 16 kHz, a few periods of the lowest notes.
const WINDOW: usize = 1024;
/// The longest period looked for: 31.25 Hz at 16 kHz, under the bass's E1 (41.2 Hz).
const MAX_LAG: usize = 512;
/// Under this cumulative-mean-normalised difference a dip counts as a period (YIN's threshold).
const THRESHOLD: f32 = 0.15;
/// The shortest period looked for: 3.2 kHz at 16 kHz, above the violin's E7 (2.64 kHz).
const MIN_LAG: usize = 5;

/// One frame of the track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PitchFrame {
    /// The fractional MIDI note, where the frame is voiced.
    pub midi: Option<f32>,
    /// The normalised difference at the chosen period (0: perfectly periodic).
    pub aperiodicity: f32,
    /// RMS of the frame's window, in dBFS.
    pub rms_db: f32,
}

/// The pitch track of `samples` at `sample_rate_hz`, one frame every [`HOP`] samples.
pub fn pitch_track(samples: &[f32], sample_rate_hz: u32) -> Vec<PitchFrame> {
    let mut yin = Yin::new();
    let frames = samples.len().div_ceil(HOP);
    (0..frames).map(|t| yin.frame(samples, t * HOP, sample_rate_hz)).collect()
}

/// The FFT plans and scratch of one track.
struct Yin {
    fft: Arc<dyn RealToComplex<f32>>,
    ifft: Arc<dyn realfft::ComplexToReal<f32>>,
    a: Vec<f32>,
    b: Vec<f32>,
    spec_a: Vec<Complex32>,
    spec_b: Vec<Complex32>,
    corr: Vec<f32>,
}

/// Long enough that the correlation of the window with window + lags does not wrap.
const N_FFT: usize = 2048;

impl Yin {
    fn new() -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(N_FFT);
        let ifft = planner.plan_fft_inverse(N_FFT);
        let spec_a = fft.make_output_vec();
        let spec_b = fft.make_output_vec();
        Self { fft, ifft, a: vec![0.0; N_FFT], b: vec![0.0; N_FFT], spec_a, spec_b, corr: vec![0.0; N_FFT] }
    }

    fn frame(&mut self, x: &[f32], start: usize, sample_rate_hz: u32) -> PitchFrame {
        let at = |i: usize| x.get(start + i).copied().unwrap_or(0.0);
        self.a.fill(0.0);
        self.b.fill(0.0);
        for i in 0..WINDOW {
            self.a[i] = at(i);
        }
        for i in 0..WINDOW + MAX_LAG {
            self.b[i] = at(i);
        }
        let energy0: f64 = self.a[..WINDOW].iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let rms_db = (10.0 * (energy0 / WINDOW as f64).max(1e-20).log10()) as f32;
        let silent = PitchFrame { midi: None, aperiodicity: 1.0, rms_db };
        if energy0 < 1e-12 {
            return silent;
        }
        // r(τ) = Σ_j a[j] b[j+τ], the cross-correlation, as IFFT(conj(A) B).
        self.fft.process(&mut self.a, &mut self.spec_a).expect("sizes match the plan");
        self.fft.process(&mut self.b, &mut self.spec_b).expect("sizes match the plan");
        for (sa, sb) in self.spec_a.iter_mut().zip(&self.spec_b) {
            *sa = sa.conj() * sb;
        }
        self.ifft.process(&mut self.spec_a, &mut self.corr).expect("sizes match the plan");
        let scale = 1.0 / N_FFT as f64;
        // The lagged windows' energies as a running sum over x (the FFT used a and b as scratch).
        let mut energy_lag = energy0;
        let mut d = vec![0.0f32; MAX_LAG + 1];
        for (tau, (d, &corr)) in d.iter_mut().zip(&self.corr).enumerate().skip(1) {
            let out = f64::from(at(tau - 1));
            let inn = f64::from(at(tau - 1 + WINDOW));
            energy_lag += inn * inn - out * out;
            *d = (energy0 + energy_lag - 2.0 * f64::from(corr) * scale).max(0.0) as f32;
        }
        // The cumulative mean normalised difference d'(τ) = d(τ) τ / Σ_{j≤τ} d(j).
        let mut running = 0.0f32;
        let mut dn = vec![1.0f32; MAX_LAG + 1];
        for tau in 1..=MAX_LAG {
            running += d[tau];
            dn[tau] = if running > 0.0 { d[tau] * tau as f32 / running } else { 1.0 };
        }
        let mut best = None;
        let mut tau = MIN_LAG;
        while tau < MAX_LAG {
            if dn[tau] < THRESHOLD {
                while tau + 1 < MAX_LAG && dn[tau + 1] < dn[tau] {
                    tau += 1;
                }
                best = Some(tau);
                break;
            }
            tau += 1;
        }
        let Some(tau) = best else {
            let min = dn[MIN_LAG..MAX_LAG].iter().copied().fold(1.0f32, f32::min);
            return PitchFrame { aperiodicity: min, ..silent };
        };
        // A parabola through the dip refines the period below one sample.
        let (l, c, r) = (dn[tau - 1], dn[tau], dn[tau + 1]);
        let denom = l - 2.0 * c + r;
        let offset = if denom > 0.0 { (0.5 * (l - r) / denom).clamp(-0.5, 0.5) } else { 0.0 };
        let period = tau as f64 + f64::from(offset);
        let midi = hz_to_midi(f64::from(sample_rate_hz) / period) as f32;
        PitchFrame { midi: Some(midi), aperiodicity: c, rms_db }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::notes::midi_to_hz;

    fn harmonic_tone(midi: f64, secs: f64) -> Vec<f32> {
        let f0 = midi_to_hz(midi);
        let n = (secs * 16_000.0) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / 16_000.0;
                // Partials under Nyquist only: aliased ones would not share the period.
                (1..=6)
                    .filter(|&h| h as f64 * f0 < 7_500.0)
                    .map(|h| (2.0 * std::f64::consts::PI * h as f64 * f0 * t).sin() / h as f64)
                    .sum::<f64>() as f32
                    * 0.2
            })
            .collect()
    }

    #[test]
    fn a_harmonic_tone_is_tracked_within_five_cents_from_the_bass_to_the_violin() {
        // E1 (41.2 Hz, a 388-sample period) to C7: the range of the taxonomy's instruments
        // that sound below 2 kHz. 5 cents: the parabola's error on a 16 kHz grid at 2 kHz.
        for midi in [28.0, 40.0, 52.5, 69.0, 81.0, 96.0] {
            let track = pitch_track(&harmonic_tone(midi, 0.5), 16_000);
            for frame in &track[2..track.len() - 6] {
                let got = frame.midi.unwrap_or_else(|| panic!("MIDI {midi} unvoiced: {frame:?}"));
                assert!((f64::from(got) - midi).abs() < 0.05, "MIDI {midi}: tracked {got}");
            }
        }
    }

    #[test]
    fn noise_and_silence_are_unvoiced() {
        let silence = vec![0.0f32; 8000];
        assert!(pitch_track(&silence, 16_000).iter().all(|f| f.midi.is_none()));
        let mut state = 1u32;
        let noise: Vec<f32> = (0..8000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        let voiced = pitch_track(&noise, 16_000).iter().filter(|f| f.midi.is_some()).count();
        // White noise dips under YIN's threshold by chance in a few frames at most.
        assert!(voiced <= 3, "{voiced} of 32 noise frames voiced");
    }
}
