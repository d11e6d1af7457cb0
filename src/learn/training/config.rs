//! The training configuration (TOML): input pooling, architecture, and both stages' schedules.
//! Unknown keys and impossible values are refused before any work starts.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::schema::PitchLabels;
use crate::learn::error::LearnError;
pub use crate::learn::network::model::{Backbone, ModelConfig};
pub use crate::learn::notes::augment::{
    CropConfig, FeatureEqConfig, FeatureNoiseConfig, FeatureReverbConfig, PitchShiftConfig,
};
pub use crate::learn::notes::batch::SpecAugmentConfig;
pub use crate::learn::notes::inputs::{CACHE_FRAMES, InputConfig};
pub use crate::learn::scoring::score::{LibraryAdversary, LossWeights};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub input: InputConfig,
    pub model: ModelConfig,
    pub ssl: SslConfig,
    pub mtl: MtlConfig,
    /// Noise added to training notes in the feature domain, as one more degraded version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_noise: Option<FeatureNoiseConfig>,
    /// Rooms applied to training notes in the feature domain, as one more degraded version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_reverb: Option<FeatureReverbConfig>,
    /// A random equaliser over drawn training examples, clean or degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_eq: Option<FeatureEqConfig>,
    /// Drawn multi-task examples shifted in pitch by whole semitones, targets with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch_shift: Option<PitchShiftConfig>,
    /// Drawn training examples started at a random offset into the note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<CropConfig>,
    /// How often a drawn example starts from the played copy (`train --played`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub played: Option<PlayedConfig>,
    /// Mixtures in the multi-task batches, the multi-label head and the mask head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polyphony: Option<crate::learn::notes::polyphony::PolyphonyConfig>,
}

/// `[played]` in the config: the share of drawn training examples that start from the note's
/// played version (`dataset played`) instead of the note as the library holds it; degradations
/// then apply to either.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayedConfig {
    pub probability: f64,
}

impl Default for PlayedConfig {
    fn default() -> Self {
        Self { probability: 0.5 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SslConfig {
    pub epochs: usize,
    pub batch: usize,
    pub max_lr: f64,
    pub weight_decay: f64,
    /// NT-Xent temperature, annealed from `temperature_start` to `temperature_end` by a cosine.
    pub temperature_start: f64,
    pub temperature_end: f64,
    /// Probability that one side of a pair (STFT or CQT, either as likely) comes from a degraded
    /// copy of the note (one of those given, if any).
    pub degraded_pairs: f64,
    /// What the other side of a pair is: the same note, or the same instrument from another
    /// sample library, so the views cannot be matched by a recording's fingerprint.
    #[serde(default, skip_serializing_if = "Positives::is_same_note")]
    pub positives: Positives,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positives {
    /// A note's STFT against its own CQT.
    #[default]
    SameNote,
    /// A note's STFT against the CQT of a note of the same instrument from another library (any
    /// pitch); another pitch of the same library where the instrument has only one.
    OtherLibrary,
}

impl Positives {
    fn is_same_note(&self) -> bool {
        *self == Positives::SameNote
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtlConfig {
    pub epochs: usize,
    pub batch: usize,
    pub max_lr: f64,
    pub weight_decay: f64,
    /// Probability that a training example is drawn from a degraded copy (one of those given, if any).
    pub degraded_fraction: f64,
    /// Draw the instrument uniformly first, then a note of it.
    pub class_balanced: bool,
    /// Beta(alpha, alpha) mixing of pairs of examples and their targets; 0 turns it off.
    pub mixup_alpha: f64,
    pub spec_augment: SpecAugmentConfig,
    pub loss_weights: LossWeights,
    /// The pitch head asks the pitch class (12, the default) or the MIDI note (128).
    #[serde(default, skip_serializing_if = "is_class")]
    pub pitch: PitchLabels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_adversary: Option<LibraryAdversary>,
}

fn is_class(p: &PitchLabels) -> bool {
    *p == PitchLabels::Class
}

impl TrainConfig {
    /// The shipped `models/default.toml`, built into the binary.
    pub fn shipped_default() -> Self {
        Self::parse(include_str!("../../../models/default.toml"), "models/default.toml")
            .expect("the shipped config parses")
    }

    pub fn load(path: &Path) -> Result<Self, LearnError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LearnError::Config { path: path.display().to_string(), problem: e.to_string() })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, LearnError> {
        let config: TrainConfig = toml::from_str(text)
            .map_err(|e| LearnError::Config { path: origin.into(), problem: e.message().to_string() })?;
        config.check().map_err(|problem| LearnError::Config { path: origin.into(), problem })?;
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("configs serialise")
    }

    /// Every value in its range, or a message naming the key.
    pub fn check(&self) -> Result<(), String> {
        let positive = |name: &str, v: usize| if v == 0 { Err(format!("{name} must be at least 1")) } else { Ok(()) };
        let i = &self.input;
        positive("input.time_pool", i.time_pool)?;
        positive("input.stft_pool", i.stft_pool)?;
        positive("input.cqt_pool", i.cqt_pool)?;
        if let Some(floor) = &i.noise_floor {
            floor.check()?;
        }
        if i.time_pool > 16 || i.stft_pool > 64 || i.cqt_pool > 64 {
            return Err("input pools above 16 (time) or 64 (bins) leave too little to learn from".into());
        }
        let m = &self.model;
        for (name, v) in [
            ("model.width", m.width),
            ("model.kernel", m.kernel),
            ("model.fused", m.fused),
            ("model.projection", m.projection),
        ] {
            positive(name, v)?;
        }
        if m.kernel.is_multiple_of(2) {
            return Err(format!("model.kernel must be odd, got {}", m.kernel));
        }
        let frames = CACHE_FRAMES / i.time_pool;
        if frames >> m.blocks == 0 {
            return Err(format!("model.blocks = {} halves {frames} pooled frames to nothing", m.blocks));
        }
        match m.backbone {
            Backbone::Crnn => positive("model.rnn_hidden", m.rnn_hidden)?,
            Backbone::Conformer => {
                positive("model.conformer_blocks", m.conformer_blocks)?;
                positive("model.heads", m.heads)?;
                if !m.fused.is_multiple_of(m.heads) {
                    return Err(format!("model.fused ({}) must be a multiple of model.heads ({})", m.fused, m.heads));
                }
            }
        }
        if !(0.0..1.0).contains(&m.dropout) {
            return Err(format!("model.dropout must lie in [0, 1), got {}", m.dropout));
        }
        for (stage, epochs, batch, lr, wd) in [
            ("ssl", self.ssl.epochs, self.ssl.batch, self.ssl.max_lr, self.ssl.weight_decay),
            ("mtl", self.mtl.epochs, self.mtl.batch, self.mtl.max_lr, self.mtl.weight_decay),
        ] {
            positive(&format!("{stage}.epochs"), epochs)?;
            if batch < 2 {
                return Err(format!("{stage}.batch must be at least 2, got {batch}"));
            }
            if !(lr > 0.0 && lr < 1.0) {
                return Err(format!("{stage}.max_lr must lie in (0, 1), got {lr}"));
            }
            if !(0.0..1.0).contains(&wd) {
                return Err(format!("{stage}.weight_decay must lie in [0, 1), got {wd}"));
            }
        }
        let s = &self.ssl;
        if !(s.temperature_start > 0.0 && s.temperature_end > 0.0) {
            return Err("ssl.temperature_start and ssl.temperature_end must be positive".into());
        }
        let probability = |name: &str, p: f64| {
            if (0.0..=1.0).contains(&p) { Ok(()) } else { Err(format!("{name} must lie in [0, 1], got {p}")) }
        };
        probability("ssl.degraded_pairs", s.degraded_pairs)?;
        let t = &self.mtl;
        probability("mtl.degraded_fraction", t.degraded_fraction)?;
        if let Some(a) = &t.library_adversary
            && !((0.0..=10.0).contains(&a.weight) && (0.0..=10.0).contains(&a.reversal))
        {
            return Err(format!(
                "mtl.library_adversary.weight and .reversal must lie in [0, 10], got {} and {}",
                a.weight, a.reversal
            ));
        }
        if !(0.0..=10.0).contains(&t.mixup_alpha) {
            return Err(format!("mtl.mixup_alpha must lie in [0, 10], got {}", t.mixup_alpha));
        }
        probability("mtl.spec_augment.freq_fraction", t.spec_augment.freq_fraction)?;
        if let Some(noise) = &self.feature_noise {
            noise.check()?;
        }
        if let Some(reverb) = &self.feature_reverb {
            reverb.check()?;
        }
        if let Some(eq) = &self.feature_eq {
            eq.check()?;
        }
        if let Some(shift) = &self.pitch_shift {
            shift.check()?;
        }
        if let Some(crop) = &self.crop {
            crop.check()?;
        }
        if let Some(p) = &self.polyphony {
            p.check()?;
        }
        if let Some(played) = &self.played
            && !(0.0..=1.0).contains(&played.probability)
        {
            return Err(format!("played.probability must lie in [0, 1], got {}", played.probability));
        }
        for (name, &v) in &t.loss_weights.0 {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(format!("mtl.loss_weights.{name} must be a finite value >= 0, got {v}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &str = include_str!("../../../models/default.toml");

    #[test]
    fn shipped_config_parses() {
        let c = TrainConfig::parse(DEFAULT, "default.toml").unwrap();
        let again = TrainConfig::parse(&c.to_toml(), "round trip").unwrap();
        assert_eq!(c, again);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let err = TrainConfig::parse(&DEFAULT.replace("[ssl]", "[ssl]\nlearning_speed = 3"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("learning_speed"), "{err}");
        let err = TrainConfig::parse(&DEFAULT.replace("kernel = 3", "kernel = 4"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("model.kernel"), "{err}");
        let err = TrainConfig::parse(&DEFAULT.replace("blocks = 2", "blocks = 9"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("model.blocks"), "{err}");
    }

    #[test]
    fn the_noise_floor_parses_round_trips_and_is_checked() {
        let text = include_str!("../../../models/ablations/noise-floor.toml");
        let c = TrainConfig::parse(text, "noise-floor.toml").unwrap();
        let floor = c.input.noise_floor.expect("the ablation takes the floor out");
        assert_eq!((floor.percentile, floor.margin_db, floor.range_db), (5, 6, 80));
        assert_eq!(TrainConfig::parse(&c.to_toml(), "round trip").unwrap(), c);
        let err = TrainConfig::parse(&text.replace("range_db = 80", "range_db = 10"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("input.noise_floor.range_db"), "{err}");
        let err = TrainConfig::parse(&text.replace("margin_db = 6", "margin = 6"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("margin"), "{err}");
    }

    #[test]
    fn the_pitch_shift_parses_is_checked_and_may_be_absent() {
        let c = TrainConfig::parse(DEFAULT, "default.toml").unwrap();
        let shift = c.pitch_shift.expect("the default recipe shifts pitch");
        assert_eq!((shift.probability, shift.semitones, shift.votes), (0.5, 2, 2));
        let err = TrainConfig::parse(&DEFAULT.replace("votes = 2", "votes = 3"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("pitch_shift.votes"), "{err}");
        let err = TrainConfig::parse(&DEFAULT.replace("semitones = 2", "semitones = 13"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("pitch_shift.semitones"), "{err}");
        let err =
            TrainConfig::parse(&DEFAULT.replace("semitones = 2", "semitones = 2\nsemitone = 1"), "x.toml").unwrap_err();
        assert!(err.to_string().contains("`semitone`"), "{err}");
        // Configs written before the shift existed read unchanged.
        let text = include_str!("../../../models/ablations/no-floor-no-shift.toml");
        let old = TrainConfig::parse(text, "no-floor-no-shift.toml").unwrap();
        assert!(old.pitch_shift.is_none() && old.input.noise_floor.is_none());
        assert_eq!(TrainConfig::parse(&old.to_toml(), "round trip").unwrap(), old);
    }
}
