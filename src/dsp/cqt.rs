//! Constant-Q transform with librosa's semantics and scaling, computed in the frequency domain.
//!
//! librosa.cqt correlates each bin's Hann-windowed complex exponential (length
//! `L_k = Q sr / f_k`, L1-normalised) with the signal at every hop and scales by `sqrt(L_k)`.
//! It gets there by resampling octave by octave; here the same quantity is computed exactly
//! at the original rate:
//! 1. one real FFT of the zero-padded clip (length N, a multiple of the hop);
//! 2. per bin, the product with the conjugate spectrum of its kernel, known in closed form and
//!    kept only where it is not negligible (librosa's rule: drop the smallest coefficients that
//!    sum to 1% of the row's L1 norm);
//! 3. because only every hop-th output is needed, the band is folded modulo N/hop (sampling in
//!    time is aliasing in frequency), so one inverse FFT of N/hop points yields all frames.
//!
//! Long clips are processed in blocks so plans and buffers stay bounded.

use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

use realfft::num_complex::{Complex32, Complex64};
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use super::spectrogram::Layout;
use super::{DspError, FrequencyAxis, Scale, Spectrogram, db};
use crate::audio::ANALYSIS_RATE_HZ;

/// Window bandwidth of a Hann window in FFT bins (librosa's `window_bandwidth('hann')`).
const HANN_BANDWIDTH: f64 = 1.500_183_105_468_75;
/// The largest inverse FFT per bin; clips needing more are split into blocks.
const MAX_FOLDED_LEN: usize = 4096;
/// Plans kept for reuse; each is a few MB and takes tens of milliseconds to build.
const CACHED_PLANS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CqtConfig {
    pub fmin_hz: f64,
    pub n_bins: usize,
    pub bins_per_octave: usize,
    pub hop_len: usize,
    pub sample_rate_hz: u32,
    /// librosa's `filter_scale`: kernel length multiplier.
    pub filter_scale: f64,
    /// librosa's `sparsity`: fraction of each kernel's L1 mass that may be dropped.
    pub sparsity: f64,
}

impl Default for CqtConfig {
    /// The design's CQT: 96 bins per octave from C1, 761 bins (the most that fit under 8 kHz).
    fn default() -> Self {
        Self {
            fmin_hz: 32.703,
            n_bins: 761,
            bins_per_octave: 96,
            hop_len: 256,
            sample_rate_hz: ANALYSIS_RATE_HZ,
            filter_scale: 1.0,
            sparsity: 0.01,
        }
    }
}

impl CqtConfig {
    pub fn frames(&self, signal_len: usize) -> usize {
        1 + signal_len / self.hop_len
    }

    pub fn bin_hz(&self, bin: usize) -> f64 {
        self.fmin_hz * 2f64.powf(bin as f64 / self.bins_per_octave as f64)
    }

    /// librosa's relative bandwidth for equally spaced bins: (r^2 - 1) / (r^2 + 1), r = 2^(1/bpo).
    pub fn alpha(&self) -> f64 {
        let r2 = 2f64.powf(2.0 / self.bins_per_octave as f64);
        (r2 - 1.0) / (r2 + 1.0)
    }

    /// Kernel length of a bin in samples (fractional, as librosa's `wavelet_lengths`).
    pub fn kernel_len(&self, bin: usize) -> f64 {
        self.filter_scale / self.alpha() * self.sample_rate_hz as f64 / self.bin_hz(bin)
    }

    fn validate(&self) -> Result<(), DspError> {
        let bad = |name, message: String| Err(DspError::Parameter { name, message });
        if !(self.fmin_hz.is_finite() && self.fmin_hz > 0.0) {
            return bad("fmin_hz", format!("must be a positive frequency, got {}", self.fmin_hz));
        }
        if self.n_bins == 0 || self.bins_per_octave == 0 {
            return bad("n_bins", "n_bins and bins_per_octave must be > 0".into());
        }
        if self.hop_len == 0 {
            return bad("hop_len", "must be > 0".into());
        }
        if self.filter_scale.is_nan() || self.filter_scale <= 0.0 || !(0.0..1.0).contains(&self.sparsity) {
            return bad("filter_scale", "filter_scale must be > 0 and sparsity in [0, 1)".into());
        }
        let nyquist = self.sample_rate_hz as f64 / 2.0;
        let top = self.bin_hz(self.n_bins - 1);
        let cutoff = top * (1.0 + 0.5 * HANN_BANDWIDTH * self.alpha() / self.filter_scale);
        if cutoff > nyquist {
            return bad(
                "n_bins",
                format!("the top bin's filter reaches {cutoff:.1} Hz, above the Nyquist frequency {nyquist} Hz"),
            );
        }
        Ok(())
    }
}

/// One bin's kernel, conjugated and pre-scaled, over the band of FFT bins where it matters.
struct BinKernel {
    first_fft_bin: usize,
    coefficients: Vec<Complex32>,
}

/// Everything that depends on the padded length N = folded_len * hop.
struct Plan {
    folded_len: usize,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn Fft<f32>>,
    kernels: Vec<BinKernel>,
}

/// A reusable CQT analyser: plans are shared process-wide per padded length, scratch is reused.
pub struct Cqt {
    config: CqtConfig,
    /// Half of the longest kernel, rounded up to whole hops: the context a frame needs.
    margin_hops: usize,
    buffer: Vec<f32>,
    spectrum: Vec<Complex32>,
    folded: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl Cqt {
    pub fn new(config: CqtConfig) -> Result<Self, DspError> {
        config.validate()?;
        let half_longest = (config.kernel_len(0) / 2.0).ceil() as usize + 1;
        Ok(Self {
            margin_hops: half_longest.div_ceil(config.hop_len),
            config,
            buffer: Vec::new(),
            spectrum: Vec::new(),
            folded: Vec::new(),
            scratch: Vec::new(),
        })
    }

    pub fn config(&self) -> &CqtConfig {
        &self.config
    }

    /// Hops of signal a frame needs on either side (half the longest kernel, rounded up): a
    /// frame is exact once that much follows it.
    pub fn context_hops(&self) -> usize {
        self.margin_hops
    }

    /// Magnitudes (or dB), frame-major, `[frames][n_bins]`.
    pub fn compute(&mut self, signal: &[f32], scale: Scale) -> Spectrogram {
        let cfg = self.config;
        let values = self.compute_in(signal, scale, Layout::FramesByBins);
        Spectrogram {
            bins: cfg.n_bins,
            frames: cfg.frames(signal.len()),
            values,
            hop_len: cfg.hop_len,
            sample_rate_hz: cfg.sample_rate_hz,
            axis: FrequencyAxis::Log { fmin_hz: cfg.fmin_hz, bins_per_octave: cfg.bins_per_octave },
            scale,
        }
    }

    /// The same values as [`Cqt::compute`], laid out `[n_bins, frames]` (librosa's orientation,
    /// what `features` writes). Each bin's frames come out of one inverse FFT, so this layout is
    /// the natural one.
    pub fn compute_bins_by_frames(&mut self, signal: &[f32], scale: Scale) -> Vec<f32> {
        self.compute_in(signal, scale, Layout::BinsByFrames)
    }

    fn compute_in(&mut self, signal: &[f32], scale: Scale, layout: Layout) -> Vec<f32> {
        let cfg = self.config;
        let frames = cfg.frames(signal.len());
        let mut values = vec![0.0f32; frames * cfg.n_bins];
        let strides = layout.strides(cfg.n_bins, frames);
        let hop = cfg.hop_len;
        // Short clips: one block, zeros after the clip double as the padding before it (the
        // kernels of early frames wrap around into them).
        let single = (signal.len().div_ceil(hop) + self.margin_hops + 1).max(frames);
        if single <= MAX_FOLDED_LEN {
            let folded_len = next_fast_len(single);
            self.block(signal, 0, 0, 0..frames, folded_len, strides, &mut values);
        } else {
            let folded_len = MAX_FOLDED_LEN;
            let per_block = folded_len - 2 * self.margin_hops - 1;
            let mut first = 0;
            while first < frames {
                let count = per_block.min(frames - first);
                let start = first as isize * hop as isize - (self.margin_hops * hop) as isize;
                self.block(signal, start, self.margin_hops, first..first + count, folded_len, strides, &mut values);
                first += count;
            }
        }
        if scale == Scale::Db {
            db::amplitudes_to_db_in_place(&mut values);
        }
        values
    }

    /// Frames `first_hop..` (in folded-output units) of the buffer that starts at signal sample
    /// `start`; writes their magnitudes as the output's `frames`, `strides` apart (bin, frame).
    #[allow(clippy::too_many_arguments)]
    fn block(
        &mut self,
        signal: &[f32],
        start: isize,
        first_hop: usize,
        frames: std::ops::Range<usize>,
        folded_len: usize,
        (bin_stride, frame_stride): (usize, usize),
        out: &mut [f32],
    ) {
        let plan = shared_plan(&self.config, folded_len);
        let n = folded_len * self.config.hop_len;
        self.buffer.clear();
        self.buffer.resize(n, 0.0);
        let lo = start.max(0) as usize;
        let hi = ((start + n as isize).max(0) as usize).min(signal.len());
        if hi > lo {
            let offset = (lo as isize - start) as usize;
            self.buffer[offset..offset + hi - lo].copy_from_slice(&signal[lo..hi]);
        }
        self.spectrum.resize(n / 2 + 1, Complex32::ZERO);
        self.scratch
            .resize(plan.forward.get_scratch_len().max(plan.inverse.get_inplace_scratch_len()), Complex32::ZERO);
        plan.forward
            .process_with_scratch(&mut self.buffer, &mut self.spectrum, &mut self.scratch)
            .expect("buffer sizes come from the plan");
        self.folded.resize(folded_len, Complex32::ZERO);
        for (k, kernel) in plan.kernels.iter().enumerate() {
            self.folded.fill(Complex32::ZERO);
            let band = &self.spectrum[kernel.first_fft_bin..kernel.first_fft_bin + kernel.coefficients.len()];
            // Fold the band modulo folded_len, chunk by chunk so the inner loop stays contiguous.
            let mut r = kernel.first_fft_bin % folded_len;
            let mut i = 0;
            while i < band.len() {
                let run = (folded_len - r).min(band.len() - i);
                for ((z, x), g) in
                    self.folded[r..r + run].iter_mut().zip(&band[i..i + run]).zip(&kernel.coefficients[i..i + run])
                {
                    *z += x * g;
                }
                i += run;
                r = 0;
            }
            plan.inverse.process_with_scratch(&mut self.folded, &mut self.scratch);
            let folded = &self.folded[first_hop..first_hop + frames.len()];
            for (t, z) in frames.clone().zip(folded) {
                out[k * bin_stride + t * frame_stride] = z.norm();
            }
        }
    }
}

/// The plan for `config` and `folded_len`, built once and shared by every thread.
fn shared_plan(config: &CqtConfig, folded_len: usize) -> Arc<Plan> {
    static CACHE: Mutex<Vec<(CqtConfig, Arc<Plan>)>> = Mutex::new(Vec::new());
    let find = |cache: &[(CqtConfig, Arc<Plan>)]| {
        cache.iter().find(|(c, p)| c == config && p.folded_len == folded_len).map(|(_, p)| p.clone())
    };
    if let Some(plan) = find(&CACHE.lock().unwrap_or_else(|e| e.into_inner())) {
        return plan;
    }
    // Built outside the lock so other lengths are not held up; a rare duplicate build is harmless.
    let n = folded_len * config.hop_len;
    let plan = Arc::new(Plan {
        folded_len,
        forward: RealFftPlanner::new().plan_fft_forward(n),
        inverse: FftPlanner::new().plan_fft_inverse(folded_len),
        kernels: (0..config.n_bins).map(|k| bin_kernel(config, k, n)).collect(),
    });
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = find(&cache) {
        return existing;
    }
    if cache.len() >= CACHED_PLANS {
        cache.remove(0);
    }
    cache.push((*config, plan.clone()));
    plan
}

/// The conjugated DFT (length `n`) of bin `k`'s kernel, times `sqrt(L_k) / n`, over its band.
fn bin_kernel(cfg: &CqtConfig, k: usize, n: usize) -> BinKernel {
    let len = cfg.kernel_len(k);
    // librosa: np.arange(-len // 2, len // 2), a periodic Hann of that many samples.
    let first = (-len / 2.0).floor();
    let count = ((len / 2.0).floor() - first) as usize;
    let omega = 2.0 * PI * cfg.bin_hz(k) / cfg.sample_rate_hz as f64;
    let centre = omega * n as f64 / (2.0 * PI);
    // Beyond ten main-lobe widths a Hann kernel's spectrum holds far less than the 1% dropped.
    let reach = (10.0 * n as f64 / count as f64).ceil() + 2.0;
    let lo = (centre - reach).floor().max(0.0) as usize;
    let hi = ((centre + reach).ceil() as usize).min(n / 2);
    let spectrum = hann_kernel_dft_sweep(omega, first, count, lo, hi, n);
    let keep = sparsify_threshold(&spectrum, cfg.sparsity);
    let kept: Vec<usize> = (0..spectrum.len()).filter(|&i| spectrum[i].norm() >= keep).collect();
    let (a, b) = (kept[0], *kept.last().expect("the peak is always kept"));
    let scale = len.sqrt() / n as f64;
    let coefficients = (a..=b)
        .map(|i| {
            let c = spectrum[i];
            if c.norm() >= keep { (c.conj() * scale).into_c32() } else { Complex32::ZERO }
        })
        .collect();
    BinKernel { first_fft_bin: lo + a, coefficients }
}

trait IntoC32 {
    fn into_c32(self) -> Complex32;
}
impl IntoC32 for Complex64 {
    fn into_c32(self) -> Complex32 {
        Complex32::new(self.re as f32, self.im as f32)
    }
}

/// DTFT at `freq` (rad/sample) of `b[m] = w[m] e^{i omega n} / sum(w)`, `n = first + m`,
/// `w` the periodic Hann of `count` samples; closed form of the three Dirichlet kernels.
pub(crate) fn hann_kernel_dft(omega: f64, first: f64, count: usize, freq: f64) -> Complex64 {
    let m = count as f64;
    let mut theta = freq - omega;
    // The closed form is 0/0 exactly on a kernel zero or peak; step aside by a negligible amount.
    let step = PI / m;
    for _ in 0..3 {
        let near = |d: f64| (d / 2.0).sin().abs() < 1e-9;
        if near(theta) || near(theta - 2.0 * step) || near(theta + 2.0 * step) {
            theta += 1e-7 / m;
        }
    }
    // sum_m e^{-i phi m} = e^{-i phi (M-1)/2} sin(M phi/2) / sin(phi/2); the three share sin(M theta/2)
    // up to sign, since shifting phi by 2 pi / M shifts M phi/2 by pi.
    let dirichlet = |phi: f64| {
        let ratio = (m * phi / 2.0).sin() / (phi / 2.0).sin();
        Complex64::from_polar(ratio, -phi * (m - 1.0) / 2.0)
    };
    let sum = dirichlet(theta) * 0.5 - dirichlet(theta - 2.0 * step) * 0.25 - dirichlet(theta + 2.0 * step) * 0.25;
    // Sum of a periodic Hann window of M samples is M/2.
    sum * Complex64::from_polar(2.0 / m, -theta * first)
}

/// [`hann_kernel_dft`] at the DFT frequencies `lo..=hi` of an `n`-point transform, advancing the
/// three oscillating factors by complex rotation instead of calling sin/cos per point; points
/// next to the closed form's 0/0 fall back to it.
fn hann_kernel_dft_sweep(omega: f64, first: f64, count: usize, lo: usize, hi: usize, n: usize) -> Vec<Complex64> {
    let m = count as f64;
    let step = 2.0 * PI / n as f64;
    let theta0 = step * lo as f64 - omega;
    // sum_m w_m e^{-i theta m} = e^{-i theta (M-1)/2} sin(M theta/2) [1/2 / sin(theta/2)
    //   + 1/4 e^{i pi (M-1)/M} / sin(theta/2 - pi/M) + 1/4 e^{-i pi (M-1)/M} / sin(theta/2 + pi/M)]
    let shift = Complex64::from_polar(1.0, PI * (m - 1.0) / m);
    let (pi_m_sin, pi_m_cos) = (PI / m).sin_cos();
    let phase_rate = (m - 1.0) / 2.0 + first;
    let mut z_m = Complex64::from_polar(1.0, m * theta0 / 2.0);
    let mut z_half = Complex64::from_polar(1.0, theta0 / 2.0);
    let mut z_phase = Complex64::from_polar(2.0 / m, -theta0 * phase_rate);
    let r_m = Complex64::from_polar(1.0, m * step / 2.0);
    let r_half = Complex64::from_polar(1.0, step / 2.0);
    let r_phase = Complex64::from_polar(1.0, -step * phase_rate);
    let mut out = Vec::with_capacity(hi + 1 - lo);
    for f in lo..=hi {
        let (sin_half, cos_half) = (z_half.im, z_half.re);
        let sin_minus = sin_half * pi_m_cos - cos_half * pi_m_sin;
        let sin_plus = sin_half * pi_m_cos + cos_half * pi_m_sin;
        if sin_half.abs() < 1e-6 || sin_minus.abs() < 1e-6 || sin_plus.abs() < 1e-6 {
            out.push(hann_kernel_dft(omega, first, count, step * f as f64));
        } else {
            let bracket =
                Complex64::new(0.5 / sin_half, 0.0) + shift * (0.25 / sin_minus) + shift.conj() * (0.25 / sin_plus);
            out.push(z_phase * bracket * z_m.im);
        }
        z_m *= r_m;
        z_half *= r_half;
        z_phase *= r_phase;
    }
    out
}

/// librosa's `sparsify_rows` threshold: the magnitude below which coefficients summing to
/// `quantile` of the L1 norm are dropped.
fn sparsify_threshold(row: &[Complex64], quantile: f64) -> f64 {
    let mut mags: Vec<f64> = row.iter().map(|c| c.norm()).collect();
    mags.sort_by(f64::total_cmp);
    let total: f64 = mags.iter().sum();
    let mut cumulative = 0.0;
    for &m in &mags {
        cumulative += m / total;
        if cumulative >= quantile {
            return m;
        }
    }
    mags.last().copied().unwrap_or(0.0)
}

/// Smallest n' >= n whose only prime factors are 2, 3 and 5 (fast for rustfft).
pub fn next_fast_len(n: usize) -> usize {
    let mut candidate = n.max(1);
    loop {
        let mut r = candidate;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return candidate;
        }
        candidate += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_kernel_spectrum_matches_a_direct_sum() {
        let cfg = CqtConfig::default();
        for k in [0, 300, 700, 760] {
            let len = cfg.kernel_len(k);
            let first = (-len / 2.0).floor();
            let count = ((len / 2.0).floor() - first) as usize;
            let omega = 2.0 * PI * cfg.bin_hz(k) / cfg.sample_rate_hz as f64;
            for freq in [
                omega,
                omega + 0.5 * PI / count as f64,
                omega - 3.3 * PI / count as f64,
                omega + 4.0 * PI / count as f64,
            ] {
                let direct: Complex64 = (0..count)
                    .map(|j| {
                        let w = 0.5 - 0.5 * (2.0 * PI * j as f64 / count as f64).cos();
                        let n = first + j as f64;
                        Complex64::from_polar(w / (count as f64 / 2.0), (omega - freq) * n)
                    })
                    .sum();
                let closed = hann_kernel_dft(omega, first, count, freq);
                assert!((direct - closed).norm() < 1e-6, "bin {k}: {direct} vs {closed}");
            }
        }
    }

    #[test]
    fn swept_kernel_spectrum_matches_the_closed_form() {
        let cfg = CqtConfig::default();
        let n = 98_304;
        for k in [0, 96, 401, 760] {
            let len = cfg.kernel_len(k);
            let first = (-len / 2.0).floor();
            let count = ((len / 2.0).floor() - first) as usize;
            let omega = 2.0 * PI * cfg.bin_hz(k) / cfg.sample_rate_hz as f64;
            let centre = (omega * n as f64 / (2.0 * PI)) as usize;
            let (lo, hi) = (centre.saturating_sub(3000), (centre + 3000).min(n / 2));
            let swept = hann_kernel_dft_sweep(omega, first, count, lo, hi, n);
            for (i, f) in (lo..=hi).enumerate() {
                let closed = hann_kernel_dft(omega, first, count, 2.0 * PI * f as f64 / n as f64);
                // Thousands of rotations accumulate ~1e-13 of phase error; the kernel peaks at 1.
                assert!((swept[i] - closed).norm() < 1e-9, "bin {k} f {f}: {} vs {closed}", swept[i]);
            }
        }
    }

    #[test]
    fn fast_lengths() {
        assert_eq!(next_fast_len(384), 384);
        assert_eq!(next_fast_len(517), 540);
        assert_eq!(next_fast_len(7), 8);
    }

    #[test]
    fn bins_by_frames_is_the_transposition_of_compute() {
        let config = CqtConfig { n_bins: 200, ..CqtConfig::default() };
        let mut cqt = Cqt::new(config).unwrap();
        // One block, and a clip long enough for several.
        for len in [3000, 16_000 * 80] {
            let x: Vec<f32> = (0..len).map(|n| ((n as f32) * 0.05).sin() * ((n % 97) as f32 * 0.01)).collect();
            assert_eq!(cqt.compute_bins_by_frames(&x, Scale::Db), cqt.compute(&x, Scale::Db).to_bins_by_frames());
        }
    }

    #[test]
    fn rejects_bins_above_nyquist() {
        let cfg = CqtConfig { n_bins: 800, ..Default::default() };
        assert!(Cqt::new(cfg).is_err());
        assert!(Cqt::new(CqtConfig::default()).is_ok());
    }
}
