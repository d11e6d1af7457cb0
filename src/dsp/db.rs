//! Decibels: 20*log10(max(|X|, 1e-5)), the one definition used everywhere.
//!
//! The log is computed with a short polynomial on the float's mantissa instead of `f32::log10`,
//! because the libm call costs more than the whole FFT of a frame; its error is about 1e-5 dB.

/// Magnitudes below this floor are clamped before the log (-100 dB).
pub const AMPLITUDE_FLOOR: f32 = 1e-5;
/// The same floor in dB.
pub const FLOOR_DB: f32 = -100.0;

const POWER_FLOOR: f32 = AMPLITUDE_FLOOR * AMPLITUDE_FLOOR;
/// 10*log10(2): converts log2 of a power to dB.
const DB_PER_LOG2_POWER: f32 = 3.010_3;

/// dB of one magnitude, exact reference (libm).
pub fn amplitude_to_db(amplitude: f32) -> f32 {
    20.0 * amplitude.max(AMPLITUDE_FLOOR).log10()
}

/// dB of a squared magnitude (`re^2 + im^2`), avoiding the square root.
#[inline(always)]
pub fn power_to_db_fast(power: f32) -> f32 {
    DB_PER_LOG2_POWER * log2_fast::<false>(power.max(POWER_FLOOR))
}

/// [`power_to_db_fast`] with fused multiply-adds, for code compiled with FMA enabled (without
/// FMA hardware `mul_add` is a slow library call).
#[inline(always)]
pub fn power_to_db_fused(power: f32) -> f32 {
    // A plain comparison (one max instruction) rather than f32::max's NaN handling: powers
    // are never NaN here.
    let clamped = if power > POWER_FLOOR { power } else { POWER_FLOOR };
    DB_PER_LOG2_POWER * log2_fast::<true>(clamped)
}

/// dB of a magnitude, fast path.
#[inline(always)]
pub fn amplitude_to_db_fast(amplitude: f32) -> f32 {
    power_to_db_fast(amplitude * amplitude)
}

/// In-place magnitudes to dB.
pub fn amplitudes_to_db_in_place(values: &mut [f32]) {
    for v in values {
        *v = amplitude_to_db_fast(*v);
    }
}

/// log2 for positive, finite, normal inputs; branch- and division-free so loops over it vectorise.
#[inline(always)]
fn log2_fast<const FUSED: bool>(x: f32) -> f32 {
    // log2(1 + t) = t P(t) on the centred mantissa; coefficients from scripts/fit_log2_poly.py
    // (max error 3.8e-6 in log2, 1.1e-5 dB; a seventh coefficient would take it to 1.7e-6 dB
    // for one more multiply-add per value).
    const P: [f32; 6] = [1.442_701_8, -0.721_208_45, 0.479_793_64, -0.366_413_7, 0.318_410_58, -0.206_860_47];
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // in [1, 2)
    // Centre the mantissa on 1 ([sqrt(1/2), sqrt(2))) where the polynomial is fitted.
    let high = mantissa > std::f32::consts::SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    let e = exponent + high as i32;
    let t = m - 1.0;
    if FUSED {
        let p = P.iter().rev().skip(1).fold(P[5], |acc, &c| acc.mul_add(t, c));
        t.mul_add(p, e as f32)
    } else {
        let p = P[0] + t * (P[1] + t * (P[2] + t * (P[3] + t * (P[4] + t * P[5]))));
        e as f32 + t * p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_db_matches_libm_across_the_range() {
        // Sweep 1e-7 .. 1e4 geometrically, including the floor and exact powers of two.
        let mut a = 1e-7_f32;
        let mut worst = 0.0_f32;
        while a < 1e4 {
            let exact = 20.0 * (a as f64).max(1e-5).log10();
            let fast = amplitude_to_db_fast(a) as f64;
            worst = worst.max((exact - fast).abs() as f32);
            a *= 1.0137;
        }
        // 1e-4 dB is far below anything a view or a model can see; f32 rounding of a*a is ~1e-6 dB.
        assert!(worst < 1e-4, "worst error {worst} dB");
        assert_eq!(amplitude_to_db_fast(1.0), 0.0);
        assert!((amplitude_to_db_fast(0.0) - FLOOR_DB).abs() < 1e-4);
        assert!((amplitude_to_db(1e-9) - FLOOR_DB).abs() < 1e-4);
        for p in [1e-9f32, 3.7e-4, 0.5, 1.0, 2.0, 123.4, 6.5e5] {
            assert!((power_to_db_fused(p) - power_to_db_fast(p)).abs() < 1e-4, "{p}");
        }
    }
}
