//! Sample-rate conversion of mono audio, whole or streamed, with rubato's FFT resampler.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Highest rate accepted on either side. Rates with no common factor with the other side make
/// rubato's FFT as long as the rate itself, so an absurd header rate would mean an absurd FFT.
pub const MAX_RATE_HZ: u32 = 1_536_000;

/// Lowest rate accepted on either side. No audio format in use records below 1 kHz, and a header
/// claiming 1 Hz, upsampled 16,000 times, made rubato build FFTs millions of points long for a
/// few hundred bytes of file (found by fuzzing: seconds, and gigabytes touched).
pub const MIN_RATE_HZ: u32 = 1_000;

/// Input frames per FFT block (rounded up by rubato to fit the rate ratio). About 2k input frames
/// keeps the anti-aliasing transition band narrow; the delay it adds is trimmed anyway.
const CHUNK_FRAMES: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("sample rate {rate_hz} Hz is outside the supported range {MIN_RATE_HZ} Hz to {MAX_RATE_HZ} Hz")]
    UnsupportedRate { rate_hz: u32 },
    #[error("resampler failed: {detail}")]
    Engine { detail: String },
}

/// Resamples a whole mono signal; the output has `round(len * to_hz / from_hz)` samples and is
/// aligned in time with the input (the resampler's delay is removed). Identity when rates match.
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, ResampleError> {
    let mut stream = StreamResampler::new(from_hz, to_hz)?;
    stream.push(samples)?;
    stream.finish()
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Number of output samples a signal of `frames_in` samples becomes, rounded to nearest.
pub fn resampled_len(frames_in: u64, from_hz: u32, to_hz: u32) -> u64 {
    let num = frames_in as u128 * to_hz as u128;
    let den = from_hz.max(1) as u128;
    ((2 * num + den) / (2 * den)) as u64
}

/// Mono resampler fed in pieces of any size, so a long file never has to sit in memory at its
/// original rate. Output accumulates inside and is returned, trimmed to length, by `finish`.
pub struct StreamResampler {
    from_hz: u32,
    to_hz: u32,
    frames_in: u64,
    output: Vec<f32>,
    /// `None` when the rates are equal: samples pass through untouched.
    engine: Option<Engine>,
}

struct Engine {
    fft: Fft<f32>,
    /// Input not yet handed to the resampler (less than one chunk after each `push`).
    pending: Vec<f32>,
    scratch_out: Vec<f32>,
    /// Leading output samples that are the resampler's delay, still to be dropped.
    delay_left: usize,
}

impl StreamResampler {
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        for rate_hz in [from_hz, to_hz] {
            if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate_hz) {
                return Err(ResampleError::UnsupportedRate { rate_hz });
            }
        }
        let engine = if from_hz == to_hz {
            None
        } else {
            // rubato's filter is centred on sample `fft_size / 2` (rounded down) while the delay
            // it reports is `fft_size_out / 2`; both FFT sizes even makes the two agree exactly,
            // otherwise the output lags or leads by up to one input sample. The sizes are
            // multiples of the smallest block that fits the ratio, so an even multiple is needed.
            let min_block_in = (from_hz / gcd(from_hz, to_hz)) as usize;
            let chunk_frames = CHUNK_FRAMES.div_ceil(2 * min_block_in) * 2 * min_block_in;
            let fft = Fft::<f32>::new(from_hz as usize, to_hz as usize, chunk_frames, 1, FixedSync::Both)
                .map_err(|e| ResampleError::Engine { detail: e.to_string() })?;
            Some(Engine {
                pending: Vec::with_capacity(2 * fft.input_frames_max()),
                scratch_out: vec![0.0; fft.output_frames_max()],
                delay_left: fft.output_delay(),
                fft,
            })
        };
        Ok(Self { from_hz, to_hz, frames_in: 0, output: Vec::new(), engine })
    }

    pub fn from_hz(&self) -> u32 {
        self.from_hz
    }

    pub fn to_hz(&self) -> u32 {
        self.to_hz
    }

    /// Input samples pushed so far.
    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// Output samples the input so far will become once finished.
    pub fn expected_len(&self) -> u64 {
        resampled_len(self.frames_in, self.from_hz, self.to_hz)
    }

    /// Reserves room for the output of `frames_in` more input samples.
    pub fn reserve_for_input(&mut self, frames_in: u64) {
        let extra = resampled_len(frames_in, self.from_hz, self.to_hz);
        self.output.reserve(usize::try_from(extra).unwrap_or(0));
    }

    pub fn push(&mut self, samples: &[f32]) -> Result<(), ResampleError> {
        self.frames_in += samples.len() as u64;
        let Some(engine) = self.engine.as_mut() else {
            self.output.extend_from_slice(samples);
            return Ok(());
        };
        // Taken out while chunks of it are borrowed by the resampler call.
        let mut pending = std::mem::take(&mut engine.pending);
        pending.extend_from_slice(samples);
        let chunk_in = engine.fft.input_frames_next();
        let mut consumed = 0;
        let mut result = Ok(());
        while pending.len() - consumed >= chunk_in {
            match engine.run(&pending[consumed..consumed + chunk_in], None) {
                Ok(written) => engine.emit(written, &mut self.output),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            consumed += chunk_in;
        }
        pending.drain(..consumed);
        engine.pending = pending;
        result
    }

    /// Takes the output produced so far, for a stream read as it goes (the resampler's delay is
    /// already trimmed from its start). A stream read this way is never `finish`ed: its length
    /// accounting counts what was taken.
    pub fn take_output(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.output)
    }

    /// Flushes the resampler and returns exactly `expected_len()` samples.
    pub fn finish(mut self) -> Result<Vec<f32>, ResampleError> {
        let target = usize::try_from(self.expected_len()).unwrap_or(usize::MAX);
        if let Some(mut engine) = self.engine.take() {
            let pending = std::mem::take(&mut engine.pending);
            if !pending.is_empty() {
                let written = engine.run(&pending, Some(pending.len()))?;
                engine.emit(written, &mut self.output);
            }
            // Zeros push the tail still inside the filter out of it.
            while self.output.len() < target {
                let written = engine.run(&[], Some(0))?;
                engine.emit(written, &mut self.output);
            }
        }
        self.output.truncate(target);
        Ok(self.output)
    }
}

impl Engine {
    /// Resamples one chunk (or a shorter, zero-padded last piece) into `scratch_out`.
    fn run(&mut self, input: &[f32], partial_len: Option<usize>) -> Result<usize, ResampleError> {
        let engine_err = |e: &dyn std::fmt::Display| ResampleError::Engine { detail: e.to_string() };
        let adapter_in = InterleavedSlice::new(input, 1, input.len()).map_err(|e| engine_err(&e))?;
        let frames_out = self.scratch_out.len();
        let mut adapter_out =
            InterleavedSlice::new_mut(&mut self.scratch_out, 1, frames_out).map_err(|e| engine_err(&e))?;
        let indexing = partial_len.map(|n| Indexing::new().partial_len(n));
        let (_read, written) = self
            .fft
            .process_into_buffer(&adapter_in, &mut adapter_out, indexing.as_ref())
            .map_err(|e| engine_err(&e))?;
        Ok(written)
    }

    fn emit(&mut self, written: usize, output: &mut Vec<f32>) {
        let skip = self.delay_left.min(written);
        self.delay_left -= skip;
        output.extend_from_slice(&self.scratch_out[skip..written]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    fn sine(freq_hz: f64, rate_hz: u32, len: usize) -> Vec<f32> {
        (0..len).map(|n| (TAU * freq_hz * n as f64 / rate_hz as f64).sin() as f32 * 0.5).collect()
    }

    #[test]
    fn identity_when_rates_match() {
        let x = sine(440.0, 16_000, 1000);
        assert_eq!(resample(&x, 16_000, 16_000).unwrap(), x);
    }

    #[test]
    fn tone_keeps_frequency_amplitude_and_phase() {
        // A 1 kHz tone from 44.1 kHz must equal the same tone sampled at 16 kHz, sample for
        // sample, away from the edges (where the band-limited start is a step).
        let x = sine(1000.0, 44_100, 44_100);
        let y = resample(&x, 44_100, 16_000).unwrap();
        assert_eq!(y.len(), 16_000);
        let expected = sine(1000.0, 16_000, 16_000);
        let max_err =
            y[2000..14_000].iter().zip(&expected[2000..14_000]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        // 1e-3 of a 0.5 amplitude is 0.02 dB and well under a degree of phase: any leftover
        // delay (a whole sample is 22 degrees at 1 kHz) or passband droop would exceed it.
        assert!(max_err < 1e-3, "max error {max_err}");
    }

    #[test]
    fn streamed_pieces_equal_whole() {
        let x = sine(300.0, 48_000, 30_001);
        let whole = resample(&x, 48_000, 16_000).unwrap();
        let mut stream = StreamResampler::new(48_000, 16_000).unwrap();
        for piece in x.chunks(777) {
            stream.push(piece).unwrap();
        }
        let pieces = stream.finish().unwrap();
        assert_eq!(whole.len(), resampled_len(30_001, 48_000, 16_000) as usize);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn lengths_round_to_nearest() {
        for (len, from_hz) in [(1usize, 44_100u32), (7, 8_000), (44_101, 44_100), (5, 96_000)] {
            let y = resample(&vec![0.1; len], from_hz, 16_000).unwrap();
            assert_eq!(y.len() as u64, resampled_len(len as u64, from_hz, 16_000));
        }
        assert!(resample(&[], 44_100, 16_000).unwrap().is_empty());
    }

    #[test]
    fn rejects_zero_and_absurd_rates() {
        assert!(resample(&[0.0], 0, 16_000).is_err());
        assert!(resample(&[0.0], 1, 16_000).is_err());
        assert!(resample(&[0.0], 999, 16_000).is_err());
        assert!(resample(&[0.0], 1_000, 16_000).is_ok());
        assert!(resample(&[0.0], u32::MAX, 16_000).is_err());
    }
}
