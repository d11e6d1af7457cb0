//! Helpers shared by the integration tests.
#![allow(dead_code)]

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
