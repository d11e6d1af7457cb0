//! A stationary floor taken out of a note's views before they are standardised
//! (`[input.noise_floor]`). NSynth notes end in silence, so the quietest frames of a bin are its
//! floor: silence for a clean note, the noise for a noisy one. Subtracting that floor in power
//! and limiting each view's range below its loudest value leaves a noisy note's inputs closer to
//! the clean note's, whatever the level of the noise.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::dsp::db::FLOOR_DB;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseFloor {
    /// The percentile of a bin's frames taken as its floor.
    pub percentile: u32,
    /// How far above that percentile the subtracted floor sits, in dB: a noisy bin fluctuates
    /// around its mean, and the margin takes the fluctuation with it.
    pub margin_db: u32,
    /// Values further than this below a view's loudest value are raised to that level, in dB.
    pub range_db: u32,
}

impl NoiseFloor {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=50).contains(&self.percentile) {
            return Err(format!("input.noise_floor.percentile must lie in [1, 50], got {}", self.percentile));
        }
        if self.margin_db > 20 {
            return Err(format!("input.noise_floor.margin_db must lie in [0, 20], got {}", self.margin_db));
        }
        if !(20..=100).contains(&self.range_db) {
            return Err(format!("input.noise_floor.range_db must lie in [20, 100], got {}", self.range_db));
        }
        Ok(())
    }

    /// Takes each bin's floor out of a frame-major dB view in place, then limits its range.
    pub fn apply(&self, values: &mut [f32], frames: usize, bins: usize) {
        if frames == 0 || bins == 0 {
            return;
        }
        let rank = (frames - 1) * self.percentile as usize / 100;
        // Values are never NaN: dB of clamped magnitudes.
        let floors: Vec<f32> = ranked_per_bin(values, frames, bins, rank, f32::INFINITY, |a, b| a < b)
            .into_iter()
            .map(|v| v + self.margin_db as f32)
            .collect();
        let log_sub = &*LOG_SUB;
        for frame in values.chunks_exact_mut(bins) {
            for (x, &floor) in frame.iter_mut().zip(&floors) {
                *x = log_sub.subtract(*x, floor);
            }
        }
        let loudest = values.iter().copied().fold(FLOOR_DB, f32::max);
        let lowest = loudest - self.range_db as f32;
        values.iter_mut().for_each(|x| *x = x.max(lowest));
    }

    /// [`Self::apply`] for a view stored as byte steps below its loudest value `top`
    /// (`top - code * step_db` dB, [`crate::learn::notes::store`]): the floor sits a whole number of
    /// steps above a stored value, so every gap is one too and its correction one exact table
    /// entry. None when the margin is not a whole number of steps.
    pub fn apply_to_steps(&self, codes: &[u8], top: f32, step_db: f32, frames: usize, bins: usize) -> Option<Vec<f32>> {
        let margin_steps = self.margin_db as f32 / step_db;
        if margin_steps.fract() != 0.0 || frames == 0 || bins == 0 {
            return None;
        }
        let margin_steps = margin_steps as i32;
        let rank = (frames - 1) * self.percentile as usize / 100;
        // The quietest values have the largest codes. A value's gap to its bin's floor, in
        // steps, is the floor's code less its own less the margin.
        let floor_codes: Vec<i32> = ranked_per_bin(codes, frames, bins, rank, 0, |a, b| a > b)
            .into_iter()
            .map(|q| i32::from(q) - margin_steps)
            .collect();
        // The correction for a gap of d steps, d clamped to 0 ..= LOG_SUB_MAX_DB / step_db: minus
        // infinity at 0 (the value is at or under the floor: the -100 dB floor after the max
        // below), nothing at the top, as `LogSub::subtract` does, without a branch.
        let max_steps = (LOG_SUB_MAX_DB / step_db).ceil() as i32;
        if max_steps > 255 {
            return None;
        }
        let mut table = [0f32; 256];
        for (d, t) in table.iter_mut().enumerate().take(max_steps as usize) {
            *t = if d == 0 { f32::NEG_INFINITY } else { exact_correction(d as f32 * step_db) };
        }
        let mut out = vec![0f32; codes.len()];
        let steps = Steps { codes, floor_codes: &floor_codes, table: &table, top, step_db, max_steps, bins };
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present, checked just above.
            unsafe { steps.subtract_avx2(&mut out) };
        } else {
            steps.subtract(&mut out);
        }
        #[cfg(not(target_arch = "x86_64"))]
        steps.subtract(&mut out);
        let loudest = out.iter().copied().fold(FLOOR_DB, f32::max);
        let lowest = loudest - self.range_db as f32;
        out.iter_mut().for_each(|x| *x = x.max(lowest));
        Some(out)
    }
}

/// A stepped view and its bins' floors, for [`NoiseFloor::apply_to_steps`].
struct Steps<'a> {
    codes: &'a [u8],
    floor_codes: &'a [i32],
    table: &'a [f32; 256],
    top: f32,
    step_db: f32,
    max_steps: i32,
    bins: usize,
}

impl Steps<'_> {
    /// Each value less its floor in power: its level plus the correction for its gap. The
    /// table is indexed by a byte, so no bounds check keeps the loop from gathering in SIMD.
    #[inline(always)]
    fn subtract(&self, out: &mut [f32]) {
        for (frame, row) in self.codes.chunks_exact(self.bins).zip(out.chunks_exact_mut(self.bins)) {
            for ((&q, &fq), y) in frame.iter().zip(self.floor_codes).zip(row) {
                let q = i32::from(q);
                // Codes and floors are bytes, far from overflowing; wrapping keeps the build's
                // overflow checks out of the loop, which they would keep from SIMD.
                let d = fq.wrapping_sub(q).clamp(0, self.max_steps) as u8;
                *y = (self.top - q as f32 * self.step_db + self.table[usize::from(d)]).max(FLOOR_DB);
            }
        }
    }

    /// [`Self::subtract`] eight values at a time: the table lookup is a gather, which the
    /// compiler does not make of the scalar loop by itself.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn subtract_avx2(&self, out: &mut [f32]) {
        use std::arch::x86_64::*;
        let (zero, max) = (_mm256_setzero_si256(), _mm256_set1_epi32(self.max_steps));
        let (top, step, lowest) = (_mm256_set1_ps(self.top), _mm256_set1_ps(self.step_db), _mm256_set1_ps(FLOOR_DB));
        let lanes = self.bins / 8 * 8;
        for (frame, row) in self.codes.chunks_exact(self.bins).zip(out.chunks_exact_mut(self.bins)) {
            for b in (0..lanes).step_by(8) {
                // SAFETY: b + 8 <= lanes <= bins, the length of `frame`, `row` and
                // `floor_codes`; every gathered index is clamped to 0 ..= max_steps <= 255, inside
                // the 256-entry table.
                unsafe {
                    let q = _mm256_cvtepu8_epi32(_mm_loadl_epi64(frame.as_ptr().add(b).cast()));
                    let fq = _mm256_loadu_si256(self.floor_codes.as_ptr().add(b).cast());
                    let d = _mm256_min_epi32(_mm256_max_epi32(_mm256_sub_epi32(fq, q), zero), max);
                    let correction = _mm256_i32gather_ps::<4>(self.table.as_ptr(), d);
                    let level = _mm256_sub_ps(top, _mm256_mul_ps(_mm256_cvtepi32_ps(q), step));
                    _mm256_storeu_ps(row.as_mut_ptr().add(b), _mm256_max_ps(_mm256_add_ps(level, correction), lowest));
                }
            }
            for ((&q, &fq), y) in frame[lanes..].iter().zip(&self.floor_codes[lanes..]).zip(&mut row[lanes..]) {
                let q = i32::from(q);
                let d = fq.wrapping_sub(q).clamp(0, self.max_steps) as u8;
                *y = (self.top - q as f32 * self.step_db + self.table[usize::from(d)]).max(FLOOR_DB);
            }
        }
    }
}

/// Each bin's value of rank `rank` over the frames of a frame-major view, ranks counted in the
/// order `before` (rank 0: the value every other is not before). `last` comes after every value.
/// For the low ranks of a floor percentile, each frame passes down the bins' `rank + 1` values
/// kept so far as through a sorting network: branch-free over whole frames, so it runs in SIMD
/// lanes. Higher ranks select from each bin's column.
fn ranked_per_bin<T: Copy>(
    values: &[T],
    frames: usize,
    bins: usize,
    rank: usize,
    last: T,
    before: impl Fn(T, T) -> bool + Copy,
) -> Vec<T> {
    let k = rank + 1;
    if k > 8 {
        let mut column = vec![last; frames];
        return (0..bins)
            .map(|b| {
                for (f, c) in column.iter_mut().enumerate() {
                    *c = values[f * bins + b];
                }
                let order = |x: &T, y: &T| match (before(*x, *y), before(*y, *x)) {
                    (true, _) => std::cmp::Ordering::Less,
                    (_, true) => std::cmp::Ordering::Greater,
                    _ => std::cmp::Ordering::Equal,
                };
                *column.select_nth_unstable_by(rank, order).1
            })
            .collect();
    }
    // Row j of `kept` holds each bin's j-th value so far, in order.
    let mut kept = vec![last; k * bins];
    let mut carry = vec![last; bins];
    for frame in values.chunks_exact(bins).take(frames) {
        carry.copy_from_slice(frame);
        for row in kept.chunks_exact_mut(bins) {
            for (held, c) in row.iter_mut().zip(carry.iter_mut()) {
                let (h, x) = (*held, *c);
                let earlier = before(x, h);
                *held = if earlier { x } else { h };
                *c = if earlier { h } else { x };
            }
        }
    }
    kept.split_off(rank * bins)
}

/// `10 log10(1 - 10^(-d/10))` for gaps `d` of 1 to 40 dB between a value and the floor under
/// it, in steps of 1/16 dB (interpolated to within 0.003 dB). Nearer than 1 dB the curve is
/// too steep for the table and is computed; past 40 dB it is below 0.0005 dB.
struct LogSub {
    table: Vec<f32>,
}

const LOG_SUB_STEPS_PER_DB: f32 = 16.0;
const LOG_SUB_MIN_DB: f32 = 1.0;
const LOG_SUB_MAX_DB: f32 = 40.0;

static LOG_SUB: LazyLock<LogSub> = LazyLock::new(|| {
    let n = ((LOG_SUB_MAX_DB - LOG_SUB_MIN_DB) * LOG_SUB_STEPS_PER_DB) as usize + 2;
    let table = (0..n).map(|k| exact_correction(LOG_SUB_MIN_DB + k as f32 / LOG_SUB_STEPS_PER_DB)).collect();
    LogSub { table }
});

fn exact_correction(gap: f32) -> f32 {
    (10.0 * (1.0 - 10f64.powf(-f64::from(gap) / 10.0)).log10()) as f32
}

impl LogSub {
    /// `10 log10(10^(x/10) - 10^(floor/10))`, or the -100 dB floor where the floor is as loud as
    /// `x`.
    #[inline]
    fn subtract(&self, x: f32, floor: f32) -> f32 {
        let gap = x - floor;
        if gap <= 0.0 {
            return FLOOR_DB;
        }
        if gap >= LOG_SUB_MAX_DB {
            return x;
        }
        if gap < LOG_SUB_MIN_DB {
            return (x + exact_correction(gap)).max(FLOOR_DB);
        }
        let pos = (gap - LOG_SUB_MIN_DB) * LOG_SUB_STEPS_PER_DB;
        let k = pos as usize;
        let frac = pos - k as f32;
        (x + self.table[k] + frac * (self.table[k + 1] - self.table[k])).max(FLOOR_DB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(p: f64) -> f32 {
        (10.0 * p.log10()) as f32
    }

    #[test]
    fn stepped_views_lose_their_floor_as_the_float_path_takes_it() {
        // A view of byte steps below a top of 12 dB: decaying partials over a floor of codes.
        let (frames, bins, step) = (62, 9, 0.5f32);
        let codes: Vec<u8> =
            (0..frames * bins).map(|i| ((i % bins) * 9 + (i / bins) * 3 + (i * 7919) % 11).min(255) as u8).collect();
        let top = 12.0;
        let floor = NoiseFloor { percentile: 5, margin_db: 6, range_db: 80 };
        let mut float: Vec<f32> = codes.iter().map(|&q| top - f32::from(q) * step).collect();
        floor.apply(&mut float, frames, bins);
        let stepped = floor.apply_to_steps(&codes, top, step, frames, bins).unwrap();
        let worst = float.iter().zip(&stepped).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        // The float path interpolates its table (within 0.003 dB); the stepped one is exact.
        assert!(worst < 0.004, "{worst} dB apart");
        // The SIMD path (eight bins, then one left over) gives the scalar loop's values exactly.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let floor_codes: Vec<i32> = ranked_per_bin(&codes, frames, bins, 3, 0, |a, b| a > b)
                .into_iter()
                .map(|q| i32::from(q) - 12)
                .collect();
            let mut table = [0f32; 256];
            table.iter_mut().enumerate().skip(1).take(79).for_each(|(d, t)| *t = exact_correction(d as f32 * step));
            table[0] = f32::NEG_INFINITY;
            let steps = Steps {
                codes: &codes,
                floor_codes: &floor_codes,
                table: &table,
                top,
                step_db: step,
                max_steps: 80,
                bins,
            };
            let (mut scalar, mut simd) = (vec![0f32; codes.len()], vec![0f32; codes.len()]);
            steps.subtract(&mut scalar);
            // SAFETY: AVX2 is present, checked just above.
            unsafe { steps.subtract_avx2(&mut simd) };
            assert_eq!(scalar, simd);
        }
        let odd = NoiseFloor { margin_db: 5, ..floor };
        assert!(odd.apply_to_steps(&codes, top, 2.0, frames, bins).is_none(), "5 dB is not whole 2-dB steps");
    }

    #[test]
    fn low_ranks_match_a_full_sort() {
        // 62 frames x 7 bins of scrambled values with repeats: every rank of both paths, in
        // either order, is the sorted column's.
        let (frames, bins) = (62, 7);
        let values: Vec<f32> = (0..frames * bins).map(|i| ((i * 7919) % 113) as f32 * 0.5 - 20.0).collect();
        for rank in [0, 3, 7, 12, 30] {
            let got = ranked_per_bin(&values, frames, bins, rank, f32::INFINITY, |a, b| a < b);
            let codes: Vec<u8> = values.iter().map(|v| (v * 2.0 + 40.0) as u8).collect();
            let loudest = ranked_per_bin(&codes, frames, bins, rank, 0, |a, b| a > b);
            for b in 0..bins {
                let mut column: Vec<f32> = (0..frames).map(|f| values[f * bins + b]).collect();
                column.sort_by(f32::total_cmp);
                assert_eq!(got[b], column[rank], "rank {rank}, bin {b}");
                let mut column: Vec<u8> = (0..frames).map(|f| codes[f * bins + b]).collect();
                column.sort_by(|x, y| y.cmp(x));
                assert_eq!(loudest[b], column[rank], "rank {rank} from the top, bin {b}");
            }
        }
    }

    #[test]
    fn subtraction_is_in_power() {
        let sub = &*LOG_SUB;
        // 1 + 3 units of power less 1 leaves 3.
        assert!((sub.subtract(db(4.0), db(1.0)) - db(3.0)).abs() < 0.003);
        assert_eq!(sub.subtract(-20.0, -20.0), FLOOR_DB);
        assert_eq!(sub.subtract(-30.0, -20.0), FLOOR_DB);
        // Against the formula in f64 over every gap from 0.01 to 60 dB, on and between steps.
        let mut worst = 0f64;
        for k in 1..6000 {
            let (x, floor) = (-10.0f32, -10.0 - k as f32 / 100.0);
            let exact = 10.0 * (10f64.powf(f64::from(x) / 10.0) - 10f64.powf(f64::from(floor) / 10.0)).log10();
            worst = worst.max((f64::from(sub.subtract(x, floor)) - exact).abs());
        }
        assert!(worst < 0.003, "worst error {worst} dB");
    }

    #[test]
    fn a_constant_floor_goes_and_a_tone_above_it_stays() {
        // One bin: noise at exactly -40 dB in every frame, a tone adding 0 dB of power in the
        // first half of the frames. The 10th percentile is the noise; with no margin the tone's
        // frames come back to the tone alone and the noise frames fall to the range limit.
        let floor = NoiseFloor { percentile: 10, margin_db: 0, range_db: 60 };
        let (frames, noise, tone) = (20, 1e-4, 1.0);
        let mut values: Vec<f32> = (0..frames).map(|f| db(noise + if f < 10 { tone } else { 0.0 })).collect();
        floor.apply(&mut values, frames, 1);
        for (f, v) in values.iter().enumerate() {
            let expect = if f < 10 { db(tone) } else { db(tone) - 60.0 };
            assert!((v - expect).abs() < 1e-3, "frame {f}: {v} against {expect}");
        }
    }

    #[test]
    fn a_clean_bin_and_its_noisy_copy_meet() {
        // Two bins, a decaying tone in each over silence, and the same with a floor 30 dB
        // under the start in bin 0 and 50 dB under it in bin 1: wherever the tone is 10 dB or
        // more above its noise the two agree within a decibel, and nothing falls below the
        // range limit. The margin subtracts one noise power too many: 0.5 dB at 10 dB above it.
        let floor = NoiseFloor { percentile: 10, margin_db: 3, range_db: 40 };
        let frames = 40;
        let tone = |f: usize| if f < 30 { -(f as f32) * 2.0 } else { FLOOR_DB };
        let clean: Vec<f32> = (0..frames).flat_map(|f| [tone(f), tone(f)]).collect();
        let noisy: Vec<f32> = (0..frames)
            .flat_map(|f| {
                let add = |n: f32| db(10f64.powf(f64::from(tone(f)) / 10.0) + 10f64.powf(f64::from(n) / 10.0));
                [add(-30.0), add(-50.0)]
            })
            .collect();
        let (mut c, mut n) = (clean.clone(), noisy.clone());
        floor.apply(&mut c, frames, 2);
        floor.apply(&mut n, frames, 2);
        let mut compared = 0;
        for f in 0..frames {
            for (b, noise) in [-30.0f32, -50.0].into_iter().enumerate() {
                let (cv, nv) = (c[f * 2 + b], n[f * 2 + b]);
                assert!(cv >= -40.01 && nv >= -40.01, "frame {f} bin {b} below the range: {cv} {nv}");
                if tone(f) >= noise + 10.0 {
                    assert!((cv - nv).abs() < 1.0, "frame {f} bin {b}: clean {cv}, noisy {nv}");
                    compared += 1;
                }
            }
        }
        // Before the floor goes, the noisy bin 0 differs by 3 dB or more over a third of the tone.
        let apart = (0..30).filter(|&f| (clean[f * 2] - noisy[f * 2]).abs() > 3.0).count();
        assert!(apart >= 10 && compared >= 30, "{apart} {compared}");
    }

    #[test]
    fn impossible_settings_are_refused_by_name() {
        let ok = NoiseFloor { percentile: 10, margin_db: 3, range_db: 60 };
        assert!(ok.check().is_ok());
        let e = NoiseFloor { percentile: 0, ..ok }.check().unwrap_err();
        assert!(e.contains("input.noise_floor.percentile"), "{e}");
        let e = NoiseFloor { range_db: 5, ..ok }.check().unwrap_err();
        assert!(e.contains("input.noise_floor.range_db"), "{e}");
    }
}
