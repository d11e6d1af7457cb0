//! File dialogs: which ones the workbench opens, each on its own thread, and what their answers do.

use std::path::PathBuf;

use eframe::egui;

use super::{Effect, Workbench};
use crate::audio::{Clip, save::save_wav};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dialog {
    Open,
    Save,
    Dataset,
    Mixture,
    LoadChain,
    SaveChain,
    Model,
    Embeddings,
    DegradedEmbeddings,
    /// A file to play as if live.
    LiveFile,
}

/// A file dialog's answer: which one asked, and the path chosen.
pub(super) type Answer = (Dialog, PathBuf);

impl Workbench {
    pub(super) fn handle_dialogs(&mut self) {
        while let Ok((kind, path)) = self.dialogs.1.try_recv() {
            let fx = &mut self.effects;
            match kind {
                Dialog::Open => fx.push(Effect::Open(path)),
                Dialog::Save => self.save_current(path),
                Dialog::Dataset => self.data.open_dataset(path, fx),
                Dialog::Mixture => self.data.open_mixture(path, fx),
                Dialog::LoadChain => self.degrade.load_chain(&path, self.clip.analysis.as_ref(), fx),
                Dialog::SaveChain => self.degrade.save_chain(&path, fx),
                Dialog::Model => self.learn.use_model(path, fx),
                Dialog::Embeddings => self.embed.open(path, false, fx),
                Dialog::DegradedEmbeddings => self.embed.open(path, true, fx),
                Dialog::LiveFile => self.live.start(crate::live::LiveInput::File { path, looped: false }, fx),
            }
        }
    }

    /// File dialogs run on their own thread so the window keeps drawing behind them.
    pub(super) fn spawn_dialog(&self, kind: Dialog, ctx: &egui::Context) {
        let dir = self.last_dir.clone();
        let name = self.current_clip().map(|c| format!("{}.wav", c.name.replace(['/', '\\'], "_")));
        crate::ui::file_dialog::spawn(ctx, self.dialogs.0.clone(), move |mut dialog| {
            if let Some(dir) = dir {
                dialog = dialog.set_directory(dir);
            }
            let path = match kind {
                Dialog::Save => dialog.add_filter("WAV", &["wav"]).set_file_name(name.unwrap_or_default()).save_file(),
                Dialog::Open | Dialog::LiveFile => dialog.add_filter("Audio", &crate::audio::EXTENSIONS).pick_file(),
                Dialog::Dataset => dialog.pick_folder(),
                Dialog::Mixture => dialog.add_filter("Mixture", &["npz"]).pick_file(),
                Dialog::LoadChain => dialog.add_filter("Chain", &["toml", "json"]).pick_file(),
                Dialog::SaveChain => dialog.add_filter("Chain", &["toml"]).set_file_name("chain.toml").save_file(),
                Dialog::Model => dialog.add_filter("Model", &["safetensors"]).pick_file(),
                Dialog::Embeddings | Dialog::DegradedEmbeddings => {
                    dialog.add_filter("Embeddings", &["npz"]).pick_file()
                }
            };
            path.map(|p| (kind, p))
        });
    }

    /// The clip the views show: the clean one, or the degraded one on the B side.
    pub(super) fn current_clip(&self) -> Option<&Clip> {
        match self.degrade.b_side() {
            Some(b) if b.listening => Some(&b.view.analysis.clip),
            _ => self.clip.analysis.as_ref().map(|a| &a.clip),
        }
    }

    fn save_current(&mut self, path: PathBuf) {
        let Some(clip) = self.current_clip().cloned() else { return };
        match save_wav(&path, &clip) {
            Ok(()) => self.effects.info(format!("Saved {}", path.display())),
            Err(e) => self.effects.error(e.to_string()),
        }
    }
}
