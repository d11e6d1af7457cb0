//! A library of notes the renderer reads: an SF2 SoundFont (rustysynth), a set of GUS patches
//! named by a TiMidity configuration (`.cfg`), or the STK physical models a description
//! (`.toml`, `data::stk`) assigns to GM programs, chosen by the file's extension.

use std::path::Path;

use super::controls::Controls;
use super::gus::GusBank;
use super::soundfont::{BankError, NoteRenderer, NoteSpec, RenderError, SoundFontBank};
use super::stk::StkLibrary;

#[derive(Clone, Debug)]
pub enum Library {
    Sf2(SoundFontBank),
    Gus(GusBank),
    Stk(StkLibrary),
}

impl Library {
    /// A `.cfg` file is read as a TiMidity configuration of GUS patches, a `.toml` file as an
    /// STK description; anything else as SF2.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, BankError> {
        let path = path.as_ref();
        let is = |ext: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext));
        if is("cfg") {
            Ok(Self::Gus(GusBank::load(path)?))
        } else if is("toml") {
            Ok(Self::Stk(StkLibrary::load(path)?))
        } else {
            Ok(Self::Sf2(SoundFontBank::load(path)?))
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Self::Sf2(b) => b.path(),
            Self::Gus(b) => b.path(),
            Self::Stk(b) => b.path(),
        }
    }

    /// The name of the library's melodic (bank 0) program, if it has one.
    pub fn program_name(&self, program: u8) -> Option<String> {
        match self {
            Self::Sf2(b) => b.program_name(program).map(str::to_owned),
            Self::Gus(b) => b.program_name(program),
            Self::Stk(b) => b.program_name(program),
        }
    }

    /// A renderer for one worker thread.
    pub fn renderer(&self, sample_rate_hz: u32) -> Result<LibraryRenderer, RenderError> {
        match self {
            Self::Sf2(b) => Ok(LibraryRenderer::Sf2(Box::new(b.renderer(sample_rate_hz)?))),
            Self::Gus(b) => Ok(LibraryRenderer::Gus(b.clone())),
            Self::Stk(b) => Ok(LibraryRenderer::Stk(b.clone())),
        }
    }
}

/// Renders notes of one library; hold one per worker thread.
pub enum LibraryRenderer {
    // Boxed: the synthesizer is large beside a shared GUS bank handle.
    Sf2(Box<NoteRenderer>),
    Gus(GusBank),
    Stk(StkLibrary),
}

impl LibraryRenderer {
    /// A mono note at the library's own level, not normalised (see [`NoteRenderer::render_note`]).
    pub fn render_note(
        &mut self,
        program: u8,
        pitch: u8,
        velocity: u8,
        spec: &NoteSpec,
    ) -> Result<Vec<f32>, RenderError> {
        self.render_played(program, pitch, velocity, spec, None)
    }

    /// A note played through the library's pitch and gain controls (`data::expressive`).
    pub fn render_played(
        &mut self,
        program: u8,
        pitch: u8,
        velocity: u8,
        spec: &NoteSpec,
        controls: Option<&Controls>,
    ) -> Result<Vec<f32>, RenderError> {
        match self {
            Self::Sf2(r) => r.render_played(program, pitch, velocity, spec, controls),
            Self::Gus(b) => b.render_played(program, pitch, velocity, spec, controls),
            Self::Stk(b) => b.render_played(program, pitch, velocity, spec, controls),
        }
    }
}
