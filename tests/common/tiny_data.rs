//! A tiny data set rendered from two tiny SoundFonts with a three-instrument taxonomy.

use std::path::{Path, PathBuf};

use timbrescope::data::synth::{SynthOptions, SynthReport, synthesize};
use timbrescope::data::taxonomy::Taxonomy;

use super::sf2::{TinyPreset, write_tiny_sf2};

/// tone_a: program 0 over 48..=71 (24 pitches: two full split runs and a tail of four),
/// tone_b: program 40 over 55..=66, absent: program 5, which bank A lacks.
pub const TAXONOMY_JSON: &str = r#"{
  "velocities": [50, 100],
  "families": ["keyboard", "string", "brass"],
  "instruments": [
    {"name": "tone_a", "family": "keyboard", "source": "acoustic", "program": 0, "pitch_lo": 48, "pitch_hi": 71, "range_source": "test"},
    {"name": "tone_b", "family": "string", "source": "electronic", "program": 40, "pitch_lo": 55, "pitch_hi": 66, "range_source": "test"},
    {"name": "absent", "family": "brass", "source": "acoustic", "program": 5, "pitch_lo": 60, "pitch_hi": 62, "range_source": "test"}
  ]
}"#;

pub fn taxonomy() -> Taxonomy {
    Taxonomy::parse(TAXONOMY_JSON, "tiny taxonomy").unwrap()
}

fn preset(program: u8, name: &'static str, key_lo: u8, key_hi: u8, harmonics: &[f32]) -> TinyPreset {
    TinyPreset { program, name, key_lo, key_hi, harmonics: harmonics.to_vec() }
}

/// Bank A (`tiny_a.sf2`) has programs 0 and 40 over all the taxonomy's pitches; bank B
/// (`tiny_b.sf2`) has all three programs but program 0 only from key 60, so its pitches 48..=59
/// render silence.
pub fn banks(dir: &Path) -> (PathBuf, PathBuf) {
    let a = write_tiny_sf2(
        dir,
        "tiny_a.sf2",
        &[preset(0, "Tone A", 40, 80, &[1.0, 0.5, 0.25]), preset(40, "Tone B", 50, 90, &[1.0, 0.0, 0.3])],
    );
    let b = write_tiny_sf2(
        dir,
        "tiny_b.sf2",
        &[
            preset(0, "Tone A", 60, 80, &[1.0, 0.4]),
            preset(40, "Tone B", 50, 90, &[1.0, 0.2, 0.2]),
            preset(5, "Absent", 0, 127, &[1.0]),
        ],
    );
    (a, b)
}

/// Notes kept from both banks: A 24*2 + 12*2, B 12*2 + 12*2 + 3*2.
pub const KEPT_NOTES: usize = 126;

pub fn options(banks: &[PathBuf], out: &Path) -> SynthOptions {
    SynthOptions { taxonomy: taxonomy(), threads: 2, seed: 11, ..SynthOptions::new(banks.to_vec(), out.to_owned()) }
}

/// Renders the tiny data set into `dir/data` and returns its folder.
pub fn build(dir: &Path) -> (PathBuf, SynthReport) {
    let (a, b) = banks(dir);
    let out = dir.join("data");
    let report = synthesize(&options(&[a, b], &out), &|_, _| {}).unwrap();
    (out, report)
}
