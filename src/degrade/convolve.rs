//! Linear convolution by FFT: the whole signal in one transform, or uniformly partitioned
//! overlap-save for long signals, where one huge transform would cost more memory than time.

use std::cell::RefCell;
use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

/// Above this many output samples (about 2 minutes at 16 kHz) the partitioned path is used.
pub const WHOLE_SIGNAL_MAX: usize = 1 << 21;
/// Block of the partitioned path: long enough that per-block overhead is small.
pub const PARTITION_BLOCK: usize = 4096;

thread_local! {
    static PLANNER: RefCell<RealFftPlanner<f32>> = RefCell::new(RealFftPlanner::new());
}

/// Forward and inverse real FFTs of length `n`, planned once per thread and length.
pub(crate) fn plans(n: usize) -> (Arc<dyn RealToComplex<f32>>, Arc<dyn realfft::ComplexToReal<f32>>) {
    PLANNER.with(|p| {
        let mut p = p.borrow_mut();
        (p.plan_fft_forward(n), p.plan_fft_inverse(n))
    })
}

/// The smallest 2^a 3^b 5^c at least `n`: lengths the FFT handles fastest.
pub fn fast_len(n: usize) -> usize {
    let mut best = n.next_power_of_two();
    let mut p5 = 1;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            let mut m = p35;
            while m < n {
                m *= 2;
            }
            best = best.min(m);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// `signal` convolved with each kernel, each output `out_len` samples long (the full
/// convolution truncated or zero-padded). The signal's transform is shared by all kernels.
pub fn convolve_many(signal: &[f32], kernels: &[&[f32]], out_len: usize) -> Vec<Vec<f32>> {
    let longest = kernels.iter().map(|k| k.len()).max().unwrap_or(0);
    if signal.is_empty() || longest == 0 {
        return kernels.iter().map(|_| vec![0.0; out_len]).collect();
    }
    // Outputs before `out_len` depend only on the signal before it.
    let signal = &signal[..signal.len().min(out_len)];
    if signal.is_empty() {
        return kernels.iter().map(|_| vec![0.0; out_len]).collect();
    }
    let full = signal.len() + longest - 1;
    if full > WHOLE_SIGNAL_MAX {
        return kernels.iter().map(|k| convolve_partitioned(signal, k, out_len, PARTITION_BLOCK)).collect();
    }
    let n = fast_len(full);
    let (fwd, inv) = plans(n);
    let mut buf = fwd.make_input_vec();
    buf[..signal.len()].copy_from_slice(signal);
    let mut sig_spec = fwd.make_output_vec();
    fwd.process(&mut buf, &mut sig_spec).expect("buffers sized by the plan");
    let mut spec = fwd.make_output_vec();
    let mut out_buf = inv.make_output_vec();
    kernels
        .iter()
        .map(|kernel| {
            buf.iter_mut().for_each(|x| *x = 0.0);
            buf[..kernel.len()].copy_from_slice(kernel);
            fwd.process(&mut buf, &mut spec).expect("buffers sized by the plan");
            let scale = 1.0 / n as f32;
            for (s, x) in spec.iter_mut().zip(&sig_spec) {
                *s = *s * *x * scale;
            }
            // Drop rounding residue in the imaginary parts of DC and Nyquist, which realfft refuses.
            spec[0].im = 0.0;
            if n.is_multiple_of(2) {
                spec.last_mut().expect("n > 0").im = 0.0;
            }
            inv.process(&mut spec, &mut out_buf).expect("buffers sized by the plan");
            let mut out = vec![0.0; out_len];
            let keep = out_len.min(signal.len() + kernel.len() - 1);
            out[..keep].copy_from_slice(&out_buf[..keep]);
            out
        })
        .collect()
}

/// `signal` convolved with `kernel`, `out_len` samples long.
pub fn convolve(signal: &[f32], kernel: &[f32], out_len: usize) -> Vec<f32> {
    convolve_many(signal, &[kernel], out_len).pop().expect("one kernel in, one out")
}

/// Uniformly partitioned overlap-save: the kernel is cut into blocks of `block` samples whose
/// spectra are kept; each input block costs one forward and one inverse FFT of `2 * block`.
pub struct PartitionedConvolver {
    block: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn realfft::ComplexToReal<f32>>,
    partitions: Vec<Vec<Complex32>>,
    /// Spectra of the most recent input blocks, newest first (a frequency-domain delay line).
    history: Vec<Vec<Complex32>>,
    /// The last two input blocks, time domain.
    window: Vec<f32>,
    scratch: Vec<f32>,
    acc: Vec<Complex32>,
}

impl PartitionedConvolver {
    pub fn new(kernel: &[f32], block: usize) -> Self {
        let block = block.max(1);
        let n = 2 * block;
        let (fwd, inv) = plans(n);
        let mut scratch = fwd.make_input_vec();
        let partitions: Vec<Vec<Complex32>> = kernel
            .chunks(block)
            .map(|part| {
                scratch.iter_mut().for_each(|x| *x = 0.0);
                scratch[..part.len()].copy_from_slice(part);
                let mut spec = fwd.make_output_vec();
                fwd.process(&mut scratch, &mut spec).expect("buffers sized by the plan");
                spec
            })
            .collect();
        let history = vec![fwd.make_output_vec(); partitions.len().max(1)];
        let acc = fwd.make_output_vec();
        Self { block, fwd, inv, partitions, history, window: vec![0.0; n], scratch, acc }
    }

    /// Convolves the next `block` input samples into `output` (both exactly `block` long).
    pub fn process_block(&mut self, input: &[f32], output: &mut [f32]) {
        let b = self.block;
        assert!(input.len() == b && output.len() == b, "blocks are {b} samples");
        self.window.copy_within(b.., 0);
        self.window[b..].copy_from_slice(input);
        self.scratch.copy_from_slice(&self.window);
        self.history.rotate_right(1);
        self.fwd.process(&mut self.scratch, &mut self.history[0]).expect("buffers sized by the plan");
        self.acc.iter_mut().for_each(|c| *c = Complex32::new(0.0, 0.0));
        for (part, past) in self.partitions.iter().zip(&self.history) {
            for ((a, h), x) in self.acc.iter_mut().zip(part).zip(past) {
                *a += h * x;
            }
        }
        self.acc[0].im = 0.0;
        if let Some(last) = self.acc.last_mut() {
            last.im = 0.0;
        }
        self.inv.process(&mut self.acc, &mut self.scratch).expect("buffers sized by the plan");
        // Overlap-save: the second half of the circular result is the linear one.
        let scale = 1.0 / (2 * b) as f32;
        for (o, s) in output.iter_mut().zip(&self.scratch[b..]) {
            *o = s * scale;
        }
    }
}

/// Convolution through [`PartitionedConvolver`], `out_len` samples long.
pub fn convolve_partitioned(signal: &[f32], kernel: &[f32], out_len: usize, block: usize) -> Vec<f32> {
    let mut conv = PartitionedConvolver::new(kernel, block);
    let block = conv.block;
    let mut out = vec![0.0; out_len.div_ceil(block) * block];
    let mut input = vec![0.0; block];
    for (i, chunk) in out.chunks_mut(block).enumerate() {
        input.iter_mut().for_each(|x| *x = 0.0);
        let start = (i * block).min(signal.len());
        let end = ((i + 1) * block).min(signal.len());
        input[..end - start].copy_from_slice(&signal[start..end]);
        conv.process_block(&input, chunk);
    }
    out.truncate(out_len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64: the oracle both fast paths are held to.
    fn direct(signal: &[f32], kernel: &[f32], out_len: usize) -> Vec<f64> {
        (0..out_len)
            .map(|n| {
                let lo = n.saturating_sub(signal.len().saturating_sub(1));
                (lo..=n.min(kernel.len().saturating_sub(1)))
                    .filter(|&k| n - k < signal.len())
                    .map(|k| f64::from(kernel[k]) * f64::from(signal[n - k]))
                    .sum()
            })
            .collect()
    }

    fn pseudo_random(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn fast_lengths_are_smooth_and_tight() {
        assert_eq!(fast_len(1000), 1000);
        assert_eq!(fast_len(1001), 1024);
        assert_eq!(fast_len(84_801), 86_400);
        for n in [1, 7, 97, 12_345, 100_003] {
            let m = fast_len(n);
            let mut r = m;
            for p in [2, 3, 5] {
                while r.is_multiple_of(p) {
                    r /= p;
                }
            }
            assert!(m >= n && r == 1, "{n} -> {m}");
        }
    }

    #[test]
    fn whole_and_partitioned_match_the_definition() {
        let signal = pseudo_random(3000, 1);
        let kernel = pseudo_random(700, 2);
        let full = signal.len() + kernel.len() - 1;
        let oracle = direct(&signal, &kernel, full);
        let peak = oracle.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (name, got) in [
            ("whole", convolve(&signal, &kernel, full)),
            ("partitioned 256", convolve_partitioned(&signal, &kernel, full, 256)),
            ("partitioned 1024", convolve_partitioned(&signal, &kernel, full, 1024)),
        ] {
            let worst = got.iter().zip(&oracle).map(|(g, o)| (f64::from(*g) - o).abs()).fold(0.0, f64::max);
            // f32 FFT round-off grows with log2(n) and the operands' magnitude: 1e-5 of the peak is
            // a hundred times that, and a thousand times smaller than any indexing mistake.
            assert!(worst < 1e-5 * peak, "{name}: worst error {worst} against peak {peak}");
        }
        // Truncation keeps the start; padding adds zeros.
        let short = convolve(&signal, &kernel, 100);
        assert_eq!(short.len(), 100);
        assert!((f64::from(short[99]) - oracle[99]).abs() < 1e-5 * peak);
        let long = convolve(&signal, &kernel, full + 50);
        assert!(long[full..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn one_signal_many_kernels() {
        let signal = pseudo_random(500, 3);
        let a = pseudo_random(64, 4);
        let b = pseudo_random(200, 5);
        let both = convolve_many(&signal, &[&a, &b], 800);
        // Each kernel alone gives the same (up to round-off: the shared transform is longer).
        for (many, kernel) in both.iter().zip([&a, &b]) {
            let single = convolve(&signal, kernel, 800);
            assert!(many.iter().zip(&single).all(|(x, y)| (x - y).abs() < 1e-4), "kernel of {}", kernel.len());
        }
        // Past its own full length the shorter kernel's output is exactly zero.
        assert!(both[0][500 + 64 - 1..].iter().all(|&v| v == 0.0));
    }
}
