//! Timbre descriptors (spectral centroid, spread, flatness, zero-crossing rate, harmonic-to-background ratio).
//!
//! Per-frame values follow librosa 0.11 on the same frames: `spectral_centroid`,
//! `spectral_bandwidth(p=2, norm=True)`, `spectral_flatness(power=2, amin=1e-10)` on |STFT| with
//! n_fft 1024, hop 256, periodic Hann, centred with zero padding; `zero_crossing_rate` with
//! frame_length 1024, hop 256, centred with edge padding; `rms` with frame_length 1024, hop 256,
//! centred with zero padding. Clip-level values are means over the active frames.

use std::cell::RefCell;
use std::f64::consts::TAU;
use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{RealFftPlanner, RealToComplex};

use super::notes::midi_to_hz;
use super::{Scale, Spectrogram, Stft, StftConfig};

/// Frame length of every descriptor (samples).
pub const FRAME_LEN: usize = 1024;
/// Hop between frames (samples).
pub const HOP_LEN: usize = 256;
/// Frames this far below the loudest frame's RMS are left out of clip-level means.
pub const ACTIVE_RANGE_DB: f32 = 60.0;
/// librosa's `spectral_flatness` floor on each power bin.
const FLATNESS_AMIN: f32 = 1e-10;
/// librosa's `zero_crossings` threshold: samples this small count as zero (positive).
const ZCR_THRESHOLD: f32 = 1e-10;
/// Below this loudest-frame RMS (-100 dBFS, 16-bit quantisation noise) a clip has no pitch.
const SILENCE_RMS: f32 = 1e-5;
/// HBR's floor, relative to the total energy: caps it at ±90 dB and makes silence 0 dB.
const HBR_FLOOR_REL: f64 = 1e-9;

/// Clip-level timbre descriptors of one note.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Descriptors {
    /// Magnitude-weighted mean frequency (Hz).
    pub centroid_hz: f32,
    /// Magnitude-weighted standard deviation of frequency around the centroid (Hz).
    pub spread_hz: f32,
    /// Geometric over arithmetic mean of the power spectrum: 0 tonal .. 1 white.
    pub flatness: f32,
    /// Sign changes per sample.
    pub zcr: f32,
    /// Energy near the note's partials over the energy elsewhere (dB).
    pub hbr_db: f32,
}

impl Descriptors {
    pub const NAMES: [&'static str; 5] = ["centroid_hz", "spread_hz", "flatness", "zcr", "hbr_db"];

    /// The values in the order of [`Self::NAMES`].
    pub fn to_array(&self) -> [f32; 5] {
        [self.centroid_hz, self.spread_hz, self.flatness, self.zcr, self.hbr_db]
    }
}

/// Per-frame values on the STFT's frames (n_fft 1024, hop 256, centred like librosa).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameDescriptors {
    pub centroid_hz: Vec<f32>,
    pub spread_hz: Vec<f32>,
    pub flatness: Vec<f32>,
    pub zcr: Vec<f32>,
    pub rms: Vec<f32>,
}

impl FrameDescriptors {
    pub fn frames(&self) -> usize {
        self.rms.len()
    }
}

/// Frames whose RMS is within [`ACTIVE_RANGE_DB`] of the loudest frame (all of them when the
/// clip is silent, since then every frame equals the maximum).
pub fn active_frames(rms: &[f32]) -> Vec<bool> {
    let max = rms.iter().copied().fold(0.0f32, f32::max);
    let threshold = max * 10f32.powf(-ACTIVE_RANGE_DB / 20.0);
    rms.iter().map(|&r| r >= threshold).collect()
}

/// Per-frame centroid, spread, flatness, ZCR and RMS of a clip (frame t centred on sample 256 t;
/// 1 + len / 256 frames, at least one).
pub fn frame_descriptors(samples: &[f32], sample_rate_hz: u32) -> FrameDescriptors {
    analyse(samples, sample_rate_hz).1
}

/// Clip-level: mean over active frames (frames whose RMS is within 60 dB of the loudest frame;
/// all frames if the clip is silent), plus the harmonic-to-background ratio for the note's pitch.
///
/// HBR = 10 log10((H + e) / (B + e)): H the STFT power inside the bands of [`harmonic_bins`], B
/// the power in all other bins, both summed over the active frames, e = 1e-9 (H + B) + 1e-30.
/// A pitch whose f0 is not a frequency of at least 1 Hz has no bands (HBR about -90 dB).
pub fn describe_note(samples: &[f32], sample_rate_hz: u32, midi_pitch: f32) -> Descriptors {
    let (spec, frames) = analyse(samples, sample_rate_hz);
    let active = active_frames(&frames.rms);
    let mean = |values: &[f32]| {
        let (sum, n) = values
            .iter()
            .zip(&active)
            .filter(|(_, a)| **a)
            .fold((0.0f64, 0usize), |(s, n), (&v, _)| (s + v as f64, n + 1));
        (sum / n.max(1) as f64) as f32
    };
    let harmonic: Vec<f32> =
        harmonic_bins(midi_to_hz(midi_pitch as f64), sample_rate_hz).iter().map(|&h| h as u8 as f32).collect();
    let (mut inside, mut total) = (0.0f64, 0.0f64);
    for t in (0..spec.frames).filter(|&t| active[t]) {
        let (h, all) = harmonic_power(spec.frame(t), &harmonic);
        inside += h;
        total += all;
    }
    let outside = (total - inside).max(0.0);
    let floor = HBR_FLOOR_REL * total + 1e-30;
    Descriptors {
        centroid_hz: mean(&frames.centroid_hz),
        spread_hz: mean(&frames.spread_hz),
        flatness: mean(&frames.flatness),
        zcr: mean(&frames.zcr),
        hbr_db: (10.0 * ((inside + floor) / (outside + floor)).log10()) as f32,
    }
}

thread_local! {
    /// Plans, windows and scratch, built once per thread (the STFT again when the rate changes).
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// The fast f32 STFT every descriptor reads, and an f64 FFT for the rare frames where f32
/// rounding would move the spread (see [`needs_f64`]).
struct Engine {
    stft: Stft,
    fft64: Arc<dyn RealToComplex<f64>>,
    window64: Vec<f64>,
    frame64: Vec<f64>,
    spectrum64: Vec<Complex64>,
    scratch64: Vec<Complex64>,
    magnitudes64: Vec<f64>,
}

fn with_engine<R>(sample_rate_hz: u32, f: impl FnOnce(&mut Engine) -> R) -> R {
    let config = StftConfig { n_fft: FRAME_LEN, hop_len: HOP_LEN, sample_rate_hz };
    ENGINE.with_borrow_mut(|cached| {
        let engine = match cached {
            Some(engine) if *engine.stft.config() == config => engine,
            Some(engine) => {
                engine.stft = Stft::new(config).expect("1024/256 is a valid STFT");
                engine
            }
            None => {
                let fft64 = RealFftPlanner::<f64>::new().plan_fft_forward(FRAME_LEN);
                cached.insert(Engine {
                    stft: Stft::new(config).expect("1024/256 is a valid STFT"),
                    window64: (0..FRAME_LEN).map(|i| 0.5 - 0.5 * (TAU * i as f64 / FRAME_LEN as f64).cos()).collect(),
                    frame64: fft64.make_input_vec(),
                    spectrum64: fft64.make_output_vec(),
                    scratch64: fft64.make_scratch_vec(),
                    magnitudes64: vec![0.0; FRAME_LEN / 2 + 1],
                    fft64,
                })
            }
        };
        f(engine)
    })
}

/// |STFT| (f32, the crate's STFT) with the descriptors' framing, and the per-frame values.
fn analyse(samples: &[f32], sample_rate_hz: u32) -> (Spectrogram, FrameDescriptors) {
    with_engine(sample_rate_hz, |engine| {
        let spec = engine.stft.compute(samples, Scale::Linear);
        let bin_hz = sample_rate_hz as f64 / FRAME_LEN as f64;
        let mut out = FrameDescriptors {
            centroid_hz: Vec::with_capacity(spec.frames),
            spread_hz: Vec::with_capacity(spec.frames),
            flatness: Vec::with_capacity(spec.frames),
            zcr: zero_crossing_rate(samples, spec.frames),
            rms: frame_rms(samples, spec.frames),
        };
        for t in 0..spec.frames {
            let s = spectral(spec.frame(t));
            let (centroid, spread) =
                if s.needs_f64 { engine.centroid_and_spread_f64(samples, t) } else { (s.centroid_bins, s.spread_bins) };
            out.centroid_hz.push((centroid * bin_hz) as f32);
            out.spread_hz.push((spread * bin_hz) as f32);
            out.flatness.push(s.flatness);
        }
        (spec, out)
    })
}

impl Engine {
    /// Centroid and spread (bins) of frame `t` through an f64 window and FFT, as librosa computes
    /// them (its float64 window promotes the frame, so its FFT runs in f64).
    fn centroid_and_spread_f64(&mut self, samples: &[f32], t: usize) -> (f64, f64) {
        let start = (t * HOP_LEN) as isize - (FRAME_LEN / 2) as isize;
        if start >= 0 && start as usize + FRAME_LEN <= samples.len() {
            let src = &samples[start as usize..start as usize + FRAME_LEN];
            for ((o, &w), &x) in self.frame64.iter_mut().zip(&self.window64).zip(src) {
                *o = x as f64 * w;
            }
        } else {
            for (j, (o, &w)) in self.frame64.iter_mut().zip(&self.window64).enumerate() {
                let i = start + j as isize;
                *o = if i >= 0 && (i as usize) < samples.len() { samples[i as usize] as f64 * w } else { 0.0 };
            }
        }
        self.fft64
            .process_with_scratch(&mut self.frame64, &mut self.spectrum64, &mut self.scratch64)
            .expect("buffer sizes come from the plan");
        for (m, c) in self.magnitudes64.iter_mut().zip(&self.spectrum64) {
            *m = c.norm_sqr().sqrt();
        }
        // Four lanes per sum, so the reductions need not run one add at a time.
        let (mut s0, mut s1) = ([0.0f64; 4], [0.0f64; 4]);
        let chunks = self.magnitudes64.chunks_exact(4);
        let tail = chunks.remainder();
        for (i, chunk) in chunks.clone().enumerate() {
            for l in 0..4 {
                s0[l] += chunk[l];
                s1[l] += chunk[l] * (4 * i + l) as f64;
            }
        }
        let first_tail = self.magnitudes64.len() - tail.len();
        let s0 = s0.iter().sum::<f64>() + tail.iter().sum::<f64>();
        let s1 =
            s1.iter().sum::<f64>() + tail.iter().enumerate().map(|(j, m)| m * (first_tail + j) as f64).sum::<f64>();
        if s0 < f32::MIN_POSITIVE as f64 {
            return (0.0, 0.0);
        }
        let c = s1 / s0;
        let mut s2 = [0.0f64; 4];
        for (i, chunk) in chunks.enumerate() {
            for l in 0..4 {
                let d = (4 * i + l) as f64 - c;
                s2[l] += chunk[l] * d * d;
            }
        }
        let s2 = s2.iter().sum::<f64>()
            + tail.iter().enumerate().map(|(j, m)| m * ((first_tail + j) as f64 - c).powi(2)).sum::<f64>();
        (c, (s2 / s0).sqrt())
    }
}

mod harmonics;
mod kernels;

pub use harmonics::{estimate_pitch, harmonic_bins, harmonic_half_width_hz};
use kernels::{frame_rms, harmonic_power, spectral, zero_crossing_rate};

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct definitions, in f64, one frame at a time.
    fn naive_zcr(x: &[f32], t: usize) -> f32 {
        let pos = |i: isize| x[i.clamp(0, x.len() as isize - 1) as usize];
        let sign = |v: f32| if v.abs() <= ZCR_THRESHOLD { false } else { v.is_sign_negative() };
        let start = (t * HOP_LEN) as isize - 512;
        let n = (1..FRAME_LEN as isize).filter(|&j| sign(pos(start + j)) != sign(pos(start + j - 1))).count();
        n as f32 / FRAME_LEN as f32
    }

    #[test]
    fn zcr_and_rms_match_their_direct_definitions() {
        let x: Vec<f32> = (0..5000).map(|n| ((n as f32 * 0.37).sin() + 0.3 * (n as f32 * 2.1).cos()) * 0.1).collect();
        let frames = 1 + x.len() / HOP_LEN;
        let zcr = zero_crossing_rate(&x, frames);
        let rms = frame_rms(&x, frames);
        for t in 0..frames {
            assert_eq!(zcr[t], naive_zcr(&x, t), "frame {t}");
            let start = (t * HOP_LEN) as isize - 512;
            let energy: f64 = (start..start + 1024)
                .filter(|&i| i >= 0 && (i as usize) < x.len())
                .map(|i| (x[i as usize] as f64).powi(2))
                .sum();
            // Prefix sums against a direct sum: only f64 rounding separates them.
            assert!((rms[t] as f64 - (energy / 1024.0).sqrt()).abs() < 1e-6, "frame {t}");
        }
    }

    #[test]
    fn flatness_matches_the_log_sum_definition() {
        let frame: Vec<f32> =
            (0..513).map(|k| if k % 7 == 0 { 0.0 } else { (k as f32 * 0.1).sin().abs() * 30.0 }).collect();
        let p: Vec<f64> = frame.iter().map(|&m| (m * m).max(FLATNESS_AMIN) as f64).collect();
        let gmean = (p.iter().map(|v| v.ln()).sum::<f64>() / 513.0).exp();
        let expected = gmean / (p.iter().sum::<f64>() / 513.0);
        // Both in f64: only rounding differs.
        assert!((spectral(&frame).flatness as f64 / expected - 1.0).abs() < 1e-6);
        // A silent frame is all amin: perfectly flat, as in librosa.
        assert!((spectral(&[0.0; 513]).flatness - 1.0).abs() < 1e-6);
    }

    #[test]
    fn empty_and_silent_input_are_finite() {
        let frames = frame_descriptors(&[], 16_000);
        assert_eq!(frames.frames(), 1);
        let d = describe_note(&[0.0; 4000], 16_000, 60.0);
        assert!(d.to_array().iter().all(|v| v.is_finite()), "{d:?}");
        assert_eq!(d.hbr_db, 0.0);
        assert_eq!(estimate_pitch(&[], 16_000), None);
    }

    #[test]
    fn harmonic_bands_follow_the_rule() {
        let mask = harmonic_bins(220.0, 16_000);
        // Fundamental at bin 14.08: ±2 bins (31.25 Hz) covers bins 13..=16.
        assert_eq!(mask[11..18], [false, false, true, true, true, true, false]);
        assert!(harmonic_bins(f64::NAN, 16_000).iter().all(|&h| !h));
    }
}
