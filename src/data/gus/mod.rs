//! A library of Gravis Ultrasound patches named by a TiMidity configuration file (Debian's
//! `freepats`: `/etc/timidity/freepats.cfg`), rendered with NSynth's protocol like an SF2 bank.

pub mod patch;
pub mod voice;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use patch::{Patch, PatchError};
pub use voice::PatchOptions;

use super::controls::Controls;
use super::soundfont::{BankError, NoteSpec, RenderError};

/// `source` lines nest at most this deep, so a file that includes itself is refused.
const MAX_SOURCE_DEPTH: usize = 8;

/// One melodic program of bank 0: its patch file and options.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramEntry {
    pub patch: PathBuf,
    pub options: PatchOptions,
}

/// The melodic programs of a TiMidity configuration, their patches read on first use.
#[derive(Clone, Debug)]
pub struct GusBank {
    path: PathBuf,
    programs: Arc<BTreeMap<u8, ProgramEntry>>,
    patches: Arc<BTreeMap<u8, PatchCell>>,
}

/// A program's patch, parsed on first use, or why it could not be.
type PatchCell = OnceLock<Result<Arc<Patch>, String>>;

impl GusBank {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, BankError> {
        let path = path.as_ref().to_path_buf();
        let mut parser = CfgParser { dirs: Vec::new(), bank: Some(0), programs: BTreeMap::new() };
        parser.read(&path, 0)?;
        let patches = parser.programs.keys().map(|&p| (p, OnceLock::new())).collect();
        Ok(Self { path, programs: Arc::new(parser.programs), patches: Arc::new(patches) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The patch file's stem for a program of bank 0, if the configuration names one.
    pub fn program_name(&self, program: u8) -> Option<String> {
        self.programs.get(&program).map(|e| e.patch.file_stem().unwrap_or_default().to_string_lossy().into_owned())
    }

    pub fn program(&self, program: u8) -> Option<&ProgramEntry> {
        self.programs.get(&program)
    }

    /// The parsed patch of a program, read once and shared by every thread.
    pub fn patch(&self, program: u8) -> Result<Arc<Patch>, RenderError> {
        let entry =
            self.programs.get(&program).ok_or(RenderError::MissingProgram { program, path: self.path.clone() })?;
        let cell = &self.patches[&program];
        cell.get_or_init(|| {
            let bytes = std::fs::read(&entry.patch).map_err(|e| e.to_string())?;
            patch::parse(&bytes).map(Arc::new).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|problem| RenderError::Patch { path: entry.patch.clone(), problem })
    }

    /// Renders one note (mono, not normalised across notes; see [`voice::render`]).
    pub fn render_note(&self, program: u8, pitch: u8, velocity: u8, spec: &NoteSpec) -> Result<Vec<f32>, RenderError> {
        self.render_played(program, pitch, velocity, spec, None)
    }

    /// [`Self::render_note`] following pitch and gain controls.
    pub fn render_played(
        &self,
        program: u8,
        pitch: u8,
        velocity: u8,
        spec: &NoteSpec,
        controls: Option<&Controls>,
    ) -> Result<Vec<f32>, RenderError> {
        super::soundfont::check_note(pitch, velocity, spec)?;
        let patch = self.patch(program)?;
        let options = &self.programs[&program].options;
        Ok(voice::render_played(&patch, options, pitch, velocity, spec, controls))
    }
}

struct CfgParser {
    /// Search folders, the latest `dir` first (TiMidity's order).
    dirs: Vec<PathBuf>,
    /// The tone bank being read; None inside a drum set.
    bank: Option<u32>,
    programs: BTreeMap<u8, ProgramEntry>,
}

impl CfgParser {
    fn read(&mut self, path: &Path, depth: usize) -> Result<(), BankError> {
        let bad = |line: usize, problem: String| BankError::Config { path: path.to_owned(), line, problem };
        let text = std::fs::read_to_string(path).map_err(|source| BankError::Open { path: path.to_owned(), source })?;
        let here = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let words: Vec<&str> = raw.split('#').next().unwrap_or("").split_whitespace().collect();
            let Some(&first) = words.first() else { continue };
            match first {
                "dir" => {
                    let dir = words.get(1).ok_or_else(|| bad(line, "`dir` needs a folder".into()))?;
                    self.dirs.insert(0, here.join(dir));
                }
                "source" => {
                    let file = words.get(1).ok_or_else(|| bad(line, "`source` needs a file".into()))?;
                    if depth >= MAX_SOURCE_DEPTH {
                        return Err(bad(line, format!("`source` nested over {MAX_SOURCE_DEPTH} deep")));
                    }
                    self.read(&here.join(file), depth + 1)?;
                }
                "bank" => {
                    let bank = words.get(1).and_then(|w| w.parse().ok());
                    self.bank = Some(bank.ok_or_else(|| bad(line, "`bank` needs a number".into()))?);
                }
                "drumset" => self.bank = None,
                w if w.chars().all(|c| c.is_ascii_digit()) => {
                    let program: u8 = w
                        .parse()
                        .ok()
                        .filter(|p| *p < 128)
                        .ok_or_else(|| bad(line, format!("program {w} is not 0-127")))?;
                    let file = words.get(1).ok_or_else(|| bad(line, format!("program {program} names no patch")))?;
                    if self.bank == Some(0) {
                        let options = parse_options(&words[2..]).map_err(|p| bad(line, p))?;
                        self.programs.insert(program, ProgramEntry { patch: self.find(&here, file), options });
                    }
                }
                // Other TiMidity directives (soundfont, opt, altassign, ...) do not concern melodic bank 0.
                _ => {}
            }
        }
        Ok(())
    }

    /// The first of the search folders (then the file's own) holding the patch, `.pat` optional.
    fn find(&self, here: &Path, file: &str) -> PathBuf {
        let names =
            if file.ends_with(".pat") { vec![file.to_string()] } else { vec![format!("{file}.pat"), file.into()] };
        let mut candidates = Vec::new();
        for dir in self.dirs.iter().chain(std::iter::once(&here.to_path_buf())) {
            candidates.extend(names.iter().map(|n| dir.join(n)));
        }
        candidates.iter().find(|c| c.is_file()).cloned().unwrap_or_else(|| candidates[0].clone())
    }
}

fn parse_options(words: &[&str]) -> Result<PatchOptions, String> {
    let mut o = PatchOptions::default();
    for word in words {
        let Some((key, value)) = word.split_once('=') else { return Err(format!("option {word:?} has no `=`")) };
        let number = || value.parse::<f32>().map_err(|_| format!("{key}={value} is not a number"));
        match key {
            "amp" => o.amp_percent = Some(number()?.clamp(0.0, 800.0)),
            "note" => o.note = Some(number()?.clamp(0.0, 127.0) as u8),
            "keep" | "strip" => {
                let keep = key == "keep";
                match value {
                    "env" => o.envelope = Some(keep),
                    "loop" => o.looping = Some(keep),
                    _ => {}
                }
            }
            // pan, tune and the rest do not change a mono, equal-tempered render.
            _ => {}
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_and_bad_ones_named() {
        let o = parse_options(&["amp=120", "pan=center", "keep=env", "strip=loop", "note=60"]).unwrap();
        assert_eq!(
            o,
            PatchOptions { amp_percent: Some(120.0), note: Some(60), envelope: Some(true), looping: Some(false) }
        );
        assert!(parse_options(&["amp=loud"]).unwrap_err().contains("amp=loud"));
        assert!(parse_options(&["amp"]).is_err());
    }
}
