//! GPU renderers for the views: plain wgpu, used by the workbench's paint callbacks and by the
//! headless `render` verb alike, so both draw through the same shaders.

pub mod colormap;
pub mod envelope;
pub mod offscreen;
mod pipeline;
pub mod spectrogram;
pub mod waveform;

pub use colormap::Colormap;
pub use envelope::{EnvelopeLayer, EnvelopeParams, EnvelopeRenderer};
pub use spectrogram::{SpectrogramLayer, SpectrogramParams, SpectrogramRenderer};
pub use waveform::{WaveformLayer, WaveformParams, WaveformRenderer};
