//! A chain of degradation stages, as a file states it (fixed values or ranges to draw from) and
//! as applied (every value drawn). One seed drives every draw, so a chain and a seed always give
//! bit-identical output, and the drawn values are reported.

use std::path::Path;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::codec::Codec;
use super::eq::Eq;
use super::noise::{NoiseColor, SNR_RANGE_DB, add_noise};
use super::rir::{RT60_RANGE_S, RirSpec, mid, room_response};
use super::{DegradeError, check_range};

/// A parameter in a chain file: a number, `{ uniform = [lo, hi] }` or `{ choice = [a, b, ...] }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    Fixed(f64),
    Uniform { uniform: [f64; 2] },
    Choice { choice: Vec<f64> },
}

impl Param {
    /// Every value this parameter can take passes `check` (the ends of a range stand for it).
    fn check(&self, check: &dyn Fn(f64) -> Result<(), DegradeError>) -> Result<(), DegradeError> {
        match self {
            Param::Fixed(v) => check(*v),
            Param::Uniform { uniform: [lo, hi] } => {
                check(*lo)?;
                check(*hi)?;
                if lo > hi {
                    return Err(DegradeError::parameter(
                        "uniform",
                        format!("[{lo}, {hi}]"),
                        "the low end must not exceed the high end",
                    ));
                }
                Ok(())
            }
            Param::Choice { choice } if choice.is_empty() => {
                Err(DegradeError::parameter("choice", "[]", "at least one value"))
            }
            Param::Choice { choice } => choice.iter().try_for_each(|v| check(*v)),
        }
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Param::Fixed(v) => *v,
            Param::Uniform { uniform: [lo, hi] } if lo == hi => *lo,
            Param::Uniform { uniform: [lo, hi] } => rng.random_range(*lo..=*hi),
            Param::Choice { choice } => choice[rng.random_range(0..choice.len())],
        }
    }
}

/// A stage as a chain file states it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StageSpec {
    Reverb {
        rt60_s: Param,
        #[serde(default)]
        binaural: bool,
    },
    Noise {
        color: NoiseColor,
        snr_db: Param,
    },
    LowShelf {
        freq_hz: Param,
        gain_db: Param,
    },
    HighShelf {
        freq_hz: Param,
        gain_db: Param,
    },
    BandPass {
        low_hz: Param,
        high_hz: Param,
    },
    Mp3 {
        kbps: Param,
    },
    Opus {
        kbps: Param,
    },
}

/// A stage with every value drawn: what is applied, and what is reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stage {
    Reverb { rt60_s: f64, binaural: bool, room_seed: u64 },
    Noise { color: NoiseColor, snr_db: f64, noise_seed: u64 },
    LowShelf { freq_hz: f64, gain_db: f64 },
    HighShelf { freq_hz: f64, gain_db: f64 },
    BandPass { low_hz: f64, high_hz: f64 },
    Mp3 { kbps: u32 },
    Opus { kbps: u32 },
}

impl Stage {
    pub fn kind(&self) -> &'static str {
        match self {
            Stage::Reverb { .. } => "reverb",
            Stage::Noise { .. } => "noise",
            Stage::LowShelf { .. } => "low_shelf",
            Stage::HighShelf { .. } => "high_shelf",
            Stage::BandPass { .. } => "band_pass",
            Stage::Mp3 { .. } => "mp3",
            Stage::Opus { .. } => "opus",
        }
    }

    /// The same stage as a spec of fixed values.
    pub fn to_spec(&self) -> StageSpec {
        use Param::Fixed;
        match *self {
            Stage::Reverb { rt60_s, binaural, .. } => StageSpec::Reverb { rt60_s: Fixed(rt60_s), binaural },
            Stage::Noise { color, snr_db, .. } => StageSpec::Noise { color, snr_db: Fixed(snr_db) },
            Stage::LowShelf { freq_hz, gain_db } => {
                StageSpec::LowShelf { freq_hz: Fixed(freq_hz), gain_db: Fixed(gain_db) }
            }
            Stage::HighShelf { freq_hz, gain_db } => {
                StageSpec::HighShelf { freq_hz: Fixed(freq_hz), gain_db: Fixed(gain_db) }
            }
            Stage::BandPass { low_hz, high_hz } => {
                StageSpec::BandPass { low_hz: Fixed(low_hz), high_hz: Fixed(high_hz) }
            }
            Stage::Mp3 { kbps } => StageSpec::Mp3 { kbps: Fixed(f64::from(kbps)) },
            Stage::Opus { kbps } => StageSpec::Opus { kbps: Fixed(f64::from(kbps)) },
        }
    }
}

/// The ordered stages of a chain file (`[[stage]]` tables in TOML, or `{"stage": [...]}` in JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Each stage applies to a clip with this probability, drawn per clip, so that training
    /// sees every degradation alone and in combination; unset applies every stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_probability: Option<f64>,
    #[serde(default)]
    pub stage: Vec<StageSpec>,
}

fn in_range(name: &'static str, lo: f64, hi: f64, unit: &'static str) -> impl Fn(f64) -> Result<(), DegradeError> {
    move |v| check_range(name, v, lo, hi, unit).map(|_| ())
}

impl ChainSpec {
    /// Reads a chain from TOML, or JSON when the file name ends in `.json`; checks every value.
    /// `shipped:NAME` reads the chain of that name inside the binary (`assets/chains/NAME.toml`).
    pub fn load(path: &Path) -> Result<Self, DegradeError> {
        let bad = |reason: String| DegradeError::ChainFile { path: path.to_owned(), reason };
        let text = match path.to_str().and_then(super::shipped::text) {
            Some(shipped) => shipped.map_err(bad)?.to_owned(),
            None => std::fs::read_to_string(path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => bad(format!("{e} ({})", super::shipped::names())),
                _ => bad(e.to_string()),
            })?,
        };
        let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let spec: ChainSpec = if json {
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| bad(e.to_string()))?
        };
        spec.check().map_err(|e| bad(e.to_string()))?;
        Ok(spec)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a chain always serialises")
    }

    /// Every value any stage can draw is one its stage accepts; errors name the stage.
    pub fn check(&self) -> Result<(), DegradeError> {
        if let Some(p) = self.stage_probability {
            check_range("stage_probability", p, 0.0, 1.0, "")?;
        }
        for (i, stage) in self.stage.iter().enumerate() {
            stage_check(stage).map_err(|e| match e {
                DegradeError::Parameter { name, value, allowed } => DegradeError::Parameter {
                    name: format!("stage {} ({}): {name}", i + 1, stage_kind(stage)),
                    value,
                    allowed,
                },
                other => other,
            })?;
        }
        Ok(())
    }

    /// Draws every value from `seed`. Each stage draws in order from one generator, and stages
    /// that make noise or rooms get their own seed from it.
    pub fn draw(&self, seed: u64) -> Result<Vec<Stage>, DegradeError> {
        self.check()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Which stages apply comes from a stream of its own: the drawn values stay the same
        // whatever the probability.
        let mut keep = ChaCha8Rng::seed_from_u64(seed ^ 0x5354_4147_4550_524f);
        let p = self.stage_probability.unwrap_or(1.0);
        let drawn: Vec<Stage> = self
            .stage
            .iter()
            .map(|spec| match spec {
                StageSpec::Reverb { rt60_s, binaural } => {
                    Stage::Reverb { rt60_s: rt60_s.draw(&mut rng), binaural: *binaural, room_seed: rng.random() }
                }
                StageSpec::Noise { color, snr_db } => {
                    Stage::Noise { color: *color, snr_db: snr_db.draw(&mut rng), noise_seed: rng.random() }
                }
                StageSpec::LowShelf { freq_hz, gain_db } => {
                    Stage::LowShelf { freq_hz: freq_hz.draw(&mut rng), gain_db: gain_db.draw(&mut rng) }
                }
                StageSpec::HighShelf { freq_hz, gain_db } => {
                    Stage::HighShelf { freq_hz: freq_hz.draw(&mut rng), gain_db: gain_db.draw(&mut rng) }
                }
                StageSpec::BandPass { low_hz, high_hz } => {
                    Stage::BandPass { low_hz: low_hz.draw(&mut rng), high_hz: high_hz.draw(&mut rng) }
                }
                StageSpec::Mp3 { kbps } => Stage::Mp3 { kbps: Codec::Mp3.nearest_kbps(kbps.draw(&mut rng)) },
                StageSpec::Opus { kbps } => Stage::Opus { kbps: Codec::Opus.nearest_kbps(kbps.draw(&mut rng)) },
            })
            .collect();
        Ok(drawn.into_iter().filter(|_| p >= 1.0 || keep.random_bool(p)).collect())
    }
}

fn stage_kind(spec: &StageSpec) -> &'static str {
    match spec {
        StageSpec::Reverb { .. } => "reverb",
        StageSpec::Noise { .. } => "noise",
        StageSpec::LowShelf { .. } => "low_shelf",
        StageSpec::HighShelf { .. } => "high_shelf",
        StageSpec::BandPass { .. } => "band_pass",
        StageSpec::Mp3 { .. } => "mp3",
        StageSpec::Opus { .. } => "opus",
    }
}

/// Frequencies a stage may name at the analysis rate (below 0.45 of 16 kHz).
pub const MAX_EQ_HZ: f64 = 7200.0;

fn stage_check(spec: &StageSpec) -> Result<(), DegradeError> {
    let eq_hz = in_range("freq_hz", super::eq::MIN_HZ, MAX_EQ_HZ, " Hz");
    let gain = in_range("gain_db", super::eq::GAIN_RANGE_DB[0], super::eq::GAIN_RANGE_DB[1], " dB");
    match spec {
        StageSpec::Reverb { rt60_s, .. } => rt60_s.check(&in_range("rt60_s", RT60_RANGE_S[0], RT60_RANGE_S[1], " s")),
        StageSpec::Noise { snr_db, .. } => snr_db.check(&in_range("snr_db", SNR_RANGE_DB[0], SNR_RANGE_DB[1], " dB")),
        StageSpec::LowShelf { freq_hz, gain_db } | StageSpec::HighShelf { freq_hz, gain_db } => {
            freq_hz.check(&eq_hz)?;
            gain_db.check(&gain)
        }
        StageSpec::BandPass { low_hz, high_hz } => {
            low_hz.check(&in_range("low_hz", super::eq::MIN_HZ, MAX_EQ_HZ, " Hz"))?;
            high_hz.check(&in_range("high_hz", super::eq::MIN_HZ, MAX_EQ_HZ, " Hz"))
        }
        // A range is snapped to the codec's rates when drawn; fixed values must be exact.
        StageSpec::Mp3 { kbps } | StageSpec::Opus { kbps } => {
            let codec = if matches!(spec, StageSpec::Mp3 { .. }) { Codec::Mp3 } else { Codec::Opus };
            match kbps {
                Param::Fixed(v) => codec.check_kbps(*v).map(|_| ()),
                Param::Choice { choice } if !choice.is_empty() => {
                    choice.iter().try_for_each(|v| codec.check_kbps(*v).map(|_| ()))
                }
                other => other.check(&in_range("kbps", 6.0, 510.0, " kbit/s")),
            }
        }
    }
}

/// Values a stage measured on its own output (a room's T30, a codec's real bit rate).
pub type Measured = serde_json::Map<String, serde_json::Value>;

/// What a stage did, beside what it was asked: measured values worth reporting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Applied {
    #[serde(flatten)]
    pub stage: Stage,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub measured: Measured,
}

/// The degraded signal: one channel, or two (left, right) after a binaural room.
#[derive(Clone, Debug)]
pub struct Degraded {
    pub channels: Vec<Vec<f32>>,
    pub sample_rate_hz: u32,
    pub applied: Vec<Applied>,
}

impl Degraded {
    /// What the model hears: the mean of the channels.
    pub fn mid(&self) -> Vec<f32> {
        if self.channels.len() == 1 { self.channels[0].clone() } else { mid(&self.channels) }
    }
}

/// Applies `stages` to a mono signal as a model hears it: a binaural room is heard as its mid
/// (one convolution), and every later stage works on that one channel. The output has the
/// input's length and rate.
pub fn apply_chain(input: &[f32], sample_rate_hz: u32, stages: &[Stage]) -> Result<Degraded, DegradeError> {
    ChainRunner::default().run(&Arc::from(input), sample_rate_hz, stages)
}

/// As [`apply_chain`], but a binaural room's two ears are carried through every later stage
/// (noise per ear, codec per ear), for listening.
pub fn apply_chain_ears(input: &[f32], sample_rate_hz: u32, stages: &[Stage]) -> Result<Degraded, DegradeError> {
    ChainRunner::with_ears().run(&Arc::from(input), sample_rate_hz, stages)
}

/// Runs chains on one clip after another, keeping each stage's output so that a change to a
/// later stage (a slider moved) recomputes only from that stage on.
#[derive(Default)]
pub struct ChainRunner {
    input: Option<(Arc<[f32]>, u32)>,
    done: Vec<(Applied, Vec<Vec<f32>>)>,
    /// Keep both ears of a binaural room (for listening) instead of its mid.
    ears: bool,
}

impl ChainRunner {
    /// A runner that keeps both ears of a binaural room through the rest of the chain.
    pub fn with_ears() -> Self {
        Self { ears: true, ..Self::default() }
    }

    pub fn run(&mut self, input: &Arc<[f32]>, sample_rate_hz: u32, stages: &[Stage]) -> Result<Degraded, DegradeError> {
        let same_input = self.input.as_ref().is_some_and(|(i, sr)| Arc::ptr_eq(i, input) && *sr == sample_rate_hz);
        if !same_input {
            self.input = Some((input.clone(), sample_rate_hz));
            self.done.clear();
        }
        let keep = self.done.iter().zip(stages).take_while(|((applied, _), stage)| &applied.stage == *stage).count();
        self.done.truncate(keep);
        for stage in &stages[keep..] {
            let channels = match self.done.last() {
                Some((_, out)) => out.clone(),
                None => vec![input.to_vec()],
            };
            let (out, measured) = apply_stage(stage, channels, sample_rate_hz, self.ears)?;
            self.done.push((Applied { stage: stage.clone(), measured }, out));
        }
        let channels = match self.done.last() {
            Some((_, out)) => out.clone(),
            None => vec![input.to_vec()],
        };
        Ok(Degraded { channels, sample_rate_hz, applied: self.done.iter().map(|(a, _)| a.clone()).collect() })
    }
}

fn apply_stage(
    stage: &Stage,
    mut channels: Vec<Vec<f32>>,
    sr: u32,
    ears: bool,
) -> Result<(Vec<Vec<f32>>, Measured), DegradeError> {
    let mut measured = serde_json::Map::new();
    let len = channels[0].len();
    match *stage {
        Stage::Reverb { rt60_s, binaural, room_seed } => {
            let response = room_response(&RirSpec { rt60_s, binaural, seed: room_seed, sofa: None }, sr)?;
            // A room after a binaural room hears the mid: rooms are not stereo-in here.
            let dry = if channels.len() == 1 { channels.swap_remove(0) } else { mid(&channels) };
            channels = if ears {
                let kernels: Vec<&[f32]> = response.channels.iter().map(Vec::as_slice).collect();
                super::convolve::convolve_many(&dry, &kernels, len)
            } else {
                vec![super::convolve::convolve(&dry, &response.mid(), len)]
            };
            measured.insert("rt60_s".into(), serde_json::json!(round(response.measured_rt60_s, 4)));
            measured.insert("room".into(), serde_json::to_value(&response.room).expect("plain numbers"));
        }
        Stage::Noise { color, snr_db, noise_seed } => {
            let mut rng = ChaCha8Rng::seed_from_u64(noise_seed);
            for ch in &mut channels {
                add_noise(ch, color, snr_db, &mut rng)?;
            }
        }
        Stage::LowShelf { freq_hz, gain_db } => eq(&mut channels, Eq::LowShelf { freq_hz, gain_db }, sr)?,
        Stage::HighShelf { freq_hz, gain_db } => eq(&mut channels, Eq::HighShelf { freq_hz, gain_db }, sr)?,
        Stage::BandPass { low_hz, high_hz } => eq(&mut channels, Eq::BandPass { low_hz, high_hz }, sr)?,
        Stage::Mp3 { kbps } | Stage::Opus { kbps } => {
            let codec = if matches!(stage, Stage::Mp3 { .. }) { Codec::Mp3 } else { Codec::Opus };
            let mut actual = 0.0;
            for ch in &mut channels {
                let out = codec.round_trip(ch, sr, f64::from(kbps))?;
                actual = out.actual_kbps;
                *ch = out.samples;
            }
            measured.insert("actual_kbps".into(), serde_json::json!(round(actual, 2)));
        }
    }
    Ok((channels, measured))
}

fn eq(channels: &mut [Vec<f32>], eq: Eq, sr: u32) -> Result<(), DegradeError> {
    let sections = eq.design(sr)?;
    for ch in channels {
        super::eq::apply(&sections, ch);
    }
    Ok(())
}

fn round(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (v * p).round() / p
}
