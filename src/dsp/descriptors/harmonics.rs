//! Where a note's partials lie: the harmonic bands the HBR counts, and a rough pitch estimate by
//! harmonic summation for notes whose pitch is not given.

use super::kernels::frame_rms;
use super::{FRAME_LEN, SILENCE_RMS, active_frames, with_engine};
use crate::dsp::Scale;
use crate::dsp::notes::{hz_to_midi, midi_to_hz};

/// Half-width (Hz) of the band around a partial that counts as harmonic in the HBR:
/// max(2 bins, 3% of the partial frequency), at most a quarter of f0.
///
/// Why: a Hann main lobe is ±2 bins wide, so 2 bins keep a stationary partial's energy inside
/// its band wherever it falls between bins (what leaks out is < 1e-3 of it); 3% (about half a
/// semitone) tolerates detuning, vibrato and inharmonicity, which grow with the partial number;
/// the f0/4 cap keeps at least half of every gap between partials as background, so the bands
/// of high partials never merge and swallow the noise. For f0 below 8 bins (125 Hz at 16 kHz)
/// the cap is narrower than the main lobe: a 1024-sample frame does not resolve such partials
/// from what lies between them, and the ratio reads low.
pub fn harmonic_half_width_hz(partial_hz: f64, f0_hz: f64, bin_hz: f64) -> f64 {
    (0.03 * partial_hz).max(2.0 * bin_hz).min(0.25 * f0_hz)
}

/// Which of the 513 STFT bins lie in a harmonic band of `f0_hz` (every partial below Nyquist).
/// None do when f0 is not a finite frequency of at least 1 Hz.
pub fn harmonic_bins(f0_hz: f64, sample_rate_hz: u32) -> Vec<bool> {
    let bins = FRAME_LEN / 2 + 1;
    let mut mask = vec![false; bins];
    let bin_hz = sample_rate_hz as f64 / FRAME_LEN as f64;
    let nyquist = sample_rate_hz as f64 / 2.0;
    if !(f0_hz.is_finite() && f0_hz >= 1.0) || bin_hz <= 0.0 {
        return mask;
    }
    let mut partial = f0_hz;
    let mut h = 1.0;
    while partial < nyquist {
        let half = harmonic_half_width_hz(partial, f0_hz, bin_hz);
        let lo = ((partial - half) / bin_hz).ceil().max(0.0) as usize;
        let hi = (((partial + half) / bin_hz).floor() as usize).min(bins - 1);
        if lo <= hi {
            mask[lo..=hi].fill(true);
        }
        h += 1.0;
        partial = h * f0_hz;
    }
    mask
}

/// A rough pitch estimate (MIDI, fractional) by harmonic summation over the mean magnitude
/// spectrum of the active frames, for MIDI 21..=108; None when the loudest frame is below
/// -100 dBFS RMS.
///
/// Each candidate f0 (10-cent grid) scores sum_h 0.8^(h-1) |X(h f0)| over its first 20 partials
/// below Nyquist, |X| interpolated linearly between bins. The decaying weights make the true f0
/// beat its sub-octaves (which hit the same partials at higher h, weighted less) and its octave
/// (which misses the odd partials). The best grid point is refined by a parabola.
pub fn estimate_pitch(samples: &[f32], sample_rate_hz: u32) -> Option<f32> {
    const LOWEST: f64 = 21.0;
    const HIGHEST: f64 = 108.0;
    const STEP: f64 = 0.1;
    const PARTIALS: usize = 20;
    const DECAY: f64 = 0.8;
    let spec = with_engine(sample_rate_hz, |engine| engine.stft.compute(samples, Scale::Linear));
    let rms = frame_rms(samples, spec.frames);
    if rms.iter().copied().fold(0.0f32, f32::max) < SILENCE_RMS || sample_rate_hz == 0 {
        return None;
    }
    let active = active_frames(&rms);
    let mut mean = vec![0.0f64; spec.bins];
    for t in (0..spec.frames).filter(|&t| active[t]) {
        for (m, &v) in mean.iter_mut().zip(spec.frame(t)) {
            *m += v as f64;
        }
    }
    let bin_hz = sample_rate_hz as f64 / FRAME_LEN as f64;
    let last = (spec.bins - 1) as f64;
    let at = |bin: f64| {
        let i = (bin.floor() as usize).min(spec.bins - 2);
        let frac = bin - i as f64;
        mean[i] * (1.0 - frac) + mean[i + 1] * frac
    };
    let score = |midi: f64| {
        let f0 = midi_to_hz(midi);
        let mut weight = 1.0;
        let mut total = 0.0;
        for h in 1..=PARTIALS {
            let bin = h as f64 * f0 / bin_hz;
            if bin >= last {
                break;
            }
            total += weight * at(bin);
            weight *= DECAY;
        }
        total
    };
    let steps = ((HIGHEST - LOWEST) / STEP).round() as usize;
    let scores: Vec<f64> = (0..=steps).map(|i| score(LOWEST + i as f64 * STEP)).collect();
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]))?;
    if scores[best] <= 0.0 {
        return None;
    }
    let mut midi = LOWEST + best as f64 * STEP;
    if best > 0 && best < steps {
        let (l, c, r) = (scores[best - 1], scores[best], scores[best + 1]);
        let denom = l - 2.0 * c + r;
        if denom < 0.0 {
            midi += STEP * (0.5 * (l - r) / denom).clamp(-0.5, 0.5);
        }
    }
    // Round-trip through Hz so the value is exactly the pitch scale the rest uses.
    Some(hz_to_midi(midi_to_hz(midi)) as f32)
}
