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
        let floors: Vec<f32> = kth_smallest_per_bin(values, frames, bins, rank, f32::INFINITY)
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
    /// (`top - code * step_db` dB, [`crate::learn::store`]): the floor sits a whole number of
    /// steps above a stored value, so every gap is one too and its correction one exact table
    /// entry. None when the margin is not a whole number of steps.
    pub fn apply_to_steps(&self, codes: &[u8], top: f32, step_db: f32, frames: usize, bins: usize) -> Option<Vec<f32>> {
        let margin_steps = self.margin_db as f32 / step_db;
        if margin_steps.fract() != 0.0 || frames == 0 || bins == 0 {
            return None;
        }
        let margin_steps = margin_steps as i32;
        let rank = (frames - 1) * self.percentile as usize / 100;
        // The quietest values have the largest codes: rank the codes counted down from 255.
        let down: Vec<u8> = codes.iter().map(|&q| 255 - q).collect();
        let floor_codes: Vec<i32> =
            kth_smallest_per_bin(&down, frames, bins, rank, u8::MAX).into_iter().map(|d| 255 - i32::from(d)).collect();
        // The correction for a gap of d steps, d clamped to 0 ..= LOG_SUB_MAX_DB / step_db: minus
        // infinity at 0 (the value is at or under the floor: the -100 dB floor after the max
        // below), nothing at the top, as `LogSub::subtract` does, without a branch.
        let max_steps = (LOG_SUB_MAX_DB / step_db).ceil() as i32;
        let table: Vec<f32> = (0..=max_steps)
            .map(|d| match d {
                0 => f32::NEG_INFINITY,
                d if d == max_steps => 0.0,
                d => exact_correction(d as f32 * step_db),
            })
            .collect();
        let levels: [f32; 256] = std::array::from_fn(|q| top - q as f32 * step_db);
        let mut out = vec![0f32; codes.len()];
        for (frame, row) in codes.chunks_exact(bins).zip(out.chunks_exact_mut(bins)) {
            for ((&q, &fq), y) in frame.iter().zip(&floor_codes).zip(row) {
                let d = (fq - i32::from(q) - margin_steps).clamp(0, max_steps);
                *y = (levels[usize::from(q)] + table[d as usize]).max(FLOOR_DB);
            }
        }
        let loudest = out.iter().copied().fold(FLOOR_DB, f32::max);
        let lowest = loudest - self.range_db as f32;
        out.iter_mut().for_each(|x| *x = x.max(lowest));
        Some(out)
    }
}

/// Each bin's value of rank `rank` (0: the smallest) over the frames of a frame-major view.
/// For the low ranks of a floor percentile, each bin keeps its `rank + 1` smallest values so far
/// in one pass over the frames, faster than gathering each bin's column to select from; higher
/// ranks select from the column.
fn kth_smallest_per_bin<T: Copy + PartialOrd>(
    values: &[T],
    frames: usize,
    bins: usize,
    rank: usize,
    above: T,
) -> Vec<T> {
    let k = rank + 1;
    if k > 8 {
        let mut column = vec![above; frames];
        return (0..bins)
            .map(|b| {
                for (f, c) in column.iter_mut().enumerate() {
                    *c = values[f * bins + b];
                }
                // Values are never NaN: dB of clamped magnitudes, or byte steps.
                *column.select_nth_unstable_by(rank, |a, b| a.partial_cmp(b).expect("not NaN")).1
            })
            .collect();
    }
    // Bin b's k smallest values so far, ascending, in smallest[b * k..(b + 1) * k]; the largest
    // of them also in `threshold[b]`, which most values only need comparing with.
    let mut smallest = vec![above; k * bins];
    let mut threshold = vec![above; bins];
    // From the last frame back: a note decays into silence, so its quietest frames come first
    // and later ones rarely displace them.
    for frame in values.chunks_exact(bins).take(frames).rev() {
        for ((b, &x), t) in frame.iter().enumerate().zip(threshold.iter_mut()) {
            if x >= *t {
                continue;
            }
            let kept = &mut smallest[b * k..(b + 1) * k];
            let mut j = rank;
            while j > 0 && kept[j - 1] > x {
                kept[j] = kept[j - 1];
                j -= 1;
            }
            kept[j] = x;
            *t = kept[rank];
        }
    }
    threshold
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
        let odd = NoiseFloor { margin_db: 5, ..floor };
        assert!(odd.apply_to_steps(&codes, top, 2.0, frames, bins).is_none(), "5 dB is not whole 2-dB steps");
    }

    #[test]
    fn low_ranks_match_a_full_sort() {
        // 62 frames x 7 bins of scrambled values with repeats: every rank of both paths is the
        // sorted column's.
        let (frames, bins) = (62, 7);
        let values: Vec<f32> = (0..frames * bins).map(|i| ((i * 7919) % 113) as f32 * 0.5 - 20.0).collect();
        for rank in [0, 3, 7, 12, 30] {
            let got = kth_smallest_per_bin(&values, frames, bins, rank, f32::INFINITY);
            for b in 0..bins {
                let mut column: Vec<f32> = (0..frames).map(|f| values[f * bins + b]).collect();
                column.sort_by(f32::total_cmp);
                assert_eq!(got[b], column[rank], "rank {rank}, bin {b}");
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
