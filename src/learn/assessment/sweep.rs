//! Robustness sweeps: one degradation stepped over a range (`snr=-5:30:5`), and at every step the
//! accuracy of each head and the recall of each class, in one report. A model trained with
//! degradations against one trained without, drawn as these curves, is the robustness claim.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::degrade::ChainSpec;
use crate::degrade::chain::{Param, StageSpec};
use crate::degrade::noise::NoiseColor;
use crate::learn::assessment::eval::{EvalOptions, EvalSet};
use crate::learn::error::LearnError;
use crate::learn::scoring::confusion::Confusion;

/// What a sweep steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepParam {
    /// White noise at this SNR (dB).
    Snr,
    /// Pink noise at this SNR (dB).
    Pink,
    /// A room with this RT60 (s).
    Rt60,
    /// Opus at this bit rate (kbit/s).
    Opus,
    /// MP3 at this bit rate (kbit/s).
    Mp3,
}

impl SweepParam {
    pub const ALL: [SweepParam; 5] = [Self::Snr, Self::Pink, Self::Rt60, Self::Opus, Self::Mp3];

    pub fn name(self) -> &'static str {
        match self {
            Self::Snr => "snr",
            Self::Pink => "pink",
            Self::Rt60 => "rt60",
            Self::Opus => "opus",
            Self::Mp3 => "mp3",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Self::Snr | Self::Pink => "dB",
            Self::Rt60 => "s",
            Self::Opus | Self::Mp3 => "kbit/s",
        }
    }

    /// The one-stage chain of a step.
    pub fn chain(self, value: f64) -> ChainSpec {
        let v = Param::Fixed(value);
        let stage = match self {
            Self::Snr => StageSpec::Noise { color: NoiseColor::White, snr_db: v },
            Self::Pink => StageSpec::Noise { color: NoiseColor::Pink, snr_db: v },
            Self::Rt60 => StageSpec::Reverb { rt60_s: v, binaural: false },
            Self::Opus => StageSpec::Opus { kbps: v },
            Self::Mp3 => StageSpec::Mp3 { kbps: v },
        };
        ChainSpec { stage_probability: None, stage: vec![stage] }
    }
}

/// A parameter and the values it takes, in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub param: SweepParam,
    pub values: Vec<f64>,
}

/// More steps than this is a typo, not a sweep.
const MAX_STEPS: usize = 200;

impl Sweep {
    /// Parses `NAME=START:STOP:STEP` (STOP included when a step lands on it) or
    /// `NAME=V1,V2,...`; every value is checked against the stage's range.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, values) =
            text.split_once('=').ok_or_else(|| format!("{text:?}: write NAME=START:STOP:STEP or NAME=V1,V2,..."))?;
        let param = SweepParam::ALL.into_iter().find(|p| p.name() == name.trim()).ok_or_else(|| {
            let names: Vec<&str> = SweepParam::ALL.iter().map(|p| p.name()).collect();
            format!("{name:?} is not a sweep parameter: use one of {}", names.join(", "))
        })?;
        let number = |s: &str| s.trim().parse::<f64>().map_err(|_| format!("{s:?} in {text:?} is not a number"));
        let values: Vec<f64> = match values.split(':').collect::<Vec<_>>()[..] {
            [start, stop, step] => {
                let (start, stop, step) = (number(start)?, number(stop)?, number(step)?);
                if !(step > 0.0 && step.is_finite() && start.is_finite() && stop.is_finite() && stop >= start) {
                    return Err(format!("{text:?}: START:STOP:STEP needs STOP ≥ START and a positive STEP"));
                }
                // A hair of tolerance so 0.2:2.0:0.2 ends on 2.0 despite rounding.
                let steps = ((stop - start) / step + 1e-9).floor() as usize + 1;
                if steps > MAX_STEPS {
                    return Err(format!("{text:?} has {steps} steps; at most {MAX_STEPS}"));
                }
                (0..steps).map(|i| start + i as f64 * step).collect()
            }
            [list] => list.split(',').map(number).collect::<Result<_, _>>()?,
            _ => return Err(format!("{text:?}: write NAME=START:STOP:STEP or NAME=V1,V2,...")),
        };
        if values.is_empty() || values.len() > MAX_STEPS {
            return Err(format!("{text:?}: between 1 and {MAX_STEPS} values"));
        }
        for &v in &values {
            param.chain(v).check().map_err(|e| format!("{}={v}: {e}", param.name()))?;
        }
        Ok(Self { param, values })
    }
}

/// One step of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepStep {
    /// The parameter's value (None for the clean reference).
    pub value: Option<f64>,
    /// `acc_<head>` of every head.
    pub accuracy: BTreeMap<String, f64>,
    /// Recall of each class of the primary head.
    pub per_class_recall: BTreeMap<String, Option<f64>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepReport {
    pub model: String,
    pub dataset: String,
    pub split: String,
    pub param: SweepParam,
    pub unit: String,
    pub seed: u64,
    pub notes: usize,
    /// The notes without degradation, for reference.
    pub clean: SweepStep,
    pub steps: Vec<SweepStep>,
}

impl SweepReport {
    /// The primary head's accuracy at each step, (value, accuracy).
    pub fn curve(&self, head: &str) -> Vec<(f64, f64)> {
        let key = format!("acc_{head}");
        self.steps.iter().filter_map(|s| Some((s.value?, *s.accuracy.get(&key)?))).collect()
    }
}

/// Evaluates the split clean and at every step of `sweep`, each note degraded with the step's
/// chain seeded by hash(seed, note) as `eval --chain` does. `progress` hears (step, steps) too:
/// the clean pass is step 0.
pub fn sweep(
    opts: &EvalOptions,
    sweep: &Sweep,
    seed: u64,
    progress: &(dyn Fn(usize, usize, usize, usize) + Sync),
) -> Result<SweepReport, LearnError> {
    let set = EvalSet::open(opts)?;
    let total = sweep.values.len() + 1;
    let step_of = |chain: Option<(&ChainSpec, u64)>, value: Option<f64>, k: usize| -> Result<_, LearnError> {
        let examples = set.examples(chain, opts.threads, &|d, t| progress(k, total, d, t))?;
        let scores = set.score(&examples)?;
        let accuracy = scores.metrics().into_iter().filter(|(k, _)| k.starts_with("acc_")).collect();
        let confusion = Confusion::new(0, set.classes().to_vec(), scores.confused);
        let per_class_recall = set.classes().iter().cloned().zip(confusion.recall()).collect();
        Ok(SweepStep { value, accuracy, per_class_recall })
    };
    let clean = step_of(None, None, 0)?;
    let mut steps = Vec::with_capacity(sweep.values.len());
    for (k, &value) in sweep.values.iter().enumerate() {
        let chain = sweep.param.chain(value);
        steps.push(step_of(Some((&chain, seed)), Some(value), k + 1)?);
    }
    Ok(SweepReport {
        model: set.model_path().display().to_string(),
        dataset: set.dataset_path().display().to_string(),
        split: set.split().as_str().into(),
        param: sweep.param,
        unit: sweep.param.unit().into(),
        seed,
        notes: set.notes(),
        clean,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_include_their_end_and_lists_keep_their_order() {
        let s = Sweep::parse("rt60=0.2:2.0:0.2").unwrap();
        assert_eq!(s.param, SweepParam::Rt60);
        assert_eq!(s.values.len(), 10);
        assert!((s.values[9] - 2.0).abs() < 1e-9);
        assert_eq!(Sweep::parse("snr=-5:30:5").unwrap().values, vec![-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
        assert_eq!(Sweep::parse("opus=64,6,12").unwrap().values, vec![64.0, 6.0, 12.0]);
    }

    #[test]
    fn bad_sweeps_are_refused_by_name() {
        for (text, says) in [
            ("snr", "NAME="),
            ("volume=1:2:1", "not a sweep parameter"),
            ("snr=30:-5:5", "STOP ≥ START"),
            ("snr=-5:30:0", "positive STEP"),
            ("snr=a:b:c", "not a number"),
            ("snr=0:1000000:1", "at most"),
            ("rt60=0.2:20:1", "rt60"),
        ] {
            let e = Sweep::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
