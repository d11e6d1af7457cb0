//! Audio in and out: decoding files, resampling to the analysis rate, saving, and devices.

#[cfg(feature = "audio-io")]
pub mod capture;
pub mod clip;
#[cfg(feature = "audio-io")]
pub mod devices;
pub mod load;
#[cfg(feature = "audio-io")]
pub mod playback;
pub mod resample;
pub mod save;
mod sink;
mod wav;

#[cfg(feature = "audio-io")]
pub use capture::{Capture, record_blocking};
pub use clip::{ANALYSIS_RATE_HZ, Clip};

/// Extensions of the audio files the loader reads (it sniffs the content, but folders and file
/// dialogs pick files by name).
pub const EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];
#[cfg(feature = "audio-io")]
pub use devices::{DeviceError, input_devices, output_devices};
pub use load::{AudioError, MAX_CLIP_SECS, load_clip, load_clip_from_bytes, load_clip_native};
#[cfg(feature = "audio-io")]
pub use playback::Playback;
pub use resample::{ResampleError, resample};
pub use save::{save_wav, save_wav_channels, save_wav_pcm16};
