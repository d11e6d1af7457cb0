//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod gus;
pub mod nsynth_data;
pub mod sf2;
pub mod tiny_data;
pub mod ui;

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// A float32 .npy written by numpy: (shape, values in C order).
pub fn read_npy_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let data = npy.into_vec::<f32>().unwrap();
    if !fortran || shape.len() != 2 {
        return (shape, data);
    }
    // librosa returns Fortran-ordered arrays and numpy saves them as such: transpose to C order.
    let (rows, cols) = (shape[0], shape[1]);
    let mut c_order = vec![0.0; data.len()];
    for c in 0..cols {
        for r in 0..rows {
            c_order[r * cols + c] = data[c * rows + r];
        }
    }
    (shape, c_order)
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// Least-squares amplitude of a sinusoid of frequency `freq_hz` in `x`.
pub fn tone_amplitude(x: &[f32], rate_hz: f64, freq_hz: f64) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for (n, &v) in x.iter().enumerate() {
        let t = TAU * freq_hz * n as f64 / rate_hz;
        s += v as f64 * t.sin();
        c += v as f64 * t.cos();
    }
    2.0 * (s * s + c * c).sqrt() / x.len() as f64
}

/// Magnitude of the Hann-windowed DFT of `x` at `freq_hz` (a rotating phasor instead of a sine
/// and cosine per sample; in f64 its drift over a few seconds is negligible).
pub fn dft_magnitude(x: &[f32], rate_hz: f64, freq_hz: f64) -> f64 {
    let len = x.len() as f64;
    let (step_re, step_im) = ((TAU * freq_hz / rate_hz).cos(), -(TAU * freq_hz / rate_hz).sin());
    let (win_re, win_im) = ((TAU / len).cos(), (TAU / len).sin());
    let (mut p_re, mut p_im) = (1.0, 0.0);
    let (mut w_re, mut w_im) = (1.0, 0.0);
    let (mut re, mut im) = (0.0, 0.0);
    for &v in x {
        let weighted = v as f64 * (0.5 - 0.5 * w_re);
        re += weighted * p_re;
        im += weighted * p_im;
        (p_re, p_im) = (p_re * step_re - p_im * step_im, p_re * step_im + p_im * step_re);
        (w_re, w_im) = (w_re * win_re - w_im * win_im, w_re * win_im + w_im * win_re);
    }
    (re * re + im * im).sqrt()
}

/// Strongest frequency between 50 Hz and Nyquist: a 10 Hz grid, then refined to 0.5 Hz.
pub fn dominant_frequency(x: &[f32], rate_hz: f64) -> f64 {
    let best = |freqs: &mut dyn Iterator<Item = f64>| {
        freqs.map(|f| (f, dft_magnitude(x, rate_hz, f))).fold((0.0, -1.0), |a, b| if b.1 > a.1 { b } else { a }).0
    };
    let coarse = best(&mut (5..(rate_hz / 20.0) as usize).map(|k| k as f64 * 10.0));
    best(&mut (-20..=20).map(|k| coarse + k as f64 * 0.5))
}
