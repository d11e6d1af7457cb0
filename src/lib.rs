//! timbrescope: a workbench for robust musical-instrument recognition.
//!
//! Everything outside `ui` and `render` is plain Rust that never touches egui or wgpu, so the
//! whole analysis core builds, tests and runs headless: `cargo build --no-default-features`
//! leaves out the window (`gui`), offscreen drawing (`render`) and audio devices (`audio-io`).

pub mod atomic_file;
pub mod audio;
pub mod data;
pub mod degrade;
pub mod dsp;
pub mod features;
pub mod jobs;
pub mod learn;
pub mod live;
pub mod platform;
#[cfg(feature = "render")]
pub mod render;
#[cfg(feature = "gui")]
pub mod ui;
