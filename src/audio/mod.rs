//! Audio in and out: decoding files, resampling to the analysis rate, saving, and devices.

pub mod capture;
pub mod clip;
pub mod devices;
pub mod load;
pub mod playback;
pub mod resample;
pub mod save;

pub use capture::{Capture, record_blocking};
pub use clip::{ANALYSIS_RATE_HZ, Clip};
pub use devices::{DeviceError, input_devices, output_devices};
pub use load::{AudioError, MAX_CLIP_SECS, load_clip, load_clip_from_bytes};
pub use playback::Playback;
pub use resample::{ResampleError, resample};
pub use save::{save_wav, save_wav_channels, save_wav_pcm16};
