//! Demo clips embedded in the binary, one per family, so a first launch has something to show.

use std::io::Cursor;

use thiserror::Error;

use crate::audio::{ANALYSIS_RATE_HZ, Clip};

/// One embedded note: rendered from FluidR3_GM.sf2 with NSynth's protocol (see assets/README.md).
#[derive(Clone, Copy, Debug)]
pub struct DemoClip {
    /// File stem, e.g. `piano_C4`.
    pub name: &'static str,
    pub instrument: &'static str,
    pub family: &'static str,
    /// General MIDI program (0-based) it was rendered with.
    pub gm_program: u8,
    pub midi_pitch: u8,
    /// A 16-bit PCM mono WAV at the analysis rate.
    pub wav_bytes: &'static [u8],
}

/// An embedded WAV is not the 16-bit mono clip at the analysis rate it should be.
#[derive(Debug, Error)]
pub enum DemoError {
    #[error("demo clip {name} is not a readable WAV")]
    Wav {
        name: &'static str,
        #[source]
        source: hound::Error,
    },
    #[error("demo clip {name} is {channels} ch, {bits} bit, {rate_hz} Hz; expected mono 16-bit {ANALYSIS_RATE_HZ} Hz")]
    Format { name: &'static str, channels: u16, bits: u16, rate_hz: u32 },
}

macro_rules! demo_wav {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/", $file, ".wav"))
    };
}

macro_rules! demo_clip {
    ($name:literal, $instrument:literal, $family:literal, $program:literal, $pitch:literal) => {
        DemoClip {
            name: $name,
            instrument: $instrument,
            family: $family,
            gm_program: $program,
            midi_pitch: $pitch,
            wav_bytes: demo_wav!($name),
        }
    };
}

static DEMO_CLIPS: [DemoClip; 8] = [
    demo_clip!("piano_C4", "acoustic grand piano", "keyboard", 0, 60),
    demo_clip!("vibraphone_C5", "vibraphone", "mallet", 11, 72),
    demo_clip!("church_organ_C4", "church organ", "organ", 19, 60),
    demo_clip!("violin_A4", "violin", "string", 40, 69),
    demo_clip!("trumpet_Bb4", "trumpet", "brass", 56, 70),
    demo_clip!("alto_sax_A3", "alto sax", "reed", 65, 57),
    demo_clip!("nylon_guitar_E3", "nylon-string guitar", "guitar", 24, 52),
    demo_clip!("electric_bass_E2", "electric bass (finger)", "bass", 33, 40),
];

/// Every embedded demo clip, in family order.
pub fn demo_clips() -> &'static [DemoClip] {
    &DEMO_CLIPS
}

/// Decodes an embedded clip, checking it is mono 16-bit at the analysis rate.
pub fn try_load_demo(clip: &DemoClip) -> Result<Clip, DemoError> {
    let name = clip.name;
    let reader =
        hound::WavReader::new(Cursor::new(clip.wav_bytes)).map_err(|source| DemoError::Wav { name, source })?;
    let spec = reader.spec();
    let is_expected = spec.channels == 1
        && spec.bits_per_sample == 16
        && spec.sample_format == hound::SampleFormat::Int
        && spec.sample_rate == ANALYSIS_RATE_HZ;
    if !is_expected {
        return Err(DemoError::Format {
            name,
            channels: spec.channels,
            bits: spec.bits_per_sample,
            rate_hz: spec.sample_rate,
        });
    }
    let samples = reader
        .into_samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32_768.0))
        .collect::<Result<Vec<f32>, _>>()
        .map_err(|source| DemoError::Wav { name, source })?;
    Ok(Clip::new(name, samples, spec.sample_rate))
}

/// Decodes an embedded clip; the assets are checked by tests/soundfont_render.rs.
pub fn load_demo(clip: &DemoClip) -> Clip {
    match try_load_demo(clip) {
        Ok(loaded) => loaded,
        Err(err) => {
            let cause = std::error::Error::source(&err).map(|s| format!(": {s}")).unwrap_or_default();
            panic!("embedded asset is broken, re-render it (assets/README.md): {err}{cause}")
        }
    }
}
