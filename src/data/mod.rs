//! Data: the instrument taxonomy, notes rendered from sample libraries (SF2 SoundFonts and GUS
//! patches) and physical models (STK) with NSynth's protocol, the NSynth-layout reader, splits,
//! polyphonic mixtures, and a check for banks that share recordings.

pub mod controls;
pub mod dataset;
pub mod degraded;
pub mod demo;
pub mod expressive;
pub mod gus;
pub mod library;
pub mod mixing;
pub mod mixture;
pub mod npz;
pub mod nsynth;
pub mod overlap;
pub mod parallel;
pub mod real;
pub mod record;
pub mod schema;
pub mod soundfont;
pub mod stk;
pub mod synth;
pub mod taxonomy;
