//! The Synthesis ToolKit's physical models (Debian's libstk) as one more library of played notes.
//! A library description (`assets/stk.toml`) gives, per GM program, the model that plays it
//! (a clarinet's reed and bore, a bowed string, lips in a brass tube, a plucked stiff string,
//! a struck bar, FM electric pianos and a tonewheel organ), its level, and the model controls
//! drawn per note. The wind and bowed models are driven by a breath-pressure or bow curve that
//! follows the expression's gain, and every model by the pitch curve, so vibrato, scoops and
//! swells are played by the model itself rather than applied to its output.
//!
//! Notes are rendered at [`STK_RATE_HZ`] (short delay lines at 16 kHz put the high notes out of
//! tune), then resampled; brass at a rate that follows the note (see [`Model::rate_hz`]).

mod ffi;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::controls::{CONTROL_BLOCK, Controls};
use super::soundfont::{BankError, NoteSpec, RenderError, check_note};
use crate::audio::resample::resample;

/// The rate the models run at.
pub const STK_RATE_HZ: u32 = 48_000;
/// Brass notes are rendered at 62.5 times their frequency (frequency/rate 0.016).
const BRASS_RATE_PER_HZ: f64 = 62.5;
/// Where Debian's `stk` package puts the wavetables that ModalBar and the FM models read.
pub const DEFAULT_RAWWAVES: &str = "/usr/share/stk/rawwaves";

/// An STK instrument class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    Clarinet,
    Saxofony,
    Brass,
    Bowed,
    Plucked,
    StifKarp,
    ModalBar,
    Rhodey,
    Wurley,
    BeeThree,
}

impl Model {
    /// The wavetable a model reads from the rawwave folder, if any.
    pub fn rawwave(self) -> Option<&'static str> {
        match self {
            Self::ModalBar => Some("marmstk1.raw"),
            Self::Rhodey | Self::Wurley | Self::BeeThree => Some("sinewave.raw"),
            _ => None,
        }
    }

    /// The rate a note of `frequency_hz` is rendered at. STK's lips speak only while the note
    /// lies near 1/62 of the rate: measured here over pitches 40-82 at 8-48 kHz, a note sounds
    /// at its pitch for every velocity when frequency/rate is 0.012 to 0.021, and not at all
    /// (the lips saturate, closed) below 0.01. A multiple of 400 Hz keeps the resampler short.
    pub fn rate_hz(self, frequency_hz: f64) -> u32 {
        match self {
            Self::Brass => ((frequency_hz * BRASS_RATE_PER_HZ / 400.0).round() as u32).max(10) * 400,
            _ => STK_RATE_HZ,
        }
    }

    /// The frequency to ask the model for so that it sounds `frequency_hz` at `rate_hz`: the
    /// lips sound 30 cents sharp over the whole band above; the bow's loop leaves out about half
    /// a sample of delay (measured: +50 cents at 2.6 kHz, +15 at 880 Hz), and the plucked
    /// strings' loop adds one (-38 cents at 1 kHz, -14 at 415 Hz, -2 at 41 Hz), as does the
    /// saxophone's (-21 cents at 698 Hz, -12 at 330 Hz).
    fn asked(self, frequency_hz: f64, rate_hz: u32) -> f64 {
        let rate = f64::from(rate_hz);
        match self {
            Self::Brass => frequency_hz * 2f64.powf(-30.0 / 1200.0),
            Self::Bowed => rate / (rate / frequency_hz + 0.55),
            Self::Plucked | Self::StifKarp | Self::Saxofony => rate / (rate / frequency_hz - 1.0),
            _ => frequency_hz,
        }
    }

    /// The model's amplitude for a MIDI velocity, kept where the model speaks at its pitch. A
    /// bow drawn faster than about half of STK's full speed jumps to a higher mode of the string
    /// (measured: the twelfth at pitch 46 and the octave from 76 up at amplitude 0.7 and over);
    /// the saxophone's reed speaks at every pitch at 0.4-0.6 and overblows or chokes on a third
    /// of them at 0.85; full breath drives the lips into a subharmonic.
    fn amplitude(self, velocity: u8) -> f64 {
        let v = f64::from(velocity) / 127.0;
        match self {
            Self::Bowed => 0.15 + 0.35 * v,
            Self::Saxofony => 0.4 + 0.2 * v,
            Self::Brass => 0.3 + 0.4 * v,
            _ => v,
        }
    }

    /// Index into the shim's instrument table (its `Kind`).
    fn kind(self) -> i32 {
        self as i32
    }
}

/// A model control (an STK control-change number) drawn per note, uniformly in `lo..=hi`
/// (STK's 0-128 scale).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRange {
    pub number: i32,
    pub lo: f64,
    pub hi: f64,
}

/// How one GM program is played.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voice {
    pub program: u8,
    pub name: String,
    pub model: Model,
    /// Output gain, so the models' levels match the sample libraries'.
    #[serde(default = "one")]
    pub gain: f32,
    #[serde(default)]
    pub controls: Vec<ControlRange>,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Description {
    rawwaves: Option<PathBuf>,
    #[serde(rename = "program")]
    programs: Vec<Voice>,
}

/// A loaded library description.
#[derive(Clone, Debug)]
pub struct StkLibrary {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    rawwaves: PathBuf,
    voices: Vec<Voice>,
}

impl StkLibrary {
    pub fn load(path: &Path) -> Result<Self, BankError> {
        let text = std::fs::read_to_string(path).map_err(|source| BankError::Open { path: path.to_owned(), source })?;
        Self::parse(&text, path)
    }

    /// Parses and checks a description; `path` names it in errors and is where a relative
    /// rawwave folder is found from.
    pub fn parse(text: &str, path: &Path) -> Result<Self, BankError> {
        let invalid = |problem: String| BankError::Malformed { path: path.to_owned(), problem };
        let description: Description = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let rawwaves = match description.rawwaves {
            Some(r) if r.is_relative() => path.parent().unwrap_or(Path::new(".")).join(r),
            Some(r) => r,
            None => PathBuf::from(DEFAULT_RAWWAVES),
        };
        for (i, voice) in description.programs.iter().enumerate() {
            if voice.program > 127 {
                return Err(invalid(format!("program {} is not a GM program (0-127)", voice.program)));
            }
            if description.programs[..i].iter().any(|v| v.program == voice.program) {
                return Err(invalid(format!("program {} is described twice", voice.program)));
            }
            if !(voice.gain.is_finite() && voice.gain > 0.0) {
                return Err(invalid(format!("program {}: gain must be positive", voice.program)));
            }
            if let Some(c) =
                voice.controls.iter().find(|c| !(0.0..=128.0).contains(&c.lo) || !(c.lo..=128.0).contains(&c.hi))
            {
                return Err(invalid(format!(
                    "program {}: control {} needs 0 <= lo <= hi <= 128, got {}..{}",
                    voice.program, c.number, c.lo, c.hi
                )));
            }
            if let Some(file) = voice.model.rawwave() {
                let table = rawwaves.join(file);
                if !table.is_file() {
                    return Err(invalid(format!(
                        "program {} ({:?}) needs the wavetable {} (Debian's stk package)",
                        voice.program,
                        voice.model,
                        table.display()
                    )));
                }
            }
        }
        Ok(Self { inner: Arc::new(Inner { path: path.to_owned(), rawwaves, voices: description.programs }) })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn program_name(&self, program: u8) -> Option<String> {
        self.voice(program).map(|v| v.name.clone())
    }

    pub fn voice(&self, program: u8) -> Option<&Voice> {
        self.inner.voices.iter().find(|v| v.program == program)
    }

    /// A note played by the program's model through `controls` (steady when `None`), at the
    /// spec's rate. The model controls drawn for it and its noise depend only on the program,
    /// pitch and velocity, so a note renders the same every time.
    pub fn render_played(
        &self,
        program: u8,
        pitch: u8,
        velocity: u8,
        spec: &NoteSpec,
        controls: Option<&Controls>,
    ) -> Result<Vec<f32>, RenderError> {
        check_note(pitch, velocity, spec)?;
        let voice =
            self.voice(program).ok_or_else(|| RenderError::MissingProgram { program, path: self.path().to_owned() })?;
        let seed = xxhash_rust::xxh3::xxh3_64(&[program, pitch, velocity]);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ccs: Vec<(i32, f64)> = voice
            .controls
            .iter()
            .map(|c| (c.number, if c.hi > c.lo { rng.random_range(c.lo..=c.hi) } else { c.lo }))
            .collect();
        let steady = Controls { cents: vec![0.0], gain: vec![1.0] };
        let controls = controls.unwrap_or(&steady);
        let frequency_hz = 440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0);
        let rate_hz = voice.model.rate_hz(frequency_hz);
        let scale = f64::from(rate_hz) / f64::from(spec.sample_rate_hz);
        let block = (CONTROL_BLOCK as f64 * scale).round().max(1.0) as usize;
        let n = (spec.num_samples() as f64 * scale).ceil() as usize;
        let hold = (f64::from(spec.hold_secs) * f64::from(rate_hz)).round() as usize;
        let note = ffi::Note {
            model: voice.model.kind(),
            rate_hz,
            frequency_hz: voice.model.asked(frequency_hz, rate_hz),
            amplitude: voice.model.amplitude(velocity),
            cents: &controls.cents,
            gain: &controls.gain,
            block,
            hold,
            controls: &ccs,
            seed: (seed >> 32) as u32,
        };
        let raw = ffi::render(&self.inner.rawwaves, &note, n).map_err(|problem| RenderError::Stk {
            path: self.path().to_owned(),
            program,
            problem,
        })?;
        let mut out = resample(&raw, rate_hz, spec.sample_rate_hz).map_err(|e| RenderError::Stk {
            path: self.path().to_owned(),
            program,
            problem: e.to_string(),
        })?;
        out.resize(spec.num_samples(), 0.0);
        out.iter_mut().for_each(|s| *s *= voice.gain);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_checked_and_name_the_problem() {
        let path = Path::new("lib.toml");
        let ok = "[[program]]\nprogram = 71\nname = \"Clarinet\"\nmodel = \"clarinet\"\n\
                  controls = [{ number = 2, lo = 40, hi = 90 }]\n";
        let lib = StkLibrary::parse(ok, path).unwrap();
        assert_eq!(lib.program_name(71).as_deref(), Some("Clarinet"));
        assert!(lib.program_name(70).is_none());
        let err = |text: &str| StkLibrary::parse(text, path).unwrap_err().to_string();
        assert!(err(&format!("{ok}{ok}")).contains("program 71 is described twice"));
        assert!(err(&ok.replace("clarinet\"", "kazoo\"")).contains("kazoo"));
        assert!(err(&ok.replace("hi = 90", "hi = 200")).contains("control 2 needs"));
        let bar = "rawwaves = \"/nonexistent\"\n[[program]]\nprogram = 12\nname = \"Marimba\"\nmodel = \"modal_bar\"\n";
        assert!(err(bar).contains("/nonexistent/marmstk1.raw"));
    }
}
