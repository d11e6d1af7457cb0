//! The per-frame passes behind the descriptors: spectral moments and flatness over eight f32
//! lanes, harmonic and background power, zero crossings and RMS.

use std::f64::consts::LN_2;

use super::{FLATNESS_AMIN, FRAME_LEN, HOP_LEN, ZCR_THRESHOLD};

const LANES: usize = 8;

/// Centroid and spread in bins, flatness, and whether the spread needs the f64 FFT.
pub(super) struct Spectral {
    pub centroid_bins: f64,
    pub spread_bins: f64,
    pub flatness: f32,
    pub needs_f64: bool,
}

/// One magnitude frame's centroid, p=2 bandwidth and flatness, each a pass over eight f32 lanes
/// that vectorises (a clip's worth of frames would otherwise cost more than its STFT).
pub(super) fn spectral(frame: &[f32]) -> Spectral {
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
pub(super) fn flatness(main: &[f32], tail: &[f32]) -> f32 {
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
pub(super) fn needs_f64(bins: f64, centroid: f64, l2_norm: f64, weighted: f64) -> bool {
    const ERROR_FLOOR: f64 = 5e-9; // the measured 2.9e-9 with room
    const TOLERANCE: f64 = 2e-2; // of the spread squared: 1% of the spread, half the contract
    // sum_{k<n} (k - c)^2 in closed form.
    let n = bins;
    let lever = (n - 1.0) * n * (2.0 * n - 1.0) / 6.0 - centroid * n * (n - 1.0) + n * centroid * centroid;
    ERROR_FLOOR * l2_norm * lever > TOLERANCE * weighted
}

pub(super) fn sum(lanes: &[f32; LANES]) -> f64 {
    lanes.iter().map(|&v| v as f64).sum()
}

/// Power inside the harmonic bands (`mask` 1 there, 0 elsewhere) and in the whole frame.
pub(super) fn harmonic_power(frame: &[f32], mask: &[f32]) -> (f64, f64) {
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
pub(super) fn zero_crossing_rate(samples: &[f32], frames: usize) -> Vec<f32> {
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
pub(super) fn frame_rms(samples: &[f32], frames: usize) -> Vec<f32> {
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
