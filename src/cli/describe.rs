//! `describe`: the five timbre descriptors of one note, as JSON.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use timbrescope::audio::load_clip;
use timbrescope::dsp::descriptors::{Descriptors, describe_note, estimate_pitch};

#[derive(Args)]
pub struct DescribeArgs {
    /// A clip of one note (WAV, FLAC, MP3, Ogg Vorbis); analysed as 16 kHz mono.
    clip: PathBuf,
    /// The note's MIDI pitch (0..=127, fractional allowed). Default: from an NSynth-style file
    /// name ending in -PPP-VVV, else estimated from the clip.
    #[arg(long)]
    pitch: Option<f32>,
}

/// What `describe` prints.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DescribeReport {
    pub clip: String,
    pub pitch: f32,
    /// "argument", "file name" or "estimated".
    pub pitch_source: &'static str,
    #[serde(flatten)]
    pub descriptors: Descriptors,
}

pub fn run(args: DescribeArgs) -> anyhow::Result<()> {
    // Refuse a bad --pitch before spending time on decoding.
    if let Some(pitch) = args.pitch {
        validate_pitch(pitch)?;
    }
    let clip = load_clip(&args.clip)?;
    let report = describe_samples(&args.clip, &clip.samples, clip.sample_rate_hz, args.pitch)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The report for samples already loaded from `clip`; the pitch comes from `pitch` (validated),
/// else the file name, else an estimate.
pub fn describe_samples(
    clip: &Path,
    samples: &[f32],
    sample_rate_hz: u32,
    pitch: Option<f32>,
) -> anyhow::Result<DescribeReport> {
    let (pitch, pitch_source) = match pitch {
        Some(p) => (validate_pitch(p)?, "argument"),
        None => match pitch_from_file_name(clip) {
            Some(p) => (p, "file name"),
            None => (
                estimate_pitch(samples, sample_rate_hz).with_context(|| {
                    format!(
                        "{}: no pitch: give --pitch, or name the file like NSynth (…-PPP-VVV); \
                         the clip is too quiet to estimate one",
                        clip.display()
                    )
                })?,
                "estimated",
            ),
        },
    };
    Ok(DescribeReport {
        clip: clip.display().to_string(),
        pitch,
        pitch_source,
        descriptors: describe_note(samples, sample_rate_hz, pitch),
    })
}

/// The pitch of an NSynth-style file stem `<instrument>-PPP-VVV`, e.g.
/// `keyboard_acoustic_004-060-100` → 60: three digits each, pitch at most 127.
pub fn pitch_from_file_name(path: &Path) -> Option<f32> {
    let stem = path.file_stem()?.to_str()?;
    let mut parts = stem.rsplitn(3, '-');
    let (velocity, pitch, instrument) = (parts.next()?, parts.next()?, parts.next()?);
    let three_digits = |s: &str| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit());
    if instrument.is_empty() || !three_digits(velocity) || !three_digits(pitch) {
        return None;
    }
    let midi: u8 = pitch.parse().ok()?;
    (midi <= 127).then_some(midi as f32)
}

fn validate_pitch(pitch: f32) -> anyhow::Result<f32> {
    if pitch.is_finite() && (0.0..=127.0).contains(&pitch) {
        Ok(pitch)
    } else {
        anyhow::bail!("--pitch must be a MIDI note number in 0..=127, got {pitch}")
    }
}
