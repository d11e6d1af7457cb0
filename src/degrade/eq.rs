//! Channel colouration: low and high shelves (RBJ cookbook, shelf slope 1) and a band-pass made
//! of a second-order Butterworth high-pass at its low edge and low-pass at its high edge, as a
//! telephone or small loudspeaker would. Biquads in transposed direct form II, in f64.

use std::f64::consts::PI;

use super::{DegradeError, check_range};

/// Shelf gains a stage accepts, in dB.
pub const GAIN_RANGE_DB: [f64; 2] = [-24.0, 24.0];
/// Lowest corner frequency accepted, in Hz.
pub const MIN_HZ: f64 = 20.0;

/// One second-order section, normalised so that a0 = 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    pub b: [f64; 3],
    pub a: [f64; 2],
}

impl Biquad {
    fn normalised(b: [f64; 3], a: [f64; 3]) -> Self {
        Self { b: [b[0] / a[0], b[1] / a[0], b[2] / a[0]], a: [a[1] / a[0], a[2] / a[0]] }
    }

    pub fn low_shelf(sample_rate_hz: f64, hz: f64, gain_db: f64) -> Self {
        Self::shelf(sample_rate_hz, hz, gain_db, false)
    }

    pub fn high_shelf(sample_rate_hz: f64, hz: f64, gain_db: f64) -> Self {
        Self::shelf(sample_rate_hz, hz, gain_db, true)
    }

    fn shelf(sr: f64, hz: f64, gain_db: f64, high: bool) -> Self {
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = 2.0 * PI * hz / sr;
        let (cos, sin) = (w0.cos(), w0.sin());
        // Shelf slope S = 1: the steepest that stays monotonic.
        let alpha = sin / 2.0 * 2f64.sqrt();
        let k = 2.0 * a.sqrt() * alpha;
        let s = if high { -1.0 } else { 1.0 };
        Self::normalised(
            [
                a * ((a + 1.0) - s * (a - 1.0) * cos + k),
                s * 2.0 * a * ((a - 1.0) - s * (a + 1.0) * cos),
                a * ((a + 1.0) - s * (a - 1.0) * cos - k),
            ],
            [
                (a + 1.0) + s * (a - 1.0) * cos + k,
                -s * 2.0 * ((a - 1.0) + s * (a + 1.0) * cos),
                (a + 1.0) + s * (a - 1.0) * cos - k,
            ],
        )
    }

    /// Butterworth (Q = 1/sqrt 2) high-pass.
    pub fn high_pass(sr: f64, hz: f64) -> Self {
        let w0 = 2.0 * PI * hz / sr;
        let (cos, alpha) = (w0.cos(), w0.sin() / 2f64.sqrt());
        Self::normalised([(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0], [1.0 + alpha, -2.0 * cos, 1.0 - alpha])
    }

    /// Butterworth (Q = 1/sqrt 2) low-pass.
    pub fn low_pass(sr: f64, hz: f64) -> Self {
        let w0 = 2.0 * PI * hz / sr;
        let (cos, alpha) = (w0.cos(), w0.sin() / 2f64.sqrt());
        Self::normalised([(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0], [1.0 + alpha, -2.0 * cos, 1.0 - alpha])
    }

    /// A peaking equaliser (RBJ cookbook): `gain_db` at `hz`, bandwidth set by `q`.
    pub fn peaking(sr: f64, hz: f64, gain_db: f64, q: f64) -> Self {
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = 2.0 * PI * hz / sr;
        let (cos, alpha) = (w0.cos(), w0.sin() / (2.0 * q));
        Self::normalised([1.0 + alpha * a, -2.0 * cos, 1.0 - alpha * a], [1.0 + alpha / a, -2.0 * cos, 1.0 - alpha / a])
    }

    /// A band-pass of unit gain at `hz` (RBJ cookbook, constant peak gain).
    pub fn band_pass(sr: f64, hz: f64, q: f64) -> Self {
        let w0 = 2.0 * PI * hz / sr;
        let (cos, alpha) = (w0.cos(), w0.sin() / (2.0 * q));
        Self::normalised([alpha, 0.0, -alpha], [1.0 + alpha, -2.0 * cos, 1.0 - alpha])
    }

    /// |H(e^{jw})| in dB at `hz`: the design's response, evaluated from the coefficients.
    pub fn response_db(&self, sample_rate_hz: f64, hz: f64) -> f64 {
        let w = 2.0 * PI * hz / sample_rate_hz;
        let z = |k: f64| (-(k * w)).sin_cos();
        let eval = |c: [f64; 3]| {
            let (s1, c1) = z(1.0);
            let (s2, c2) = z(2.0);
            (c[0] + c[1] * c1 + c[2] * c2, c[1] * s1 + c[2] * s2)
        };
        let (nr, ni) = eval(self.b);
        let (dr, di) = eval([1.0, self.a[0], self.a[1]]);
        10.0 * ((nr * nr + ni * ni) / (dr * dr + di * di)).log10()
    }

    /// Filters `x` in place from rest.
    pub fn process(&self, x: &mut [f32]) {
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for v in x.iter_mut() {
            let input = f64::from(*v);
            let y = self.b[0] * input + s1;
            s1 = self.b[1] * input - self.a[0] * y + s2;
            s2 = self.b[2] * input - self.a[1] * y;
            *v = y as f32;
        }
    }
}

/// An EQ stage as the user states it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Eq {
    LowShelf { freq_hz: f64, gain_db: f64 },
    HighShelf { freq_hz: f64, gain_db: f64 },
    BandPass { low_hz: f64, high_hz: f64 },
}

impl Eq {
    /// The sections of this EQ at `sample_rate_hz`, after checking every parameter.
    pub fn design(&self, sample_rate_hz: u32) -> Result<Vec<Biquad>, DegradeError> {
        let sr = f64::from(sample_rate_hz);
        // Corners stay below 0.45 fs, where the bilinear warp still leaves a usable shape.
        let top = 0.45 * sr;
        Ok(match *self {
            Eq::LowShelf { freq_hz, gain_db } | Eq::HighShelf { freq_hz, gain_db } => {
                let hz = check_range("freq_hz", freq_hz, MIN_HZ, top, " Hz")?;
                let db = check_range("gain_db", gain_db, GAIN_RANGE_DB[0], GAIN_RANGE_DB[1], " dB")?;
                vec![if matches!(self, Eq::LowShelf { .. }) {
                    Biquad::low_shelf(sr, hz, db)
                } else {
                    Biquad::high_shelf(sr, hz, db)
                }]
            }
            Eq::BandPass { low_hz, high_hz } => {
                let lo = check_range("low_hz", low_hz, MIN_HZ, top, " Hz")?;
                let hi = check_range("high_hz", high_hz, MIN_HZ, top, " Hz")?;
                if hi <= lo {
                    return Err(DegradeError::parameter("high_hz", hi, format!("must be above low_hz = {lo} Hz")));
                }
                vec![Biquad::high_pass(sr, lo), Biquad::low_pass(sr, hi)]
            }
        })
    }

    /// Parses the command line's `lowshelf:HZ:DB`, `highshelf:HZ:DB` or `bandpass:LOW_HZ:HIGH_HZ`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let num = |s: &str, what: &str| {
            s.trim().parse::<f64>().map_err(|_| format!("{what} {s:?} in {text:?} is not a number"))
        };
        match parts.as_slice() {
            ["lowshelf", hz, db] => Ok(Eq::LowShelf { freq_hz: num(hz, "frequency")?, gain_db: num(db, "gain")? }),
            ["highshelf", hz, db] => Ok(Eq::HighShelf { freq_hz: num(hz, "frequency")?, gain_db: num(db, "gain")? }),
            ["bandpass", lo, hi] => Ok(Eq::BandPass { low_hz: num(lo, "low edge")?, high_hz: num(hi, "high edge")? }),
            _ => Err(format!("{text:?}: expected lowshelf:HZ:DB, highshelf:HZ:DB or bandpass:LOW_HZ:HIGH_HZ")),
        }
    }

    /// The response of every section together, in dB.
    pub fn response_db(sections: &[Biquad], sample_rate_hz: f64, hz: f64) -> f64 {
        sections.iter().map(|s| s.response_db(sample_rate_hz, hz)).sum()
    }
}

/// Filters `x` through every section.
pub fn apply(sections: &[Biquad], x: &mut [f32]) {
    for s in sections {
        s.process(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    const SR: f64 = 16_000.0;

    /// The response measured from the filter itself: the FFT of its impulse response.
    fn measured_db(sections: &[Biquad], n: usize) -> Vec<f64> {
        let mut h = vec![0.0f32; n];
        h[0] = 1.0;
        apply(sections, &mut h);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let mut spec = fft.make_output_vec();
        fft.process(&mut h, &mut spec).unwrap();
        spec.iter().map(|c| 10.0 * f64::from(c.norm_sqr()).log10()).collect()
    }

    fn designs() -> Vec<(Eq, Vec<Biquad>)> {
        [
            Eq::LowShelf { freq_hz: 200.0, gain_db: 9.0 },
            Eq::LowShelf { freq_hz: 1000.0, gain_db: -12.0 },
            Eq::HighShelf { freq_hz: 4000.0, gain_db: -6.0 },
            Eq::HighShelf { freq_hz: 2500.0, gain_db: 15.0 },
            Eq::BandPass { low_hz: 300.0, high_hz: 3400.0 },
            Eq::BandPass { low_hz: 100.0, high_hz: 7000.0 },
        ]
        .into_iter()
        .map(|eq| (eq, eq.design(16_000).unwrap()))
        .collect()
    }

    #[test]
    fn measured_response_matches_the_design() {
        let n = 1 << 16;
        for (eq, sections) in designs() {
            let measured = measured_db(&sections, n);
            for (k, m) in measured.iter().enumerate().skip(1) {
                let hz = k as f64 * SR / n as f64;
                let design = Eq::response_db(&sections, SR, hz);
                // Where the band-pass is 60 dB down, f32 round-off of the impulse response
                // dominates; everywhere that matters the two agree to far better than 0.1 dB.
                if design > -60.0 {
                    assert!((m - design).abs() < 0.1, "{eq:?} at {hz:.1} Hz: measured {m:.4}, design {design:.4}");
                }
            }
        }
    }

    #[test]
    fn peaking_and_band_pass_peak_where_designed() {
        let peak = Biquad::peaking(SR, 1000.0, 6.0, 1.0);
        assert!((peak.response_db(SR, 1000.0) - 6.0).abs() < 0.01, "the gain at the centre");
        assert!(peak.response_db(SR, 20.0).abs() < 0.05 && peak.response_db(SR, 7900.0).abs() < 0.2, "flat far off");
        // Measured, not only evaluated: the impulse response's spectrum at the centre.
        let n = 1 << 16;
        let measured = measured_db(&[peak], n);
        assert!((measured[(1000.0 * n as f64 / SR) as usize] - 6.0).abs() < 0.05);
        let band = Biquad::band_pass(SR, 500.0, 2.0);
        assert!(band.response_db(SR, 500.0).abs() < 0.01, "unit gain at the centre");
        // Q 2: a 250 Hz band between -3 dB edges at f0 (sqrt(1 + 1/16) -/+ 1/4), 390 and 640
        // Hz, as the analogue prototype has them; this far under Nyquist the bilinear
        // transform moves them by under 0.2 dB.
        assert!((band.response_db(SR, 390.4) + 3.0).abs() < 0.2 && (band.response_db(SR, 640.4) + 3.0).abs() < 0.2);
    }

    #[test]
    fn the_design_meets_its_specification() {
        let shelf = Biquad::low_shelf(SR, 200.0, 9.0);
        assert!((shelf.response_db(SR, 1.0) - 9.0).abs() < 0.1, "full gain well below the corner");
        assert!((shelf.response_db(SR, 200.0) - 4.5).abs() < 0.1, "half the gain (in dB) at the corner");
        assert!(shelf.response_db(SR, 7900.0).abs() < 0.1, "unity far above it");
        let high = Biquad::high_shelf(SR, 4000.0, -6.0);
        assert!((high.response_db(SR, 7999.0) + 6.0).abs() < 0.1);
        assert!((high.response_db(SR, 4000.0) + 3.0).abs() < 0.1);
        assert!(high.response_db(SR, 50.0).abs() < 0.1);
        let band = Eq::BandPass { low_hz: 300.0, high_hz: 3400.0 }.design(16_000).unwrap();
        for edge in [300.0, 3400.0] {
            let db = Eq::response_db(&band, SR, edge);
            assert!((db + 3.01).abs() < 0.1, "Butterworth edges are 3 dB down: {edge} Hz at {db}");
        }
        assert!(Eq::response_db(&band, SR, 1000.0).abs() < 0.1, "flat mid-band");
        // Second order on each side: 12 dB per octave far outside the band.
        let drop = Eq::response_db(&band, SR, 50.0) - Eq::response_db(&band, SR, 100.0);
        assert!((drop + 12.0).abs() < 0.5, "{drop}");
    }

    #[test]
    fn a_sine_comes_out_at_the_designed_level() {
        for (eq, sections) in designs() {
            for hz in [150.0, 1000.0, 5000.0] {
                let mut x: Vec<f32> = (0..32_000).map(|i| (2.0 * PI * hz * i as f64 / SR).sin() as f32).collect();
                apply(&sections, &mut x);
                // Skip the first half: the filters' transients are long gone by then.
                let rms_db =
                    10.0 * (x[16_000..].iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / 16_000.0 * 2.0).log10();
                let design = Eq::response_db(&sections, SR, hz);
                assert!((rms_db - design).abs() < 0.1, "{eq:?} at {hz} Hz: {rms_db} vs {design}");
            }
        }
    }

    #[test]
    fn parameters_are_checked_and_named() {
        assert_eq!(Eq::parse("lowshelf:200:6").unwrap(), Eq::LowShelf { freq_hz: 200.0, gain_db: 6.0 });
        assert_eq!(Eq::parse("bandpass:300:3400").unwrap(), Eq::BandPass { low_hz: 300.0, high_hz: 3400.0 });
        assert!(Eq::parse("notch:1000").unwrap_err().contains("expected"));
        assert!(Eq::parse("lowshelf:x:6").unwrap_err().contains("\"x\""));
        let too_high = Eq::HighShelf { freq_hz: 9000.0, gain_db: 3.0 }.design(16_000).unwrap_err().to_string();
        assert!(too_high.contains("freq_hz") && too_high.contains("7200"), "{too_high}");
        let loud = Eq::LowShelf { freq_hz: 100.0, gain_db: 40.0 }.design(16_000).unwrap_err().to_string();
        assert!(loud.contains("gain_db") && loud.contains("-24 to 24"), "{loud}");
        let inverted = Eq::BandPass { low_hz: 3000.0, high_hz: 300.0 }.design(16_000).unwrap_err().to_string();
        assert!(inverted.contains("high_hz") && inverted.contains("low_hz"), "{inverted}");
    }
}
