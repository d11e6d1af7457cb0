//! Single notes rendered from an SF2 SoundFont with NSynth's protocol (4 s, note off at 3 s, mono, dry).

use std::fs::File;
use std::io::BufReader;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};
use thiserror::Error;

use super::controls::{CONTROL_BLOCK, Controls};
use crate::audio::ANALYSIS_RATE_HZ;

mod check;

/// Melodic channel used for every note; GM reserves channel 10 (index 9) for drums.
const MELODIC_CHANNEL: i32 = 0;
/// MIDI status byte for a program change.
const PROGRAM_CHANGE: i32 = 0xC0;
const PITCH_BEND: i32 = 0xE0;
const CONTROL_CHANGE: i32 = 0xB0;
const EXPRESSION_CC: i32 = 11;
/// The pitch-bend range a reset channel has: 2 semitones either way.
const BEND_RANGE_CENTS: f32 = 200.0;

/// A SoundFont could not be loaded.
#[derive(Debug, Error)]
pub enum BankError {
    #[error("cannot open SoundFont {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid SF2 SoundFont (SF3 is not supported)")]
    Parse {
        path: PathBuf,
        #[source]
        source: rustysynth::SoundFontError,
    },
    #[error("{path}, line {line}: {problem}")]
    Config { path: PathBuf, line: usize, problem: String },
    #[error("{path} is not a valid SF2 SoundFont: {problem}")]
    Malformed { path: PathBuf, problem: String },
}

/// A note could not be rendered.
#[derive(Debug, Error)]
pub enum RenderError {
    #[error("MIDI {what} must be in {min}..=127, got {value}")]
    MidiOutOfRange { what: &'static str, min: u8, value: u8 },
    #[error("GM program {program} (bank 0) is not in {path}")]
    MissingProgram { program: u8, path: PathBuf },
    #[error("note spec needs 0 < hold_secs <= duration_secs, got hold {hold_secs} s of {duration_secs} s")]
    InvalidSpec { duration_secs: f32, hold_secs: f32 },
    #[error("the synthesizer rejected its settings")]
    Synth(#[from] rustysynth::SynthesizerError),
    #[error("GUS patch {path}: {problem}")]
    Patch { path: PathBuf, problem: String },
    #[error("{path}: the synthesizer failed on program {program}'s data (a damaged bank?)")]
    Damaged { program: u8, path: PathBuf },
    #[error("{path}: the STK model of program {program} failed: {problem}")]
    Stk { path: PathBuf, program: u8, problem: String },
}

/// Timing and rate of one rendered note.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteSpec {
    /// Output rate; rustysynth accepts 16 kHz to 192 kHz.
    pub sample_rate_hz: u32,
    pub duration_secs: f32,
    /// Note off is sent this long after note on; the rest is release.
    pub hold_secs: f32,
}

impl NoteSpec {
    /// NSynth: note on at 0, note off at 3 s, 4 s in all, 16 kHz.
    pub const NSYNTH: NoteSpec = NoteSpec { sample_rate_hz: ANALYSIS_RATE_HZ, duration_secs: 4.0, hold_secs: 3.0 };

    pub fn num_samples(&self) -> usize {
        (self.duration_secs as f64 * self.sample_rate_hz as f64).round() as usize
    }

    pub fn hold_samples(&self) -> usize {
        (self.hold_secs as f64 * self.sample_rate_hz as f64).round() as usize
    }

    fn validate(&self) -> Result<(), RenderError> {
        let ok = self.duration_secs.is_finite() && self.hold_secs > 0.0 && self.hold_secs <= self.duration_secs;
        if ok {
            Ok(())
        } else {
            Err(RenderError::InvalidSpec { duration_secs: self.duration_secs, hold_secs: self.hold_secs })
        }
    }
}

impl Default for NoteSpec {
    fn default() -> Self {
        Self::NSYNTH
    }
}

/// A parsed SF2 bank, cheap to clone and share between threads.
#[derive(Clone, Debug)]
pub struct SoundFontBank {
    path: PathBuf,
    sound_font: Arc<SoundFont>,
}

impl SoundFontBank {
    /// Parses the whole file once; renderers share the parsed samples.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, BankError> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).map_err(|source| BankError::Open { path: path.clone(), source })?;
        let malformed = |problem: String| BankError::Malformed { path: path.clone(), problem };
        check::chunk_sizes(&mut file).map_err(malformed)?;
        // rustysynth indexes its tables with values from the file: a damaged bank can panic it.
        let sound_font = catch_unwind(AssertUnwindSafe(|| SoundFont::new(&mut BufReader::new(file))))
            .map_err(|_| malformed("its tables point outside themselves (the parser failed)".into()))?
            .map_err(|source| BankError::Parse { path: path.clone(), source })?;
        check::sample_ranges(&sound_font).map_err(malformed)?;
        Ok(Self { path, sound_font: Arc::new(sound_font) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn sound_font(&self) -> &Arc<SoundFont> {
        &self.sound_font
    }

    /// Name of the melodic (bank 0) preset for a GM program, if the bank has one.
    pub fn program_name(&self, program: u8) -> Option<&str> {
        self.sound_font
            .get_presets()
            .iter()
            .find(|p| p.get_bank_number() == 0 && p.get_patch_number() == i32::from(program))
            .map(|p| p.get_name())
    }

    /// A renderer owning its own synthesizer: make one per thread for bulk rendering.
    pub fn renderer(&self, sample_rate_hz: u32) -> Result<NoteRenderer, RenderError> {
        NoteRenderer::new(self, sample_rate_hz)
    }

    /// Renders one note with a fresh synthesizer; for many notes reuse a [`NoteRenderer`].
    pub fn render_note(&self, program: u8, pitch: u8, velocity: u8, spec: &NoteSpec) -> Result<Vec<f32>, RenderError> {
        self.renderer(spec.sample_rate_hz)?.render_note(program, pitch, velocity, spec)
    }
}

/// One synthesizer bound to a bank; not shared, so hold one per worker thread.
pub struct NoteRenderer {
    bank: SoundFontBank,
    synth: Synthesizer,
    left: Vec<f32>,
    right: Vec<f32>,
}

impl NoteRenderer {
    pub fn new(bank: &SoundFontBank, sample_rate_hz: u32) -> Result<Self, RenderError> {
        Ok(Self {
            bank: bank.clone(),
            synth: dry_synth(&bank.sound_font, sample_rate_hz)?,
            left: Vec::new(),
            right: Vec::new(),
        })
    }

    pub fn bank(&self) -> &SoundFontBank {
        &self.bank
    }

    /// Mono note (mean of the synth's left and right) at the synth's default gain, not normalised,
    /// so [`peak_abs`] of the result compares across notes when dropping near-silent renders.
    pub fn render_note(
        &mut self,
        program: u8,
        pitch: u8,
        velocity: u8,
        spec: &NoteSpec,
    ) -> Result<Vec<f32>, RenderError> {
        self.render_played(program, pitch, velocity, spec, None)
    }

    /// [`Self::render_note`] played through the synthesiser's controls: before each block, the
    /// pitch bend and the expression (MIDI CC 11) that `controls` give.
    pub fn render_played(
        &mut self,
        program: u8,
        pitch: u8,
        velocity: u8,
        spec: &NoteSpec,
        controls: Option<&Controls>,
    ) -> Result<Vec<f32>, RenderError> {
        check_midi("program", 0, program)?;
        check_note(pitch, velocity, spec)?;
        // rustysynth silently falls back to its default preset; a data set must not.
        if self.bank.program_name(program).is_none() {
            return Err(RenderError::MissingProgram { program, path: self.bank.path.clone() });
        }
        if self.synth.get_sample_rate() != spec.sample_rate_hz as i32 {
            self.synth = dry_synth(&self.bank.sound_font, spec.sample_rate_hz)?;
        }

        let total = spec.num_samples();
        let hold = spec.hold_samples().min(total);
        self.left.resize(total, 0.0);
        self.right.resize(total, 0.0);

        let (synth, left, right) = (&mut self.synth, &mut self.left, &mut self.right);
        // The ranges were checked at load, but an extreme pitch can still step an oscillator past
        // a short loop inside rustysynth: that note is an error, and the synthesizer is rebuilt.
        let played = catch_unwind(AssertUnwindSafe(|| {
            // reset() also sets the next render to start a fresh block, so the note starts at sample 0.
            synth.reset();
            synth.process_midi_message(MELODIC_CHANNEL, PROGRAM_CHANGE, i32::from(program), 0);
            synth.note_on(MELODIC_CHANNEL, i32::from(pitch), i32::from(velocity));
            let Some(controls) = controls else {
                synth.render(&mut left[..hold], &mut right[..hold]);
                // Takes effect at the next 64-sample block (4 ms at 16 kHz); exact when hold is a multiple.
                synth.note_off(MELODIC_CHANNEL, i32::from(pitch));
                synth.render(&mut left[hold..], &mut right[hold..]);
                return;
            };
            let mut held = true;
            for start in (0..total).step_by(CONTROL_BLOCK) {
                let end = (start + CONTROL_BLOCK).min(total);
                if held && start >= hold {
                    synth.note_off(MELODIC_CHANNEL, i32::from(pitch));
                    held = false;
                }
                let (cents, gain) = controls.at(start);
                // 14-bit bend, 8192 at rest, over the default range of 2 semitones either way.
                let bend = (8192.0 + cents / BEND_RANGE_CENTS * 8192.0).round().clamp(0.0, 16383.0) as i32;
                synth.process_midi_message(MELODIC_CHANNEL, PITCH_BEND, bend & 0x7F, bend >> 7);
                // rustysynth's channel gain is the square of volume times expression.
                let expression = (gain.clamp(0.0, 1.0).sqrt() * 127.0).round() as i32;
                synth.process_midi_message(MELODIC_CHANNEL, CONTROL_CHANGE, EXPRESSION_CC, expression);
                synth.render(&mut left[start..end], &mut right[start..end]);
            }
        }));
        if played.is_err() {
            self.synth = dry_synth(&self.bank.sound_font, spec.sample_rate_hz)?;
            return Err(RenderError::Damaged { program, path: self.bank.path.clone() });
        }

        Ok(self.left.iter().zip(&self.right).map(|(l, r)| 0.5 * (l + r)).collect())
    }
}

/// Largest absolute sample; 0 for an empty or silent render.
pub fn peak_abs(samples: &[f32]) -> f32 {
    samples.iter().fold(0.0_f32, |peak, s| peak.max(s.abs()))
}

/// NSynth's notes are dry, so reverb and chorus stay off.
fn dry_synth(sound_font: &Arc<SoundFont>, sample_rate_hz: u32) -> Result<Synthesizer, RenderError> {
    let mut settings = SynthesizerSettings::new(i32::try_from(sample_rate_hz).unwrap_or(i32::MAX));
    settings.enable_reverb_and_chorus = false;
    Ok(Synthesizer::new(sound_font, &settings)?)
}

/// The checks every library's renderer makes on a note before playing it.
pub fn check_note(pitch: u8, velocity: u8, spec: &NoteSpec) -> Result<(), RenderError> {
    check_midi("pitch", 0, pitch)?;
    // Velocity 0 is a note off in MIDI, so it would render silence.
    check_midi("velocity", 1, velocity)?;
    spec.validate()
}

fn check_midi(what: &'static str, min: u8, value: u8) -> Result<(), RenderError> {
    if (min..=127).contains(&value) { Ok(()) } else { Err(RenderError::MidiOutOfRange { what, min, value }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsynth_spec_has_the_protocol_lengths() {
        let spec = NoteSpec::NSYNTH;
        assert_eq!(spec.num_samples(), 64_000);
        assert_eq!(spec.hold_samples(), 48_000);
    }

    #[test]
    fn hold_past_duration_is_rejected() {
        let spec = NoteSpec { hold_secs: 5.0, ..NoteSpec::NSYNTH };
        assert!(matches!(spec.validate(), Err(RenderError::InvalidSpec { .. })));
    }

    #[test]
    fn bank_is_shared_and_renderers_move_between_threads() {
        fn shared<T: Send + Sync>() {}
        fn sendable<T: Send>() {}
        shared::<SoundFontBank>();
        sendable::<NoteRenderer>();
    }

    #[test]
    fn peak_abs_sees_negative_peaks() {
        assert_eq!(peak_abs(&[0.1, -0.7, 0.5]), 0.7);
        assert_eq!(peak_abs(&[]), 0.0);
    }
}
