//! Real FFTs of eight frames at once, one frame per SIMD lane.
//!
//! rustfft vectorises within one transform; with only 1024 points most of its time goes to
//! shuffles. Laying eight frames side by side (structure of arrays) makes every butterfly plain
//! element-wise arithmetic on `[f32; 8]`, which the compiler turns into AVX instructions.
//! The arithmetic uses `mul_add`: callers compile it with FMA enabled (see `dsp::stft`); without
//! FMA hardware `mul_add` is a slow library call, so only FMA machines take this path.

use std::f64::consts::PI;

pub const LANES: usize = 8;

/// Eight values, one per frame.
#[derive(Clone, Copy, Default)]
#[repr(C, align(32))]
pub struct Lanes(pub [f32; LANES]);

/// Plan for an `n`-point real FFT (n a power of two, at least 4) of eight frames at a time.
pub struct BatchRealFft {
    n: usize,
    /// Bit-reversal permutation of the n/2-point complex transform.
    bitrev: Vec<u32>,
    /// Twiddles e^{-2 pi i j / s} for every stage size s, concatenated (s/2 per stage).
    twiddles: Vec<(f32, f32)>,
    /// e^{-2 pi i k / n} for the real-FFT split, k = 0..=n/2.
    split: Vec<(f32, f32)>,
}

impl BatchRealFft {
    pub fn new(n: usize) -> Self {
        assert!(n >= 4 && n.is_power_of_two(), "batch FFT size must be a power of two >= 4, got {n}");
        let m = n / 2;
        let bits = m.trailing_zeros();
        let bitrev = (0..m as u32).map(|i| if bits == 0 { 0 } else { i.reverse_bits() >> (32 - bits) }).collect();
        let mut twiddles = Vec::with_capacity(m);
        let mut size = 2;
        while size <= m {
            for j in 0..size / 2 {
                let a = -2.0 * PI * j as f64 / size as f64;
                twiddles.push((a.cos() as f32, a.sin() as f32));
            }
            size *= 2;
        }
        let split = (0..=m)
            .map(|k| {
                let a = -2.0 * PI * k as f64 / n as f64;
                (a.cos() as f32, a.sin() as f32)
            })
            .collect();
        Self { n, bitrev, twiddles, split }
    }

    /// Squared magnitudes |X_k|^2, k = 0..=n/2, of eight windowed real frames: frame `l` is
    /// `signal[start + l * stride..][..n]` times `window`. `re`/`im` are scratch of n/2 entries;
    /// `power` receives n/2 + 1 entries.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn power_spectra(
        &self,
        signal: &[f32],
        start: usize,
        stride: usize,
        window: &[f32],
        re: &mut [Lanes],
        im: &mut [Lanes],
        power: &mut [Lanes],
    ) {
        let m = self.n / 2;
        let frames: [&[f32]; LANES] = std::array::from_fn(|l| &signal[start + l * stride..][..self.n]);
        let window = &window[..self.n];
        // Even samples as the real part, odd as the imaginary part, in bit-reversed order.
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX; `frames` holds each lane's n samples.
            unsafe { self.load_transposed(&frames, window, re, im) };
        } else {
            self.load(&frames, window, re, im);
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.load(&frames, window, re, im);
        // Stages in pairs: the butterflies of stage `size` and `2 size` on four points at once,
        // the same arithmetic as one stage at a time with half the passes over memory.
        let mut size = 2;
        while 2 * size <= m {
            let half = size / 2;
            let (tw1, tw2) = (&self.twiddles[half - 1..size - 1], &self.twiddles[size - 1..2 * size - 1]);
            for start in (0..m).step_by(2 * size) {
                for (j, &w1) in tw1.iter().enumerate() {
                    let (a, b, c, d) = (start + j, start + j + half, start + j + size, start + j + size + half);
                    // Whole-array loads, arithmetic and stores: the shape the vectoriser maps to
                    // one AVX register per array.
                    let (ar, ai, br, bi) = butterfly(re[a].0, im[a].0, re[b].0, im[b].0, w1);
                    let (cr, ci, dr, di) = butterfly(re[c].0, im[c].0, re[d].0, im[d].0, w1);
                    let (ar, ai, cr, ci) = butterfly(ar, ai, cr, ci, tw2[j]);
                    let (br, bi, dr, di) = butterfly(br, bi, dr, di, tw2[j + half]);
                    (re[a].0, im[a].0, re[b].0, im[b].0) = (ar, ai, br, bi);
                    (re[c].0, im[c].0, re[d].0, im[d].0) = (cr, ci, dr, di);
                }
            }
            size *= 4;
        }
        // An odd number of stages leaves the last one alone.
        if size <= m {
            let half = size / 2;
            let tw = &self.twiddles[half - 1..size - 1];
            for (j, &w) in tw.iter().enumerate() {
                let (a, b) = (j, j + half);
                let (ar, ai, br, bi) = butterfly(re[a].0, im[a].0, re[b].0, im[b].0, w);
                (re[a].0, im[a].0, re[b].0, im[b].0) = (ar, ai, br, bi);
            }
        }
        // X_k = (Z_k + conj Z_{m-k}) / 2 - i e^{-2 pi i k/n} (Z_k - conj Z_{m-k}) / 2.
        for (k, (&(wr, wi), out)) in self.split.iter().zip(power.iter_mut()).enumerate() {
            // Indices modulo m without a division: only k = 0 and k = m wrap.
            let zk = if k == m { 0 } else { k };
            let zm = if k == 0 { 0 } else { m - k };
            let (zr, zi, yr, yi) = (re[zk].0, im[zk].0, re[zm].0, im[zm].0);
            out.0 = std::array::from_fn(|l| {
                let er = 0.5 * (zr[l] + yr[l]);
                let ei = 0.5 * (zi[l] - yi[l]);
                let or = 0.5 * (zi[l] + yi[l]);
                let oi = -0.5 * (zr[l] - yr[l]);
                let xr = wr.mul_add(or, (-wi).mul_add(oi, er));
                let xi = wr.mul_add(oi, wi.mul_add(or, ei));
                xr.mul_add(xr, xi * xi)
            });
        }
    }
}

impl BatchRealFft {
    /// The windowed frames into `re` (even samples) and `im` (odd), bit-reversed, one lane per
    /// frame, a value at a time: the portable path, and the oracle of [`Self::load_transposed`].
    #[inline(always)]
    fn load(&self, frames: &[&[f32]; LANES], window: &[f32], re: &mut [Lanes], im: &mut [Lanes]) {
        for (i, &r) in self.bitrev.iter().enumerate() {
            let (we, wo) = (window[2 * i], window[2 * i + 1]);
            re[r as usize] = Lanes(std::array::from_fn(|l| frames[l][2 * i] * we));
            im[r as usize] = Lanes(std::array::from_fn(|l| frames[l][2 * i + 1] * wo));
        }
    }

    /// As [`Self::load`], eight samples of the eight frames at a time: eight loads and an 8x8
    /// transposition in registers, where the value-at-a-time path did 64 scalar loads. The
    /// gather was a fifth of the STFT's time.
    ///
    /// # Safety
    /// The CPU must have AVX.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load_transposed(&self, frames: &[&[f32]; LANES], window: &[f32], re: &mut [Lanes], im: &mut [Lanes]) {
        use std::arch::x86_64::*;
        assert!(self.n.is_multiple_of(8) && frames.iter().all(|f| f.len() >= self.n) && window.len() >= self.n);
        for k in (0..self.n).step_by(8) {
            // SAFETY: k + 8 <= n <= each frame's length (asserted); AVX is the caller's promise.
            // The eight loads are written out: inside a closure (`array::from_fn`) the intrinsic
            // is not inlined, and the calls took a tenth of the STFT.
            let columns = unsafe {
                let row = |l: usize| frames[l].as_ptr().add(k);
                transpose8([
                    _mm256_loadu_ps(row(0)),
                    _mm256_loadu_ps(row(1)),
                    _mm256_loadu_ps(row(2)),
                    _mm256_loadu_ps(row(3)),
                    _mm256_loadu_ps(row(4)),
                    _mm256_loadu_ps(row(5)),
                    _mm256_loadu_ps(row(6)),
                    _mm256_loadu_ps(row(7)),
                ])
            };
            for (j, column) in columns.into_iter().enumerate() {
                let i = (k + j) / 2;
                let target =
                    if j % 2 == 0 { &mut re[self.bitrev[i] as usize] } else { &mut im[self.bitrev[i] as usize] };
                // SAFETY: `Lanes` is 32-byte aligned and holds eight f32.
                unsafe { _mm256_store_ps(target.0.as_mut_ptr(), _mm256_mul_ps(column, _mm256_set1_ps(window[k + j]))) };
            }
        }
    }
}

/// Rows `r[0..8]` of eight values to the eight columns: `out[j]` holds `r[0][j], ..., r[7][j]`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose8(r: [std::arch::x86_64::__m256; 8]) -> [std::arch::x86_64::__m256; 8] {
    use std::arch::x86_64::*;
    // SAFETY: register shuffles only; the caller promises AVX.
    unsafe {
        let (t0, t1) = (_mm256_unpacklo_ps(r[0], r[1]), _mm256_unpackhi_ps(r[0], r[1]));
        let (t2, t3) = (_mm256_unpacklo_ps(r[2], r[3]), _mm256_unpackhi_ps(r[2], r[3]));
        let (t4, t5) = (_mm256_unpacklo_ps(r[4], r[5]), _mm256_unpackhi_ps(r[4], r[5]));
        let (t6, t7) = (_mm256_unpacklo_ps(r[6], r[7]), _mm256_unpackhi_ps(r[6], r[7]));
        let (s0, s1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
        let (s2, s3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
        let (s4, s5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
        let (s6, s7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
        [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ]
    }
}

type Quad = ([f32; LANES], [f32; LANES], [f32; LANES], [f32; LANES]);

/// One radix-2 butterfly on eight lanes: (a + w b, a - w b).
#[inline(always)]
fn butterfly(ar: [f32; LANES], ai: [f32; LANES], br: [f32; LANES], bi: [f32; LANES], w: (f32, f32)) -> Quad {
    let (wr, wi) = w;
    let tr: [f32; LANES] = std::array::from_fn(|l| br[l].mul_add(wr, -(bi[l] * wi)));
    let ti: [f32; LANES] = std::array::from_fn(|l| br[l].mul_add(wi, bi[l] * wr));
    (
        std::array::from_fn(|l| ar[l] + tr[l]),
        std::array::from_fn(|l| ai[l] + ti[l]),
        std::array::from_fn(|l| ar[l] - tr[l]),
        std::array::from_fn(|l| ai[l] - ti[l]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_transposed_load_is_exactly_the_value_at_a_time_one() {
        if !std::arch::is_x86_feature_detected!("avx") {
            return;
        }
        let n = 64;
        let fft = BatchRealFft::new(n);
        let samples: Vec<f32> = (0..n + 7 * 5).map(|i| (i as f32 * 0.37).sin() + i as f32 * 0.01).collect();
        let window: Vec<f32> = (0..n).map(|i| 0.5 + i as f32 / n as f32).collect();
        let frames: [&[f32]; LANES] = std::array::from_fn(|l| &samples[l * 5..][..n]);
        let (mut re, mut im) = (vec![Lanes::default(); n / 2], vec![Lanes::default(); n / 2]);
        let (mut re2, mut im2) = (vec![Lanes::default(); n / 2], vec![Lanes::default(); n / 2]);
        fft.load(&frames, &window, &mut re, &mut im);
        // SAFETY: AVX was detected above.
        unsafe { fft.load_transposed(&frames, &window, &mut re2, &mut im2) };
        for k in 0..n / 2 {
            assert_eq!((re[k].0, im[k].0), (re2[k].0, im2[k].0), "entry {k}");
        }
    }

    #[test]
    fn matches_a_direct_dft() {
        // 64 points: a 32-point complex transform, five stages (two pairs and one alone); 128:
        // six stages, in pairs only.
        for n in [64, 128] {
            direct_dft_check(n);
        }
    }

    fn direct_dft_check(n: usize) {
        let fft = BatchRealFft::new(n);
        // Eight overlapping frames (stride 5) of one signal, under a ramp window.
        let stride = 5;
        let samples: Vec<f32> = (0..n + 7 * stride).map(|i| (i as f32 * 0.37).sin() + 0.001 * (i * i) as f32).collect();
        let window: Vec<f32> = (0..n).map(|i| 0.5 + i as f32 / n as f32).collect();
        let signal = |lane: usize, i: usize| samples[lane * stride + i] * window[i];
        let mut re = vec![Lanes::default(); n / 2];
        let mut im = vec![Lanes::default(); n / 2];
        let mut power = vec![Lanes::default(); n / 2 + 1];
        fft.power_spectra(&samples, 0, stride, &window, &mut re, &mut im, &mut power);
        for lane in 0..LANES {
            for (k, p) in power.iter().enumerate() {
                let (mut xr, mut xi) = (0.0f64, 0.0f64);
                for i in 0..n {
                    let a = -2.0 * PI * (k * i) as f64 / n as f64;
                    xr += signal(lane, i) as f64 * a.cos();
                    xi += signal(lane, i) as f64 * a.sin();
                }
                let expected = xr * xr + xi * xi;
                let got = p.0[lane] as f64;
                assert!((got - expected).abs() <= 1e-4 * expected.max(1.0), "lane {lane} bin {k}: {got} vs {expected}");
            }
        }
    }
}
