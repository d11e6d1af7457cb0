//! Data sources: single notes rendered from SoundFonts with NSynth's protocol, and the demo clips.

pub mod demo;
pub mod soundfont;
