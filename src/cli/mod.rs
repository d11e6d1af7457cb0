//! One file per verb; each parses its arguments and calls into the library.

pub mod features;
pub mod gui;
pub mod play;
pub mod record;
pub mod render;
