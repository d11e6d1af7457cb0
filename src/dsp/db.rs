//! Decibels: 20*log10(max(|X|, 1e-5)), the one definition used everywhere.
//!
//! The log is computed with a short polynomial on the float's mantissa instead of `f32::log10`,
//! because the libm call costs more than the whole FFT of a frame; its error stays below 1e-4 dB.

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
    DB_PER_LOG2_POWER * log2_fast(power.max(POWER_FLOOR))
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

/// log2 for positive, finite, normal inputs; branch-free so loops over it vectorise.
#[inline(always)]
fn log2_fast(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // in [1, 2)
    // Centre the mantissa on 1 ([sqrt(1/2), sqrt(2))) so the series below converges fast.
    let high = mantissa > std::f32::consts::SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    let e = exponent + high as i32;
    // ln(m) = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172: four terms leave < 1e-8 relative error.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let ln_m = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 / 9.0))));
    e as f32 + ln_m * std::f32::consts::LOG2_E
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
    }
}
