//! The instrument taxonomy: 16 instruments in 8 families with GM programs and natural pitch ranges.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The default taxonomy, shipped in `assets/taxonomy.json`.
pub const DEFAULT_TAXONOMY_JSON: &str = include_str!("../../assets/taxonomy.json");

/// NSynth's 11 instrument families, in the order of its integer ids.
pub const NSYNTH_FAMILIES: [&str; 11] =
    ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal"];
/// NSynth's 3 instrument sources, in the order of its integer ids.
pub const NSYNTH_SOURCES: [&str; 3] = ["acoustic", "electronic", "synthetic"];
/// Pitch classes for the 12-way head, index = MIDI pitch mod 12.
pub const PITCH_CLASSES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("cannot read taxonomy {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("taxonomy {path} is not valid JSON: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("taxonomy {path}: {problem}")]
    Invalid { path: String, problem: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Instrument {
    /// Unique snake_case name, used in note names.
    pub name: String,
    pub family: String,
    /// One of NSynth's sources: acoustic, electronic or synthetic.
    pub source: String,
    /// General MIDI program (bank 0).
    pub program: u8,
    /// Lowest and highest MIDI pitch, inclusive, at sounding pitch.
    pub pitch_lo: u8,
    pub pitch_hi: u8,
    /// Where the range comes from.
    pub range_source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    #[serde(default)]
    pub description: String,
    /// The velocity levels rendered; also the velocity head's classes (nearest level).
    pub velocities: Vec<u8>,
    pub families: Vec<String>,
    pub instruments: Vec<Instrument>,
}

impl Default for Taxonomy {
    fn default() -> Self {
        Self::parse(DEFAULT_TAXONOMY_JSON, "assets/taxonomy.json").expect("the shipped taxonomy is valid")
    }
}

impl Taxonomy {
    pub fn load(path: &Path) -> Result<Self, TaxonomyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TaxonomyError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a taxonomy; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, TaxonomyError> {
        let taxonomy: Taxonomy =
            serde_json::from_str(text).map_err(|source| TaxonomyError::Parse { path: origin.to_owned(), source })?;
        taxonomy.validate().map_err(|problem| TaxonomyError::Invalid { path: origin.to_owned(), problem })?;
        Ok(taxonomy)
    }

    fn validate(&self) -> Result<(), String> {
        if self.instruments.is_empty() || self.families.is_empty() || self.velocities.is_empty() {
            return Err("needs at least one instrument, family and velocity".into());
        }
        if let Some(v) = self.velocities.iter().find(|v| !(1..=127).contains(*v)) {
            return Err(format!("velocity {v} is outside 1..=127"));
        }
        if self.velocities.windows(2).any(|w| w[0] >= w[1]) {
            return Err("velocities must be strictly increasing".into());
        }
        for (i, inst) in self.instruments.iter().enumerate() {
            let name_ok = !inst.name.is_empty()
                && inst.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !name_ok {
                return Err(format!("instrument name {:?} must be snake_case ASCII", inst.name));
            }
            if self.instruments[..i].iter().any(|other| other.name == inst.name) {
                return Err(format!("instrument {} appears twice", inst.name));
            }
            if self.family_index(&inst.family).is_none() {
                return Err(format!("instrument {} has unknown family {}", inst.name, inst.family));
            }
            if !NSYNTH_SOURCES.contains(&inst.source.as_str()) {
                return Err(format!(
                    "instrument {} has source {}, not one of {NSYNTH_SOURCES:?}",
                    inst.name, inst.source
                ));
            }
            if inst.program > 127 || inst.pitch_lo > inst.pitch_hi || inst.pitch_hi > 127 {
                return Err(format!(
                    "instrument {}: program {} and pitch range {}..={} must lie in 0..=127",
                    inst.name, inst.program, inst.pitch_lo, inst.pitch_hi
                ));
            }
        }
        Ok(())
    }

    pub fn family_index(&self, family: &str) -> Option<usize> {
        self.families.iter().position(|f| f == family)
    }

    pub fn instrument_index(&self, name: &str) -> Option<usize> {
        self.instruments.iter().position(|i| i.name == name)
    }

    /// The velocity head's class: the nearest rendered level (ties go to the lower one).
    pub fn velocity_bin(&self, velocity: u8) -> usize {
        let mut best = 0;
        for (i, &level) in self.velocities.iter().enumerate() {
            if level.abs_diff(velocity) < self.velocities[best].abs_diff(velocity) {
                best = i;
            }
        }
        best
    }
}

/// NSynth's integer id of a family name, if it is one of its 11.
pub fn nsynth_family_id(family: &str) -> Option<u8> {
    NSYNTH_FAMILIES.iter().position(|f| *f == family).map(|i| i as u8)
}

/// NSynth's integer id of a source name.
pub fn nsynth_source_id(source: &str) -> Option<u8> {
    NSYNTH_SOURCES.iter().position(|s| *s == source).map(|i| i as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_taxonomy_is_sixteen_instruments_in_eight_families() {
        let t = Taxonomy::default();
        assert_eq!(t.instruments.len(), 16);
        assert_eq!(t.families.len(), 8);
        for family in &t.families {
            assert_eq!(t.instruments.iter().filter(|i| &i.family == family).count(), 2, "{family}");
            // Our families are a subset of NSynth's, so the official keys stay meaningful.
            assert!(nsynth_family_id(family).is_some(), "{family}");
        }
        let programs: Vec<u8> = t.instruments.iter().map(|i| i.program).collect();
        assert_eq!(programs, [0, 4, 11, 12, 16, 19, 24, 27, 32, 33, 40, 42, 56, 57, 65, 71]);
    }

    #[test]
    fn velocity_bins_pick_the_nearest_level() {
        let t = Taxonomy::default();
        assert_eq!(t.velocity_bin(25), 0);
        assert_eq!(t.velocity_bin(1), 0);
        assert_eq!(t.velocity_bin(63), 2);
        assert_eq!(t.velocity_bin(110), 3);
        assert_eq!(t.velocity_bin(127), 4);
    }

    #[test]
    fn invalid_taxonomies_name_the_problem() {
        let bad_family = DEFAULT_TAXONOMY_JSON.replacen("\"family\": \"keyboard\"", "\"family\": \"kazoo\"", 1);
        let err = Taxonomy::parse(&bad_family, "t.json").unwrap_err().to_string();
        assert!(err.contains("t.json") && err.contains("kazoo"), "{err}");
        let bad_range = DEFAULT_TAXONOMY_JSON.replacen("\"pitch_lo\": 21", "\"pitch_lo\": 120", 1);
        let err = Taxonomy::parse(&bad_range, "t.json").unwrap_err().to_string();
        assert!(err.contains("acoustic_grand_piano"), "{err}");
        assert!(Taxonomy::parse("{", "t.json").unwrap_err().to_string().contains("not valid JSON"));
    }
}
