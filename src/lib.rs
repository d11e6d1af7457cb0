//! timbrescope: a workbench for robust musical-instrument recognition.
//!
//! Everything outside `ui` and `render` is plain Rust that never touches egui or wgpu, so the
//! whole analysis core builds, tests and runs headless.

pub mod atomic_file;
pub mod audio;
pub mod data;
pub mod degrade;
pub mod dsp;
pub mod features;
pub mod jobs;
pub mod learn;
pub mod render;
pub mod ui;
