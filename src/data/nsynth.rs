//! Mapping NSynth's official labels (11 families, ~1000 instruments) onto our task heads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::taxonomy::{NSYNTH_FAMILIES, Taxonomy};

/// The shipped mapping, `assets/nsynth_mapping.json`.
pub const DEFAULT_MAPPING_JSON: &str = include_str!("../../assets/nsynth_mapping.json");

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("cannot read mapping {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("mapping {path} is not valid JSON: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("mapping {path}: {problem}")]
    Invalid { path: String, problem: String },
}

/// NSynth family name -> one of our families (or none), NSynth instrument_str -> one of ours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NsynthMapping {
    #[serde(default)]
    pub description: String,
    pub families: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub instruments: BTreeMap<String, String>,
}

impl Default for NsynthMapping {
    fn default() -> Self {
        let mapping: NsynthMapping = serde_json::from_str(DEFAULT_MAPPING_JSON).expect("the shipped mapping parses");
        mapping.validate(&Taxonomy::default()).expect("the shipped mapping fits the shipped taxonomy");
        mapping
    }
}

impl NsynthMapping {
    /// Reads a mapping and checks every target against the taxonomy.
    pub fn load(path: &Path, taxonomy: &Taxonomy) -> Result<Self, MappingError> {
        let origin = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| MappingError::Read { path: origin.clone(), source })?;
        let mapping: NsynthMapping =
            serde_json::from_str(&text).map_err(|source| MappingError::Parse { path: origin.clone(), source })?;
        mapping.validate(taxonomy).map_err(|problem| MappingError::Invalid { path: origin, problem })?;
        Ok(mapping)
    }

    fn validate(&self, taxonomy: &Taxonomy) -> Result<(), String> {
        for (from, to) in &self.families {
            if !NSYNTH_FAMILIES.contains(&from.as_str()) {
                return Err(format!("{from:?} is not an NSynth family ({NSYNTH_FAMILIES:?})"));
            }
            if let Some(to) = to
                && taxonomy.family_index(to).is_none()
            {
                return Err(format!("family {from:?} maps to {to:?}, which is not in the taxonomy"));
            }
        }
        for (from, to) in &self.instruments {
            if taxonomy.instrument_index(to).is_none() {
                return Err(format!("instrument {from:?} maps to {to:?}, which is not in the taxonomy"));
            }
        }
        Ok(())
    }

    /// Our family index for an NSynth family name; None if unmapped.
    pub fn family(&self, nsynth_family: &str, taxonomy: &Taxonomy) -> Option<u8> {
        let ours = self.families.get(nsynth_family)?.as_deref()?;
        taxonomy.family_index(ours).map(|i| i as u8)
    }

    /// Our instrument index for an NSynth instrument_str; None if unmapped.
    pub fn instrument(&self, instrument_str: &str, taxonomy: &Taxonomy) -> Option<u8> {
        taxonomy.instrument_index(self.instruments.get(instrument_str)?).map(|i| i as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_mapping_covers_all_eleven_families() {
        let mapping = NsynthMapping::default();
        let taxonomy = Taxonomy::default();
        assert_eq!(mapping.families.len(), NSYNTH_FAMILIES.len());
        assert_eq!(mapping.family("keyboard", &taxonomy), Some(0));
        assert_eq!(mapping.family("reed", &taxonomy), Some(7));
        assert_eq!(mapping.family("flute", &taxonomy), None);
        assert_eq!(mapping.family("no_such_family", &taxonomy), None);
    }

    #[test]
    fn a_mapping_onto_an_unknown_family_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, r#"{"families": {"bass": "tuba"}}"#).unwrap();
        let err = NsynthMapping::load(&path, &Taxonomy::default()).unwrap_err().to_string();
        assert!(err.contains("m.json") && err.contains("tuba"), "{err}");
    }
}
