//! Label schemas: which questions a model answers about a note. A data set rendered here answers
//! ours (its taxonomy's instruments and families, the pitch, the velocity level); a real NSynth
//! folder answers NSynth's own (11 families, 3 sources, the pitch, 5 velocities, and 10 note
//! qualities, several at once). A model's heads are made from the schema of the data set it was
//! trained on, and it is scored against the labels that schema reads from each note.

use serde::{Deserialize, Serialize};

use super::record::NoteRecord;
use super::taxonomy::{NSYNTH_FAMILIES, NSYNTH_SOURCES, PITCH_CLASSES, Taxonomy};

/// NSynth's 10 note qualities, in the order of its `qualities` flags.
pub const NSYNTH_QUALITIES: [&str; 10] = [
    "bright",
    "dark",
    "distortion",
    "fast_decay",
    "long_release",
    "multiphonic",
    "nonlinear_env",
    "percussive",
    "reverb",
    "tempo-synced",
];
/// NSynth's velocities.
pub const NSYNTH_VELOCITIES: [u8; 5] = [25, 50, 75, 100, 127];
/// Single-label heads a schema may have.
pub const MAX_HEADS: usize = 6;

/// How the pitch is asked: its class (12) or the MIDI note (128).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PitchLabels {
    #[default]
    Class,
    Midi,
}

impl PitchLabels {
    /// The head's class of a MIDI note.
    pub fn class_of(self, midi: u8) -> u16 {
        match self {
            PitchLabels::Class => u16::from(midi % 12),
            PitchLabels::Midi => u16::from(midi),
        }
    }

    /// A class moved by `semitones`: around the octave, or along the keyboard (kept in 0-127).
    pub fn shift(self, class: u16, semitones: i32) -> u16 {
        match self {
            PitchLabels::Class => (i32::from(class) + semitones).rem_euclid(12) as u16,
            PitchLabels::Midi => (i32::from(class) + semitones).clamp(0, 127) as u16,
        }
    }
}

/// Where a schema's labels come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemaKind {
    /// A taxonomy's instruments and families (our renders, or NSynth mapped onto them).
    Instruments,
    /// NSynth's own families, sources and qualities.
    Nsynth,
}

/// One single-label head: its name and its classes' names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassHead {
    pub name: String,
    pub classes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSchema {
    pub kind: SchemaKind,
    /// The single-label heads; the first is the primary one, whose accuracy picks the best
    /// epoch and whose classes the confusion matrix and class-balanced sampling use.
    pub heads: Vec<ClassHead>,
    pub pitch: PitchLabels,
    /// The multi-label head's labels (none: no such head).
    #[serde(default)]
    pub qualities: Vec<String>,
    /// The taxonomy's velocity levels a velocity is binned to (NSynth's five for its schema).
    pub velocities: Vec<u8>,
}

/// A note's labels under a schema: one class per head, and its qualities as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteClasses {
    pub classes: [u16; MAX_HEADS],
    pub qualities: u16,
}

fn names<S: ToString>(items: impl IntoIterator<Item = S>) -> Vec<String> {
    items.into_iter().map(|s| s.to_string()).collect()
}

fn pitch_head(pitch: PitchLabels) -> ClassHead {
    match pitch {
        PitchLabels::Class => ClassHead { name: "pitch_class".into(), classes: names(PITCH_CLASSES) },
        PitchLabels::Midi => ClassHead { name: "pitch".into(), classes: (0..128).map(|m| m.to_string()).collect() },
    }
}

impl LabelSchema {
    /// Ours: the taxonomy's instruments and families, the pitch, the velocity level.
    pub fn instruments(taxonomy: &Taxonomy, pitch: PitchLabels) -> Self {
        Self {
            kind: SchemaKind::Instruments,
            heads: vec![
                ClassHead {
                    name: "instrument".into(),
                    classes: taxonomy.instruments.iter().map(|i| i.name.clone()).collect(),
                },
                ClassHead { name: "family".into(), classes: taxonomy.families.clone() },
                pitch_head(pitch),
                ClassHead { name: "velocity".into(), classes: names(&taxonomy.velocities) },
            ],
            pitch,
            qualities: Vec::new(),
            velocities: taxonomy.velocities.clone(),
        }
    }

    /// NSynth's: 11 families, 3 sources, the pitch, 5 velocities, 10 qualities.
    pub fn nsynth(pitch: PitchLabels) -> Self {
        Self {
            kind: SchemaKind::Nsynth,
            heads: vec![
                ClassHead { name: "family".into(), classes: names(NSYNTH_FAMILIES) },
                ClassHead { name: "source".into(), classes: names(NSYNTH_SOURCES) },
                pitch_head(pitch),
                ClassHead { name: "velocity".into(), classes: names(NSYNTH_VELOCITIES) },
            ],
            pitch,
            qualities: names(NSYNTH_QUALITIES),
            velocities: NSYNTH_VELOCITIES.to_vec(),
        }
    }

    pub fn primary(&self) -> &ClassHead {
        &self.heads[0]
    }

    /// The index of a head by name.
    pub fn head(&self, name: &str) -> Option<usize> {
        self.heads.iter().position(|h| h.name == name)
    }

    /// The pitch head's index (every schema has one).
    pub fn pitch_head(&self) -> usize {
        self.heads
            .iter()
            .position(|h| h.name == "pitch_class" || h.name == "pitch")
            .expect("every schema asks the pitch")
    }

    /// The nearest of the schema's velocity levels.
    fn velocity_bin(&self, velocity: u8) -> u16 {
        let nearest = (0..self.velocities.len()).min_by_key(|&i| self.velocities[i].abs_diff(velocity));
        nearest.unwrap_or(0) as u16
    }

    /// A note's labels, or None when it lacks one the schema needs (an instrument outside the
    /// taxonomy; a family or source NSynth does not have).
    pub fn classes_of(&self, record: &NoteRecord, instrument: Option<u8>, family: Option<u8>) -> Option<NoteClasses> {
        let mut classes = [0u16; MAX_HEADS];
        let pitch = self.pitch.class_of(record.pitch);
        let velocity = self.velocity_bin(record.velocity);
        let mut qualities = 0u16;
        match self.kind {
            SchemaKind::Instruments => {
                classes[..4].copy_from_slice(&[u16::from(instrument?), u16::from(family?), pitch, velocity]);
            }
            SchemaKind::Nsynth => {
                let family = NSYNTH_FAMILIES.iter().position(|f| *f == record.instrument_family_str)?;
                let source = NSYNTH_SOURCES.iter().position(|s| *s == record.instrument_source_str)?;
                classes[..4].copy_from_slice(&[family as u16, source as u16, pitch, velocity]);
                for (k, &flag) in record.qualities.iter().enumerate().take(NSYNTH_QUALITIES.len()) {
                    if flag != 0 {
                        qualities |= 1 << k;
                    }
                }
            }
        }
        Some(NoteClasses { classes, qualities })
    }
}

/// Checks a record's NSynth labels: its family and source among NSynth's, and its qualities as
/// NSynth writes them (10 flags of 0 or 1, and their names agreeing).
pub fn check_nsynth_labels(record: &NoteRecord) -> Result<(), String> {
    if !NSYNTH_FAMILIES.contains(&record.instrument_family_str.as_str()) {
        return Err(format!(
            "instrument_family_str {:?} is not one of NSynth's 11 families ({})",
            record.instrument_family_str,
            NSYNTH_FAMILIES.join(", ")
        ));
    }
    if !NSYNTH_SOURCES.contains(&record.instrument_source_str.as_str()) {
        return Err(format!(
            "instrument_source_str {:?} is not one of NSynth's sources ({})",
            record.instrument_source_str,
            NSYNTH_SOURCES.join(", ")
        ));
    }
    if !record.qualities.is_empty() && record.qualities.len() != NSYNTH_QUALITIES.len()
        || record.qualities.iter().any(|&q| q > 1)
    {
        return Err(format!("qualities must be 10 flags of 0 or 1, got {:?}", record.qualities));
    }
    for name in &record.qualities_str {
        let Some(k) = NSYNTH_QUALITIES.iter().position(|q| q == name) else {
            return Err(format!("quality {name:?} is not one of NSynth's ({})", NSYNTH_QUALITIES.join(", ")));
        };
        if record.qualities.get(k) == Some(&0) {
            return Err(format!("quality {name:?} is named but its flag is 0"));
        }
    }
    Ok(())
}
