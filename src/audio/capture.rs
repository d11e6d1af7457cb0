//! Recording from an input device: a lock-free callback feeding a ring buffer and a level meter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::clip::{ANALYSIS_RATE_HZ, Clip};
use super::devices::{self, DeviceError, Direction, ForSampleType, StreamHealth, for_sample_format};
use super::load::MAX_CLIP_SECS;
use super::resample::resample;

/// Seconds of audio the ring buffer holds between two drains. Generous, because some sources
/// (ALSA's file plugin, for one) run faster than real time.
const RING_SECS: u32 = 10;

/// Shared between the audio callback and the owner; atomics only.
#[derive(Default)]
struct Meter {
    /// Peak absolute sample since the owner last read it, as `f32` bits. Non-negative floats
    /// order like their bit patterns, so `fetch_max` on the bits is a max on the values.
    peak_bits: AtomicU32,
    captured_frames: AtomicU64,
    dropped_frames: AtomicU64,
}

/// A running recording. Call [`Capture::drain`] regularly (each UI frame, or in a loop) so the
/// ring buffer never fills, and [`Capture::stop`] to get the take as a clip.
pub struct Capture {
    stream: cpal::Stream,
    consumer: rtrb::Consumer<f32>,
    meter: Arc<Meter>,
    health: Arc<StreamHealth>,
    take: Vec<f32>,
    device_rate_hz: u32,
    device_name: String,
}

impl Capture {
    /// Opens `device` (the default input when `None`) at its default configuration and starts.
    pub fn start(device: Option<&str>) -> Result<Capture, DeviceError> {
        let cpal_device = devices::find_device(Direction::Input, device)?;
        let device_name = devices::device_name(&cpal_device);
        let supported = devices::default_config(Direction::Input, &cpal_device, device.is_none())?;
        let device_rate_hz = supported.sample_rate();
        let (producer, consumer) = rtrb::RingBuffer::new((device_rate_hz * RING_SECS) as usize);
        let meter = Arc::new(Meter::default());
        let health = Arc::new(StreamHealth::default());
        let sample_format = supported.sample_format();
        let config = supported.config();
        let unusable = |e: cpal::Error| DeviceError::Unusable {
            direction: Direction::Input,
            device: device_name.clone(),
            reason: e.to_string(),
        };
        let build = Build { device: &cpal_device, config, producer, meter: meter.clone(), health: health.clone() };
        let stream = for_sample_format(sample_format, build)
            .ok_or_else(|| DeviceError::UnsupportedSampleFormat {
                direction: Direction::Input,
                device: device_name.clone(),
                format: sample_format.to_string(),
            })?
            .map_err(unusable)?;
        stream.play().map_err(unusable)?;
        log::info!(
            "recording from \"{device_name}\": {device_rate_hz} Hz, {} channels, {sample_format}",
            config.channels
        );
        Ok(Capture { stream, consumer, meter, health, take: Vec::new(), device_rate_hz, device_name })
    }

    /// Peak level since the last call, in dBFS (-120 for silence), for a live meter.
    pub fn level_dbfs(&self) -> f32 {
        let peak = f32::from_bits(self.meter.peak_bits.swap(0, Ordering::Relaxed));
        if peak > 1e-6 { 20.0 * peak.log10() } else { -120.0 }
    }

    /// Moves what the callback has captured into the take; returns how many samples moved.
    /// Fails once the stream has failed (device unplugged, for example).
    pub fn drain(&mut self) -> Result<usize, DeviceError> {
        let mut take = std::mem::take(&mut self.take);
        let moved = self.drain_into(&mut take);
        self.take = take;
        moved
    }

    /// Appends what the callback has captured to `out` instead of the take (a live stream keeps
    /// its own bounded history); returns how many samples moved, at the device's rate.
    pub fn drain_into(&mut self, out: &mut Vec<f32>) -> Result<usize, DeviceError> {
        let available = self.consumer.slots();
        if available > 0 {
            let chunk = self.consumer.read_chunk(available).expect("slots() frames are readable");
            let (first, second) = chunk.as_slices();
            out.extend_from_slice(first);
            out.extend_from_slice(second);
            chunk.commit_all();
        }
        self.health.check(Direction::Input, &self.device_name)?;
        Ok(available)
    }

    /// Samples the callback could not queue because the ring was full (device rate).
    pub fn dropped_frames(&self) -> u64 {
        self.meter.dropped_frames.load(Ordering::Relaxed)
    }

    /// Seconds captured so far (including what is still waiting in the ring buffer).
    pub fn captured_secs(&self) -> f64 {
        self.meter.captured_frames.load(Ordering::Relaxed) as f64 / self.device_rate_hz as f64
    }

    /// Samples already drained into the take, at the device's rate.
    pub fn drained_frames(&self) -> usize {
        self.take.len()
    }

    pub fn device_rate_hz(&self) -> u32 {
        self.device_rate_hz
    }

    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// Stops the stream and returns the whole take, mono at [`ANALYSIS_RATE_HZ`].
    pub fn stop(self) -> Result<Clip, DeviceError> {
        self.stop_at(None)
    }

    /// Stops and keeps at most `max_frames` samples (device rate) from the start of the take.
    fn stop_at(mut self, max_frames: Option<usize>) -> Result<Clip, DeviceError> {
        // Pausing may be unsupported by a backend; dropping the stream below stops it anyway.
        let _ = self.stream.pause();
        self.drain()?;
        let dropped = self.meter.dropped_frames.load(Ordering::Relaxed);
        if dropped > 0 {
            log::warn!(
                "{dropped} samples from \"{}\" were lost because they were not drained in time",
                self.device_name
            );
        }
        if self.health.xruns() > 0 {
            log::warn!("\"{}\" reported {} overruns", self.device_name, self.health.xruns());
        }
        let Capture { stream, take, device_rate_hz, device_name, .. } = self;
        drop(stream);
        let mut take = take;
        if let Some(max_frames) = max_frames {
            take.truncate(max_frames);
        }
        let samples = resample(&take, device_rate_hz, ANALYSIS_RATE_HZ)?;
        let mut clip = Clip::new(format!("recording from {device_name}"), samples, ANALYSIS_RATE_HZ);
        clip.source = None;
        Ok(clip)
    }
}

/// The arguments of [`build_stream`], for the sample type chosen at run time.
struct Build<'a> {
    device: &'a cpal::Device,
    config: cpal::StreamConfig,
    producer: rtrb::Producer<f32>,
    meter: Arc<Meter>,
    health: Arc<StreamHealth>,
}

impl ForSampleType for Build<'_> {
    type Output = Result<cpal::Stream, cpal::Error>;
    fn build<T>(self) -> Self::Output
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
        f32: FromSample<T>,
    {
        build_stream::<T>(self.device, self.config, self.producer, self.meter, self.health)
    }
}

fn build_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut producer: rtrb::Producer<f32>,
    meter: Arc<Meter>,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let inv_channels = 1.0 / channels as f32;
    // Real-time path: no allocation, no lock, no I/O; atomics and the ring buffer only.
    let on_data = move |data: &[T], _: &cpal::InputCallbackInfo| {
        let mut peak = 0.0f32;
        let mut pushed = 0u64;
        let mut dropped = 0u64;
        for frame in data.chunks_exact(channels) {
            let mut sum = 0.0f32;
            for &s in frame {
                let x: f32 = s.to_sample();
                peak = peak.max(x.abs());
                sum += x;
            }
            if producer.push(sum * inv_channels).is_ok() {
                pushed += 1;
            } else {
                dropped += 1;
            }
        }
        meter.peak_bits.fetch_max(peak.to_bits(), Ordering::Relaxed);
        meter.captured_frames.fetch_add(pushed, Ordering::Relaxed);
        if dropped > 0 {
            meter.dropped_frames.fetch_add(dropped, Ordering::Relaxed);
        }
    };
    let on_error = move |e: cpal::Error| health.record(&e);
    device.build_input_stream(config, on_data, on_error, None)
}

/// Records `seconds` from `device` (default input when `None`), blocking until done.
pub fn record_blocking(device: Option<&str>, seconds: f64) -> Result<Clip, DeviceError> {
    if !(seconds > 0.0 && seconds <= MAX_CLIP_SECS) {
        return Err(DeviceError::InvalidDuration { seconds });
    }
    let mut capture = Capture::start(device)?;
    let target_frames = (seconds * capture.device_rate_hz() as f64).round() as usize;
    // Real devices deliver in real time; allow generous slack before calling a device stuck.
    let deadline = Instant::now() + Duration::from_secs_f64(seconds * 2.0 + 5.0);
    while capture.drained_frames() < target_frames {
        if Instant::now() > deadline {
            return Err(DeviceError::Stream {
                direction: Direction::Input,
                device: capture.device_name().into(),
                reason: format!(
                    "only {:.2} s of audio arrived in {:.0} s",
                    capture.captured_secs(),
                    seconds * 2.0 + 5.0
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
        capture.drain()?;
    }
    capture.stop_at(Some(target_frames))
}
