//! One file per verb; each parses its arguments and calls into the library.

pub mod dataset;
pub mod degrade;
pub mod describe;
pub mod features;
pub mod gui;
pub mod learn;
pub mod mix;
pub mod play;
pub mod progress;
pub mod record;
pub mod render;
pub mod store;
