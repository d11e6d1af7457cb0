//! Timbre descriptors (spectral centroid, spread, flatness, zero-crossing rate, harmonic-to-background ratio).
//!
//! Per-frame values follow librosa 0.11 on the same frames: `spectral_centroid`,
//! `spectral_bandwidth(p=2, norm=True)`, `spectral_flatness(power=2, amin=1e-10)` on |STFT| with
//! n_fft 1024, hop 256, periodic Hann, centred with zero padding; `zero_crossing_rate` with
//! frame_length 1024, hop 256, centred with edge padding; `rms` with frame_length 1024, hop 256,
//! centred with zero padding. Clip-level values are means over the active frames.

use std::cell::RefCell;
use std::f64::consts::{LN_2, TAU};
use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{RealFftPlanner, RealToComplex};

use super::notes::{hz_to_midi, midi_to_hz};
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

const LANES: usize = 8;

/// Centroid and spread in bins, flatness, and whether the spread needs the f64 FFT.
struct Spectral {
    centroid_bins: f64,
    spread_bins: f64,
    flatness: f32,
    needs_f64: bool,
}

/// One magnitude frame's centroid, p=2 bandwidth and flatness, each a pass over eight f32 lanes
/// that vectorises (a clip's worth of frames would otherwise cost more than its STFT).
fn spectral(frame: &[f32]) -> Spectral {
    let body = frame.len() / LANES * LANES;
    let (main, tail) = frame.split_at(body);
    let lane_index: [f32; LANES] = std::array::from_fn(|l| l as f32);
    let (mut s0, mut s1) = ([0.0f32; LANES], [0.0f32; LANES]);
    let mut k = lane_index;
    for chunk in main.chunks_exact(LANES) {
        for l in 0..LANES {
            s0[l] += chunk[l];
            s1[l] += chunk[l] * k[l];
            k[l] += LANES as f32;
        }
    }
    let (mut s0, mut s1) = (sum(&s0), sum(&s1));
    for (j, &m) in tail.iter().enumerate() {
        s0 += m as f64;
        s1 += m as f64 * (body + j) as f64;
    }
    let flatness = flatness(main, tail);
    // librosa leaves a frame whose L1 norm is below f32's smallest normal unnormalised, which
    // makes centroid and spread ~0; say 0 exactly.
    if s0 < f32::MIN_POSITIVE as f64 {
        return Spectral { centroid_bins: 0.0, spread_bins: 0.0, flatness, needs_f64: false };
    }
    let centroid = s1 / s0;
    // Second pass about the centroid: no cancellation between large moments.
    let (c, mut s2, mut l2) = (centroid as f32, [0.0f32; LANES], [0.0f32; LANES]);
    let mut k = lane_index;
    for chunk in main.chunks_exact(LANES) {
        for l in 0..LANES {
            let d = k[l] - c;
            s2[l] += chunk[l] * d * d;
            l2[l] += chunk[l] * chunk[l];
            k[l] += LANES as f32;
        }
    }
    let (mut s2, mut l2) = (sum(&s2), sum(&l2));
    for (j, &m) in tail.iter().enumerate() {
        let d = (body + j) as f64 - centroid;
        s2 += m as f64 * d * d;
        l2 += m as f64 * m as f64;
    }
    Spectral {
        centroid_bins: centroid,
        spread_bins: (s2 / s0).sqrt(),
        flatness,
        needs_f64: needs_f64(frame.len() as f64, centroid, l2.sqrt(), s2),
    }
}

/// exp(mean ln P) / mean P with P = max(|X|^2, 1e-10) in f32, as librosa computes it, over
/// `main` (a multiple of [`LANES`] bins) and `tail`. The logs come from each P's binary exponent,
/// summed as integers, and a running product of its mantissas in [1, 2), renormalised every 16
/// factors: one `ln` per lane instead of one per bin.
fn flatness(main: &[f32], tail: &[f32]) -> f32 {
    const MANTISSA: u32 = 0x007f_ffff;
    const ONE: u32 = 0x3f80_0000;
    let (mut power, mut product, mut exponent) = ([0.0f32; LANES], [1.0f32; LANES], [0i32; LANES]);
    for block in main.chunks(LANES * 16) {
        for chunk in block.chunks_exact(LANES) {
            for l in 0..LANES {
                // Positive and normal: the sign bit is clear and the exponent field is log2 + 127.
                let p = chunk[l] * chunk[l];
                let p = if p > FLATNESS_AMIN { p } else { FLATNESS_AMIN };
                power[l] += p;
                let bits = p.to_bits();
                // Wrapping: no overflow check in the loop, so it vectorises (|sum| < 2^20 anyway).
                exponent[l] = exponent[l].wrapping_add((bits >> 23) as i32 - 127);
                product[l] *= f32::from_bits((bits & MANTISSA) | ONE);
            }
        }
        for l in 0..LANES {
            let bits = product[l].to_bits();
            exponent[l] += (bits >> 23) as i32 - 127;
            product[l] = f32::from_bits((bits & MANTISSA) | ONE);
        }
    }
    // Fold the lanes and the tail into one f64 product (each factor in [1, 2) or a tail power).
    let mut power = sum(&power);
    let mut product: f64 = product.iter().map(|&p| p as f64).product();
    for &m in tail {
        let p = (m * m).max(FLATNESS_AMIN);
        power += p as f64;
        product *= p as f64;
    }
    let log_sum = exponent.iter().map(|&e| e as f64).sum::<f64>() * LN_2 + product.ln();
    let n = (main.len() + tail.len()) as f64;
    ((log_sum / n).exp() / (power / n)) as f32
}

/// Whether f32 rounding in the STFT could move this frame's spread by more than ~1%.
///
/// The f32 STFT differs from an exact one by about 2.5e-9 of the frame's L2 norm per bin
/// (measured on sines from 100 Hz to 7 kHz, at most 2.9e-9); where the true spectrum is smaller
/// than that, the error adds to it. The p=2 spread weighs bin k by (k - c)^2, so the error adds
/// up to eps * ||X|| * sum_k (k - c)^2 to sum_k |X_k| (k - c)^2. Only tones with next to nothing
/// between their partials, below -130 dB (synthesised in floating point, or louder than
/// 16-bit quantisation noise allows), get there: a float sine at 440 Hz reads 2% wide. Those
/// frames are redone with an f64 FFT.
fn needs_f64(bins: f64, centroid: f64, l2_norm: f64, weighted: f64) -> bool {
    const ERROR_FLOOR: f64 = 5e-9; // the measured 2.9e-9 with room
    const TOLERANCE: f64 = 2e-2; // of the spread squared: 1% of the spread, half the contract
    // sum_{k<n} (k - c)^2 in closed form.
    let n = bins;
    let lever = (n - 1.0) * n * (2.0 * n - 1.0) / 6.0 - centroid * n * (n - 1.0) + n * centroid * centroid;
    ERROR_FLOOR * l2_norm * lever > TOLERANCE * weighted
}

fn sum(lanes: &[f32; LANES]) -> f64 {
    lanes.iter().map(|&v| v as f64).sum()
}

/// Power inside the harmonic bands (`mask` 1 there, 0 elsewhere) and in the whole frame.
fn harmonic_power(frame: &[f32], mask: &[f32]) -> (f64, f64) {
    let (mut inside, mut total) = ([0.0f32; LANES], [0.0f32; LANES]);
    let (chunks, masks) = (frame.chunks_exact(LANES), mask.chunks_exact(LANES));
    let tail = chunks.remainder().iter().zip(masks.remainder());
    for (chunk, weights) in chunks.zip(masks) {
        for l in 0..LANES {
            let p = chunk[l] * chunk[l];
            inside[l] += p * weights[l];
            total[l] += p;
        }
    }
    let (mut inside, mut total) = (sum(&inside), sum(&total));
    for (&m, &w) in tail {
        inside += (m * m * w) as f64;
        total += (m * m) as f64;
    }
    (inside, total)
}

// A frame spans exactly four hops, starting on a multiple of the hop: ZCR and RMS sum per-hop blocks.
const _: () = assert!(FRAME_LEN == 4 * HOP_LEN);

/// librosa's `zero_crossing_rate(frame_length=1024, hop_length=256, center=True)`: frames of the
/// signal padded with 512 copies of its edge samples at each end; a crossing is a change of sign
/// bit between neighbours within the frame after values with |x| <= 1e-10 are set to +0; the
/// count is divided by the frame length (a frame's first sample never starts a crossing).
fn zero_crossing_rate(samples: &[f32], frames: usize) -> Vec<f32> {
    // After the threshold, the sign bit is set exactly for x < -1e-10.
    let negative = |x: f32| x < -ZCR_THRESHOLD;
    // blocks[b] = crossings between samples[i - 1] and samples[i] for i in block b (i >= 1).
    let blocks: Vec<u32> = (0..samples.len().div_ceil(HOP_LEN))
        .map(|b| {
            let (lo, hi) = ((b * HOP_LEN).max(1), ((b + 1) * HOP_LEN).min(samples.len()));
            if lo >= hi {
                return 0;
            }
            samples[lo - 1..hi - 1]
                .iter()
                .zip(&samples[lo..hi])
                .map(|(&a, &b)| (negative(a) != negative(b)) as u32)
                .sum()
        })
        .collect();
    let block = |b: isize| if b < 0 { 0 } else { blocks.get(b as usize).copied().unwrap_or(0) };
    (0..frames as isize)
        .map(|t| {
            // Frame t holds signal positions 256t-512 .. 256t+511 (edge padding repeats the end
            // samples, adding no crossings): blocks t-2 ..= t+1, less a crossing into its first
            // sample, which pairs with a sample outside the frame.
            let first = (t - 2) * HOP_LEN as isize;
            let outside = first >= 1
                && (first as usize) < samples.len()
                && negative(samples[first as usize - 1]) != negative(samples[first as usize]);
            let count = (t - 2..t + 2).map(block).sum::<u32>() - outside as u32;
            count as f32 / FRAME_LEN as f32
        })
        .collect()
}

/// librosa's `rms(frame_length=1024, hop_length=256, center=True, pad_mode='constant')`.
fn frame_rms(samples: &[f32], frames: usize) -> Vec<f32> {
    let blocks: Vec<f64> = samples
        .chunks(HOP_LEN)
        .map(|block| {
            let mut lanes = [0.0f32; LANES];
            let chunks = block.chunks_exact(LANES);
            let tail: f32 = chunks.remainder().iter().map(|x| x * x).sum();
            for chunk in chunks {
                for l in 0..LANES {
                    lanes[l] += chunk[l] * chunk[l];
                }
            }
            sum(&lanes) + tail as f64
        })
        .collect();
    let block = |b: isize| if b < 0 { 0.0 } else { blocks.get(b as usize).copied().unwrap_or(0.0) };
    (0..frames as isize).map(|t| ((t - 2..t + 2).map(block).sum::<f64>() / FRAME_LEN as f64).sqrt() as f32).collect()
}

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
