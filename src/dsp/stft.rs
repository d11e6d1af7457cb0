//! Short-time Fourier transform with librosa's conventions (periodic Hann, centred, zero padded).

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{RealFftPlanner, RealToComplex};

use super::batch_fft::BatchRealFft;
#[cfg(target_arch = "x86_64")]
use super::batch_fft::{LANES, Lanes};
use super::spectrogram::Layout;
use super::{DspError, FrequencyAxis, Scale, Spectrogram, db};
use crate::audio::ANALYSIS_RATE_HZ;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StftConfig {
    pub n_fft: usize,
    pub hop_len: usize,
    pub sample_rate_hz: u32,
}

impl Default for StftConfig {
    /// The design's STFT: 1024-sample Hann window, hop 256, at 16 kHz.
    fn default() -> Self {
        Self { n_fft: 1024, hop_len: 256, sample_rate_hz: ANALYSIS_RATE_HZ }
    }
}

impl StftConfig {
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// librosa's frame count with center=True: 1 + len / hop.
    pub fn frames(&self, signal_len: usize) -> usize {
        1 + signal_len / self.hop_len
    }

    fn validate(&self) -> Result<(), DspError> {
        if self.n_fft < 2 || !self.n_fft.is_multiple_of(2) {
            return Err(DspError::Parameter {
                name: "n_fft",
                message: format!("must be even and >= 2, got {}", self.n_fft),
            });
        }
        if self.hop_len == 0 {
            return Err(DspError::Parameter { name: "hop_len", message: "must be > 0".into() });
        }
        Ok(())
    }
}

/// A reusable STFT: plan, window and scratch are built once.
pub struct Stft {
    config: StftConfig,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    /// Eight frames per pass; only for power-of-two sizes on CPUs with AVX2 and FMA.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    batch: Option<BatchRealFft>,
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
    /// The batched path's buffers, kept between calls: fresh ones cost page faults and zeroing.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    batch_scratch: BatchScratch,
}

/// Buffers of the batched path: an end batch's zero-padded samples, the FFT's halves and the
/// power spectra.
#[derive(Default)]
struct BatchScratch {
    padded: Vec<f32>,
    #[cfg(target_arch = "x86_64")]
    re: Vec<Lanes>,
    #[cfg(target_arch = "x86_64")]
    im: Vec<Lanes>,
    #[cfg(target_arch = "x86_64")]
    power: Vec<Lanes>,
}

impl Stft {
    pub fn new(config: StftConfig) -> Result<Self, DspError> {
        config.validate()?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(config.n_fft);
        Ok(Self {
            window: periodic_hann(config.n_fft),
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            batch: config.n_fft.is_power_of_two().then(|| BatchRealFft::new(config.n_fft)),
            batch_scratch: BatchScratch::default(),
            config,
        })
    }

    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// Magnitudes |X| (or their dB when `scale` is [`Scale::Db`]), frame-major.
    pub fn compute(&mut self, signal: &[f32], scale: Scale) -> Spectrogram {
        let frames = self.config.frames(signal.len());
        match self.compute_batched(signal, scale, Layout::FramesByBins) {
            Some(values) => self.spectrogram(frames, values, scale),
            // Elsewhere rustfft's own SIMD paths, one frame at a time, are the faster choice.
            None => self.compute_per_frame(signal, scale),
        }
    }

    /// The same values as [`Stft::compute`], laid out `[bins, frames]` (librosa's orientation,
    /// what `features` writes): the batched path writes each bin's eight frames side by side, so
    /// the transposition costs nothing.
    pub fn compute_bins_by_frames(&mut self, signal: &[f32], scale: Scale) -> Vec<f32> {
        match self.compute_batched(signal, scale, Layout::BinsByFrames) {
            Some(values) => values,
            None => self.compute_per_frame(signal, scale).to_bins_by_frames(),
        }
    }

    /// The AVX2 path, where the CPU and the size allow it.
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
    fn compute_batched(&mut self, signal: &[f32], scale: Scale, layout: Layout) -> Option<Vec<f32>> {
        #[cfg(target_arch = "x86_64")]
        if let Some(batch) = &self.batch
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            let len = self.config.bins() * self.config.frames(signal.len());
            // Every value is written once below; zeroing them first took 4% of the STFT.
            let mut values = Vec::with_capacity(len);
            let scratch = &mut self.batch_scratch;
            // SAFETY: the CPU has the features the function is compiled for.
            unsafe {
                batched_avx2(
                    batch,
                    &self.config,
                    &self.window,
                    signal,
                    scale,
                    layout,
                    scratch,
                    values.spare_capacity_mut(),
                )
            };
            // SAFETY: `batched_avx2` wrote all `len` values: every frame's every bin.
            unsafe { values.set_len(len) };
            return Some(values);
        }
        None
    }

    /// One frame at a time through realfft: the reference the batched path is tested against,
    /// and the path for sizes that are not powers of two.
    pub fn compute_per_frame(&mut self, signal: &[f32], scale: Scale) -> Spectrogram {
        let bins = self.config.bins();
        let frames = self.config.frames(signal.len());
        let mut values = vec![0.0; bins * frames];
        for (t, out) in values.chunks_exact_mut(bins).enumerate() {
            self.fill_frame(signal, t * self.config.hop_len);
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
                .expect("buffer sizes come from the plan");
            match scale {
                Scale::Db => {
                    for (o, c) in out.iter_mut().zip(&self.spectrum) {
                        *o = db::power_to_db_fast(c.norm_sqr());
                    }
                }
                Scale::Linear => {
                    for (o, c) in out.iter_mut().zip(&self.spectrum) {
                        *o = c.norm_sqr().sqrt();
                    }
                }
            }
        }
        self.spectrogram(frames, values, scale)
    }

    fn spectrogram(&self, frames: usize, values: Vec<f32>, scale: Scale) -> Spectrogram {
        Spectrogram {
            bins: self.config.bins(),
            frames,
            values,
            hop_len: self.config.hop_len,
            sample_rate_hz: self.config.sample_rate_hz,
            axis: FrequencyAxis::Linear { n_fft: self.config.n_fft },
            scale,
        }
    }

    /// Windowed frame centred on `centre`, zeros outside the signal (librosa's constant padding).
    fn fill_frame(&mut self, signal: &[f32], centre: usize) {
        let n = self.config.n_fft;
        let start = centre as isize - (n / 2) as isize;
        let lo = (-start).clamp(0, n as isize) as usize;
        let hi = (signal.len() as isize - start).clamp(0, n as isize) as usize;
        self.frame[..lo].fill(0.0);
        if hi > lo {
            let src = &signal[(start + lo as isize) as usize..(start + hi as isize) as usize];
            for ((o, &s), &w) in self.frame[lo..hi].iter_mut().zip(src).zip(&self.window[lo..hi]) {
                *o = s * w;
            }
        }
        self.frame[hi.max(lo)..].fill(0.0);
    }
}

/// Eight frames per FFT pass, compiled for AVX2 and FMA (the FFT's arithmetic inlines here).
/// Writes every one of `out`'s `bins * frames` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
fn batched_avx2(
    fft: &BatchRealFft,
    cfg: &StftConfig,
    window: &[f32],
    signal: &[f32],
    scale: Scale,
    layout: Layout,
    scratch: &mut BatchScratch,
    out: &mut [std::mem::MaybeUninit<f32>],
) {
    let (n, hop, bins) = (cfg.n_fft, cfg.hop_len, cfg.bins());
    let frames = cfg.frames(signal.len());
    assert_eq!(out.len(), bins * frames);
    let batches = frames.div_ceil(LANES);
    // A batch's eight frames span this many samples. Frames are centred, with zeros beyond the
    // signal: a batch wholly inside it reads the signal where it lies, and only the batches at
    // the ends are copied into a zero-padded buffer (copying the whole signal took 5%).
    let span = (LANES - 1) * hop + n;
    for buffer in [&mut scratch.re, &mut scratch.im] {
        buffer.resize(n / 2, Lanes::default());
    }
    scratch.power.resize(bins, Lanes::default());
    let (edge, re, im, power) = (&mut scratch.padded, &mut scratch.re, &mut scratch.im, &mut scratch.power);
    for b in 0..batches {
        let first = b * LANES;
        // Where the batch's first frame starts in the signal (negative before it).
        let start = (first * hop) as isize - (n / 2) as isize;
        if start >= 0 && start as usize + span <= signal.len() {
            fft.power_spectra(signal, start as usize, hop, window, re, im, power);
        } else {
            edge.clear();
            edge.resize(span, 0.0);
            let (from, to) = (start.max(0), (start + span as isize).min(signal.len() as isize));
            if to > from {
                let at = (from - start) as usize;
                edge[at..at + (to - from) as usize].copy_from_slice(&signal[from as usize..to as usize]);
            }
            fft.power_spectra(edge, 0, hop, window, re, im, power);
        }
        // Convert in place, eight frames per instruction, then copy each frame's row out whole.
        for p in power.iter_mut() {
            p.0 = match scale {
                Scale::Db => std::array::from_fn(|l| db::power_to_db_fused(p.0[l])),
                Scale::Linear => std::array::from_fn(|l| p.0[l].sqrt()),
            };
        }
        let lanes = LANES.min(frames - first);
        match layout {
            Layout::FramesByBins => {
                for (l, row) in out[first * bins..(first + lanes) * bins].chunks_exact_mut(bins).enumerate() {
                    for (o, p) in row.iter_mut().zip(power.iter()) {
                        o.write(p.0[l]);
                    }
                }
            }
            Layout::BinsByFrames => {
                for (row, p) in out.chunks_exact_mut(frames).zip(power.iter()) {
                    for (o, &v) in row[first..first + lanes].iter_mut().zip(&p.0[..lanes]) {
                        o.write(v);
                    }
                }
            }
        }
    }
}

/// Periodic ("fftbins") Hann window, as scipy.signal.get_window('hann', n) returns it.
pub fn periodic_hann(n: usize) -> Vec<f32> {
    (0..n).map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq_hz: f64, amplitude: f64, len: usize) -> Vec<f32> {
        (0..len)
            .map(|n| (amplitude * (2.0 * std::f64::consts::PI * freq_hz * n as f64 / 16_000.0).sin()) as f32)
            .collect()
    }

    #[test]
    fn tone_peaks_in_its_bin_with_the_hann_gain() {
        // 1000 Hz is exactly bin 64 of a 1024-point FFT at 16 kHz.
        let x = sine(1000.0, 0.5, 16_000);
        let spec = Stft::new(StftConfig::default()).unwrap().compute(&x, Scale::Linear);
        assert_eq!(spec.bins, 513);
        assert_eq!(spec.frames, 1 + 16_000 / 256);
        let frame = spec.frame(30);
        let peak = (0..spec.bins).max_by(|&a, &b| frame[a].total_cmp(&frame[b])).unwrap();
        assert_eq!(peak, 64);
        // A sine of amplitude A under a Hann window of length N peaks at A * N / 4.
        let expected = 0.5 * 1024.0 / 4.0;
        assert!((frame[64] - expected).abs() / expected < 1e-4, "{}", frame[64]);
    }

    #[test]
    fn db_scale_is_the_log_of_linear() {
        let x = sine(440.0, 0.3, 4000);
        let mut stft = Stft::new(StftConfig::default()).unwrap();
        let lin = stft.compute(&x, Scale::Linear);
        let logs = stft.compute(&x, Scale::Db);
        for (a, b) in lin.values.iter().zip(&logs.values) {
            assert!((db::amplitude_to_db(*a) - b).abs() < 2e-4);
        }
    }

    #[test]
    fn batched_path_matches_per_frame_realfft() {
        // Lengths that leave 0..7 frames in the last batch, and the dB scale.
        let mut stft = Stft::new(StftConfig::default()).unwrap();
        for len in [0, 1, 255, 4000, 16_000, 16_123] {
            let x: Vec<f32> = (0..len).map(|n| ((n as f32) * 0.01).sin() * (1.0 + (n % 7) as f32 * 0.1)).collect();
            for scale in [Scale::Linear, Scale::Db] {
                let fast = stft.compute(&x, scale);
                let slow = stft.compute_per_frame(&x, scale);
                assert_eq!((fast.bins, fast.frames), (slow.bins, slow.frames));
                let linear = |v: f32| if scale == Scale::Db { 10f32.powf(v / 20.0) } else { v };
                for t in 0..fast.frames {
                    let max = slow.frame(t).iter().map(|&v| linear(v)).fold(1e-5f32, f32::max);
                    for (a, b) in fast.frame(t).iter().zip(slow.frame(t)) {
                        // Two f32 FFTs differ by rounding: far below the 1e-4-of-the-maximum contract.
                        assert!((linear(*a) - linear(*b)).abs() <= 1e-5 * max, "len {len} frame {t}: {a} vs {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn bins_by_frames_is_the_transposition_of_compute() {
        let mut stft = Stft::new(StftConfig::default()).unwrap();
        for len in [0, 300, 16_123] {
            let x: Vec<f32> = (0..len).map(|n| ((n as f32) * 0.02).sin()).collect();
            for scale in [Scale::Linear, Scale::Db] {
                assert_eq!(stft.compute_bins_by_frames(&x, scale), stft.compute(&x, scale).to_bins_by_frames());
            }
        }
    }

    #[test]
    fn short_and_empty_signals_give_well_formed_output() {
        let mut stft = Stft::new(StftConfig::default()).unwrap();
        assert_eq!(stft.compute(&[], Scale::Db).frames, 1);
        let one = stft.compute(&[1.0], Scale::Linear);
        // A unit impulse at the frame centre: the window there is 1, so every bin has magnitude 1.
        assert!(one.frame(0).iter().all(|&v| (v - 1.0).abs() < 1e-6));
        assert!(Stft::new(StftConfig { n_fft: 1023, ..Default::default() }).is_err());
    }
}
