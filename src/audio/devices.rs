//! Finding audio devices through cpal, and the errors every device operation reports.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use cpal::traits::{DeviceTrait, HostTrait};

use super::resample::ResampleError;

/// Input or output, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// What went wrong with an audio device; the messages are meant for the user as they are.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no audio input device found{}", suffix(.detail))]
    NoInput { detail: Option<String> },
    #[error("no audio output device found{}", suffix(.detail))]
    NoOutput { detail: Option<String> },
    #[error("no audio {direction} device named \"{name}\"; available: {}", list(.available))]
    NotFound { direction: Direction, name: String, available: Vec<String> },
    #[error("audio {direction} device \"{device}\" cannot be used: {reason}")]
    Unusable { direction: Direction, device: String, reason: String },
    #[error("audio {direction} device \"{device}\" delivers {format} samples, which are not supported")]
    UnsupportedSampleFormat { direction: Direction, device: String, format: String },
    #[error("audio {direction} stream on \"{device}\" failed: {reason}")]
    Stream { direction: Direction, device: String, reason: String },
    #[error("cannot list audio devices: {reason}")]
    Host { reason: String },
    #[error("invalid recording length {seconds} s: give a duration between 0 and 3 hours")]
    InvalidDuration { seconds: f64 },
    #[error("cannot resample the recording: {0}")]
    Resample(#[from] ResampleError),
}

fn suffix(detail: &Option<String>) -> String {
    detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

/// Names of the input devices, as `--device` and [`Capture::start`](super::Capture::start) accept.
pub fn input_devices() -> Result<Vec<String>, DeviceError> {
    device_names(Direction::Input)
}

/// Names of the output devices.
pub fn output_devices() -> Result<Vec<String>, DeviceError> {
    device_names(Direction::Output)
}

fn device_names(direction: Direction) -> Result<Vec<String>, DeviceError> {
    Ok(devices(direction)?.iter().map(device_name).collect())
}

fn devices(direction: Direction) -> Result<Vec<cpal::Device>, DeviceError> {
    let host = cpal::default_host();
    let found = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect()),
        Direction::Output => host.output_devices().map(|d| d.collect()),
    };
    found.map_err(|e| DeviceError::Host { reason: e.to_string() })
}

/// The stable identifier (an ALSA PCM name such as `default` or `hw:CARD=0,DEV=0`), falling back
/// to the human description when a backend has no identifier.
/// Something built for a sample type that is only known at run time: a device's stream.
pub(crate) trait ForSampleType {
    type Output;
    fn build<T>(self) -> Self::Output
    where
        T: cpal::SizedSample + cpal::FromSample<f32> + Send + 'static,
        f32: cpal::FromSample<T>;
}

/// Builds `what` for the sample type of `format`; `None` for a format cpal added after this list.
pub(crate) fn for_sample_format<B: ForSampleType>(format: cpal::SampleFormat, what: B) -> Option<B::Output> {
    use cpal::SampleFormat as F;
    Some(match format {
        F::I8 => what.build::<i8>(),
        F::I16 => what.build::<i16>(),
        F::I24 => what.build::<cpal::I24>(),
        F::I32 => what.build::<i32>(),
        F::I64 => what.build::<i64>(),
        F::U8 => what.build::<u8>(),
        F::U16 => what.build::<u16>(),
        F::U24 => what.build::<cpal::U24>(),
        F::U32 => what.build::<u32>(),
        F::U64 => what.build::<u64>(),
        F::F32 => what.build::<f32>(),
        F::F64 => what.build::<f64>(),
        _ => return None,
    })
}

pub(crate) fn device_name(device: &cpal::Device) -> String {
    match device.id() {
        Ok(id) => id.id().to_string(),
        Err(_) => device.description().map(|d| d.name().to_string()).unwrap_or_else(|_| "?".into()),
    }
}

/// The named device (by identifier or description), or the default one when `name` is `None`.
pub(crate) fn find_device(direction: Direction, name: Option<&str>) -> Result<cpal::Device, DeviceError> {
    let host = cpal::default_host();
    let Some(name) = name else {
        let device = match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        return device.ok_or_else(|| no_device(direction, None));
    };
    let candidates = devices(direction)?;
    let matches = |d: &cpal::Device| device_name(d) == name || d.description().is_ok_and(|desc| desc.name() == name);
    match candidates.iter().position(matches) {
        Some(i) => Ok(candidates.into_iter().nth(i).expect("index from position")),
        None => Err(DeviceError::NotFound {
            direction,
            name: name.into(),
            available: candidates.iter().map(device_name).collect(),
        }),
    }
}

pub(crate) fn no_device(direction: Direction, detail: Option<String>) -> DeviceError {
    match direction {
        Direction::Input => DeviceError::NoInput { detail },
        Direction::Output => DeviceError::NoOutput { detail },
    }
}

/// The device's default configuration. Failing to open the default device is reported as "no
/// device": on a machine without a sound card that is what it means.
pub(crate) fn default_config(
    direction: Direction,
    device: &cpal::Device,
    is_default: bool,
) -> Result<cpal::SupportedStreamConfig, DeviceError> {
    let config = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    };
    config.map_err(|e| {
        if is_default {
            no_device(direction, Some(format!("the default device cannot be opened: {e}")))
        } else {
            DeviceError::Unusable { direction, device: device_name(device), reason: e.to_string() }
        }
    })
}

/// Stream errors reported by cpal's error callback, kept in atomics so that callback stays
/// lock-free; the owning thread turns them into a [`DeviceError`] when it next looks.
#[derive(Default)]
pub(crate) struct StreamHealth {
    /// 0 while healthy, else 1 + index into [`FATAL_KINDS`].
    fatal: AtomicU8,
    xruns: AtomicU32,
}

const FATAL_KINDS: [cpal::ErrorKind; 10] = [
    cpal::ErrorKind::DeviceNotAvailable,
    cpal::ErrorKind::StreamInvalidated,
    cpal::ErrorKind::DeviceBusy,
    cpal::ErrorKind::HostUnavailable,
    cpal::ErrorKind::PermissionDenied,
    cpal::ErrorKind::ResourceExhausted,
    cpal::ErrorKind::UnsupportedConfig,
    cpal::ErrorKind::UnsupportedOperation,
    cpal::ErrorKind::BackendError,
    cpal::ErrorKind::Other,
];

impl StreamHealth {
    /// Called from cpal's error callback: no allocation, no lock.
    pub(crate) fn record(&self, error: &cpal::Error) {
        match error.kind() {
            // Glitches and notices: the stream goes on.
            cpal::ErrorKind::Xrun => {
                self.xruns.fetch_add(1, Ordering::Relaxed);
            }
            cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
            kind => {
                let index = FATAL_KINDS.iter().position(|&k| k == kind).unwrap_or(FATAL_KINDS.len() - 1);
                let _ = self.fatal.compare_exchange(0, index as u8 + 1, Ordering::Release, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn check(&self, direction: Direction, device: &str) -> Result<(), DeviceError> {
        match self.fatal.load(Ordering::Acquire) {
            0 => Ok(()),
            code => Err(DeviceError::Stream {
                direction,
                device: device.into(),
                reason: FATAL_KINDS[code as usize - 1].to_string(),
            }),
        }
    }

    pub(crate) fn xruns(&self) -> u32 {
        self.xruns.load(Ordering::Relaxed)
    }
}
