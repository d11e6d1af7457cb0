//! One file per verb; each parses its arguments and calls into the library.

pub mod dataset;
pub mod degrade;
pub mod describe;
pub mod embed;
pub mod explain;
pub mod features;
#[cfg(feature = "gui")]
pub mod gui;
pub mod learn;
pub mod live;
pub mod mix;
#[cfg(feature = "audio-io")]
pub mod play;
pub mod progress;
#[cfg(feature = "audio-io")]
pub mod record;
#[cfg(feature = "render")]
pub mod render;
pub mod store;
