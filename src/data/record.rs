//! One note's entry in `examples.json`, and the split it belongs to.

use serde::{Deserialize, Serialize};

use crate::dsp::descriptors::Descriptors;

/// One entry of examples.json: NSynth's keys, then ours (absent in real NSynth).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoteRecord {
    pub note: u64,
    pub note_str: String,
    pub instrument: u64,
    pub instrument_str: String,
    pub pitch: u8,
    pub velocity: u8,
    pub sample_rate: u32,
    pub instrument_family: u8,
    pub instrument_family_str: String,
    pub instrument_source: u8,
    pub instrument_source_str: String,
    pub qualities: Vec<u8>,
    pub qualities_str: Vec<String>,
    /// Index into the taxonomy's 16 instruments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instrument16: Option<u8>,
    /// Index into the taxonomy's 8 families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family8: Option<u8>,
    /// The SoundFont the note was rendered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descriptors: Option<Descriptors>,
    /// Keys this version does not know (e.g. drawn degradation parameters) survive a rewrite.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Valid,
    Test,
    /// Every note of a bank held out of training, for the cross-bank test.
    TestBank,
    /// Real played notes from sources never trained on (`data::real`).
    TestReal,
}

impl Split {
    pub const ALL: [Split; 5] = [Split::Train, Split::Valid, Split::Test, Split::TestBank, Split::TestReal];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
            Split::TestBank => "test_bank",
            Split::TestReal => "test_real",
        }
    }

    pub fn parse(s: &str) -> Option<Split> {
        Split::ALL.into_iter().find(|split| split.as_str() == s)
    }
}
