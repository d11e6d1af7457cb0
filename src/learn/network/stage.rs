//! The two stages of training, and which of them a run trains.

use serde::{Deserialize, Deserializer, Serialize};

/// A stage of training: contrastive pretraining of the two encoders, then multi-task learning.
/// Files write it as `"ssl"` or `"mtl"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainStage {
    Ssl,
    Mtl,
}

impl TrainStage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ssl => "ssl",
            Self::Mtl => "mtl",
        }
    }
}

impl std::fmt::Display for TrainStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which stages a run trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stages {
    Ssl,
    Mtl,
    Both,
}

impl Stages {
    /// `ssl`, `mtl` or `both`, as the command line and the training panel name them.
    pub fn parse(s: &str) -> Option<Stages> {
        match s {
            "ssl" => Some(Stages::Ssl),
            "mtl" => Some(Stages::Mtl),
            "both" => Some(Stages::Both),
            _ => None,
        }
    }

    pub const ALL: [Stages; 3] = [Stages::Both, Stages::Ssl, Stages::Mtl];

    pub fn name(self) -> &'static str {
        match self {
            Self::Ssl => "ssl",
            Self::Mtl => "mtl",
            Self::Both => "both",
        }
    }

    pub fn includes(self, stage: TrainStage) -> bool {
        matches!((self, stage), (Stages::Both, _) | (Stages::Ssl, TrainStage::Ssl) | (Stages::Mtl, TrainStage::Mtl))
    }
}

/// No stage yet (a run preparing its data) reads from an empty string, as status files before
/// this type wrote it.
pub(crate) fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TrainStage>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("") => Ok(None),
        Some("ssl") => Ok(Some(TrainStage::Ssl)),
        Some("mtl") => Ok(Some(TrainStage::Mtl)),
        Some(other) => Err(serde::de::Error::custom(format!("unknown training stage {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_read_and_write_as_the_files_have_them() {
        assert_eq!(serde_json::to_string(&TrainStage::Mtl).unwrap(), "\"mtl\"");
        assert_eq!(serde_json::from_str::<TrainStage>("\"ssl\"").unwrap(), TrainStage::Ssl);
        assert!(serde_json::from_str::<TrainStage>("\"both\"").is_err());
        assert!(Stages::Both.includes(TrainStage::Ssl) && !Stages::Mtl.includes(TrainStage::Ssl));
        assert_eq!(Stages::parse("mtl"), Some(Stages::Mtl));
    }
}
