//! Playing a clip on the default output device, with a lock-free playhead a UI can read.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::devices::{self, DeviceError, Direction, ForSampleType, StreamHealth, for_sample_format};
use super::resample::resample;

/// Samples at the device's rate, shared read-only with the callback.
struct Program {
    samples: Arc<[f32]>,
    /// A second channel (the right ear of a binaural rendering), same length as `samples`.
    right: Option<Arc<[f32]>>,
    /// First sample to play (non-zero only when no resampling copy was made).
    offset: usize,
    /// Frames the callback has played, counted from `offset`.
    position: AtomicUsize,
}

impl Program {
    fn len(&self) -> usize {
        self.samples.len() - self.offset
    }
}

/// A clip playing on the default output. Dropping it (or [`Playback::stop`]) stops the sound.
pub struct Playback {
    stream: cpal::Stream,
    program: Arc<Program>,
    health: Arc<StreamHealth>,
    clip_rate_hz: u32,
    device_rate_hz: u32,
    start_sample: usize,
    clip_len: usize,
    device_name: String,
}

impl Playback {
    /// Starts playing `samples` (mono, `sample_rate_hz`) from `start_sample`. The clip is
    /// resampled to the device's rate here, once, before the stream starts.
    pub fn start(samples: Arc<[f32]>, sample_rate_hz: u32, start_sample: usize) -> Result<Playback, DeviceError> {
        Self::start_channels(samples, None, sample_rate_hz, start_sample)
    }

    /// As [`Playback::start`], with an optional right channel: `left` goes to the device's first
    /// channel and `right` to its second (mono devices hear their mean).
    pub fn start_channels(
        samples: Arc<[f32]>,
        right: Option<Arc<[f32]>>,
        sample_rate_hz: u32,
        start_sample: usize,
    ) -> Result<Playback, DeviceError> {
        let device = devices::find_device(Direction::Output, None)?;
        let device_name = devices::device_name(&device);
        let supported = devices::default_config(Direction::Output, &device, true)?;
        let device_rate_hz = supported.sample_rate();
        let clip_len = samples.len();
        let start_sample = start_sample.min(clip_len);
        let right = right.filter(|r| r.len() == clip_len);
        let program = if device_rate_hz == sample_rate_hz {
            Program { samples, right, offset: start_sample, position: AtomicUsize::new(0) }
        } else {
            let resampled = resample(&samples[start_sample..], sample_rate_hz, device_rate_hz)?;
            let right = match right {
                Some(r) => Some(resample(&r[start_sample..], sample_rate_hz, device_rate_hz)?.into()),
                None => None,
            };
            Program { samples: resampled.into(), right, offset: 0, position: AtomicUsize::new(0) }
        };
        let program = Arc::new(program);
        let health = Arc::new(StreamHealth::default());
        let sample_format = supported.sample_format();
        let config = supported.config();
        let unusable = |e: cpal::Error| DeviceError::Unusable {
            direction: Direction::Output,
            device: device_name.clone(),
            reason: e.to_string(),
        };
        let build = Build { device: &device, config, program: program.clone(), health: health.clone() };
        let stream = for_sample_format(sample_format, build)
            .ok_or_else(|| DeviceError::UnsupportedSampleFormat {
                direction: Direction::Output,
                device: device_name.clone(),
                format: sample_format.to_string(),
            })?
            .map_err(unusable)?;
        stream.play().map_err(unusable)?;
        Ok(Playback {
            stream,
            program,
            health,
            clip_rate_hz: sample_rate_hz,
            device_rate_hz,
            start_sample,
            clip_len,
            device_name,
        })
    }

    /// The playhead in the clip's own samples (what the device has been handed so far).
    pub fn position_samples(&self) -> usize {
        let played = self.program.position.load(Ordering::Relaxed).min(self.program.len());
        let in_clip = if self.device_rate_hz == self.clip_rate_hz {
            played
        } else {
            (played as u128 * self.clip_rate_hz as u128 / self.device_rate_hz as u128) as usize
        };
        (self.start_sample + in_clip).min(self.clip_len)
    }

    /// True once every sample has been handed to the device.
    pub fn is_finished(&self) -> bool {
        self.program.position.load(Ordering::Relaxed) >= self.program.len()
    }

    /// Fails once the stream has failed (device unplugged, for example).
    pub fn check(&self) -> Result<(), DeviceError> {
        self.health.check(Direction::Output, &self.device_name)
    }

    pub fn device_rate_hz(&self) -> u32 {
        self.device_rate_hz
    }

    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Stops the sound; reports a stream failure that happened while playing.
    pub fn stop(self) -> Result<(), DeviceError> {
        let _ = self.stream.pause();
        self.check()
    }
}

/// The arguments of [`build_stream`], for the sample type chosen at run time.
struct Build<'a> {
    device: &'a cpal::Device,
    config: cpal::StreamConfig,
    program: Arc<Program>,
    health: Arc<StreamHealth>,
}

impl ForSampleType for Build<'_> {
    type Output = Result<cpal::Stream, cpal::Error>;
    fn build<T>(self) -> Self::Output
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
        f32: FromSample<T>,
    {
        build_stream::<T>(self.device, self.config, self.program, self.health)
    }
}

fn build_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    program: Arc<Program>,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = usize::from(config.channels.max(1));
    let silence = T::EQUILIBRIUM;
    // Real-time path: reads the shared slice and one atomic; no allocation, lock or I/O.
    let on_data = move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
        let playable = &program.samples[program.offset..];
        let right = program.right.as_deref().map(|r| &r[program.offset..]);
        let start = program.position.load(Ordering::Relaxed);
        let mut frames = 0;
        let mut chunks = out.chunks_exact_mut(channels);
        for (i, frame) in chunks.by_ref().enumerate() {
            match (right, playable.get(start + i)) {
                (Some(r), Some(&left)) if channels >= 2 => {
                    let right = r.get(start + i).copied().unwrap_or(0.0);
                    frame[0] = T::from_sample(left);
                    frame[1] = T::from_sample(right);
                    frame[2..].fill(T::from_sample(0.5 * (left + right)));
                }
                (Some(r), Some(&left)) => {
                    frame.fill(T::from_sample(0.5 * (left + r.get(start + i).copied().unwrap_or(0.0))))
                }
                (None, Some(&x)) => frame.fill(T::from_sample(x)),
                (_, None) => frame.fill(silence),
            }
            frames += 1;
        }
        chunks.into_remainder().fill(silence);
        program.position.store(start.saturating_add(frames), Ordering::Relaxed);
    };
    let on_error = move |e: cpal::Error| health.record(&e);
    device.build_output_stream(config, on_data, on_error, None)
}
