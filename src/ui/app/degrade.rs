//! The workbench's side of degradation: asking the worker for renderings, taking them into the
//! views, A/B listening, and chain files.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::{Dialog, Workbench};
use crate::jobs::Report;
use crate::jobs::degrade::{DegradeRequest, DegradedView};
use crate::ui::degrade_panel::{DegradePanel, Listen};
use crate::ui::gpu_views::{self, Slot};

impl Workbench {
    /// Where the Δ STFT and Δ CQT were last drawn, when shown.
    pub fn delta_rects(&self) -> Option<[egui::Rect; 2]> {
        self.delta_rects
    }

    /// The degraded clip the views show beside the clean one, once rendered.
    pub fn degraded(&self) -> Option<&Arc<DegradedView>> {
        self.degraded.as_ref()
    }

    /// True while a degradation the views wait for is rendering.
    pub fn is_degrade_busy(&self) -> bool {
        self.degrade_worker.is_busy(0)
    }

    /// From the last chain change to its degraded views uploaded, in ms.
    pub fn degrade_latency_ms(&self) -> Option<f64> {
        self.degrade_latency_ms
    }

    pub fn degrade_panel(&self) -> &DegradePanel {
        &self.settings.degrade
    }

    /// Changes the chain (as the panel would) and renders again.
    pub fn set_degrade_panel(&mut self, panel: DegradePanel) {
        self.settings.degrade = panel;
        self.request_degrade();
    }

    /// Renders the current clip through the chain in the background (or drops the degraded
    /// views when the chain is off).
    pub(super) fn request_degrade(&mut self) {
        match &self.analysis {
            Some(clean) if self.settings.degrade.enabled => {
                let stages = self.settings.degrade.active_stages();
                self.degrade_worker.submit(DegradeRequest { clean: clean.clone(), stages });
                self.degrade_requested_at = Some(std::time::Instant::now());
            }
            _ => {
                self.degraded = None;
                self.degrade_worker.cancel();
            }
        }
    }

    /// Flips A/B; playing on from the same place in the other version.
    pub fn toggle_listen(&mut self) {
        let playing = self.player.is_some();
        if playing {
            self.cursor_secs = self.playhead_secs();
            self.stop_playback();
        }
        self.settings.degrade.toggle_listen();
        if playing {
            self.toggle_playback();
        }
    }

    /// The degraded view when it belongs to the clip shown and the chain applies.
    pub(super) fn shown_degraded(&self) -> Option<&Arc<DegradedView>> {
        self.degraded.as_ref().filter(|_| self.settings.degrade.enabled)
    }

    pub(super) fn listening_to_degraded(&self) -> bool {
        self.settings.degrade.listen == Listen::Degraded && self.shown_degraded().is_some()
    }

    pub(super) fn handle_degrade_events(&mut self, frame: &eframe::Frame) {
        for report in self.degrade_worker.poll() {
            match report {
                Report::Event { event: view, .. } => {
                    if let Some(rs) = frame.wgpu_render_state() {
                        gpu_views::upload_waveform(rs, Slot::DegradedWaveform, &view.analysis.clip.samples);
                        gpu_views::upload_spectrogram(rs, Slot::DegradedStft, &view.analysis.stft);
                        gpu_views::upload_spectrogram(rs, Slot::DegradedCqt, &view.analysis.cqt);
                        gpu_views::upload_spectrogram(rs, Slot::DeltaStft, &view.delta_stft);
                        gpu_views::upload_spectrogram(rs, Slot::DeltaCqt, &view.delta_cqt);
                    }
                    self.degrade_latency_ms = self.degrade_requested_at.map(|t| t.elapsed().as_secs_f64() * 1e3);
                    self.degraded = Some(view);
                    self.request_predictions();
                }
                Report::Failed { message, .. } => self.error(format!("Cannot degrade: {message}")),
                Report::Stopped { message } => self.error(format!("Degradation: {message}")),
                Report::Done { .. } => {}
            }
        }
    }

    /// Loads a chain file into the degradation panel and applies it.
    pub fn load_chain(&mut self, path: PathBuf) {
        let loaded = crate::degrade::ChainSpec::load(&path)
            .map_err(|e| e.to_string())
            .and_then(|spec| self.settings.degrade.load(&spec));
        match loaded {
            Ok(clamped) if clamped.is_empty() => self.info(format!("Loaded chain {}", path.display())),
            Ok(clamped) => self.info(format!("Loaded chain {}; {}", path.display(), clamped.join(", "))),
            Err(e) => return self.error(e),
        }
        self.settings.degrade.enabled = true;
        self.request_degrade();
    }

    pub(super) fn save_chain(&mut self, path: PathBuf) {
        let text = self.settings.degrade.to_spec().to_toml();
        match crate::atomic_file::write_atomically(&path, |w| std::io::Write::write_all(w, text.as_bytes())) {
            Ok(()) => self.info(format!("Saved chain {}", path.display())),
            Err(e) => self.error(format!("cannot write {}: {e}", path.display())),
        }
    }

    pub(super) fn degrade_panel_ui(&mut self, ui: &mut egui::Ui) {
        let last = self.shown_degraded().cloned();
        let response =
            self.settings.degrade.ui(ui, last.as_deref(), self.degrade_latency_ms, self.degrade_worker.is_busy(0));
        if response.changed {
            self.request_degrade();
        }
        if response.load_chain {
            self.spawn_dialog(Dialog::LoadChain, ui.ctx());
        }
        if response.save_chain {
            self.spawn_dialog(Dialog::SaveChain, ui.ctx());
        }
        if let Some(name) = response.shipped_chain {
            self.load_chain(format!("{}{name}", crate::degrade::shipped::PREFIX).into());
        }
    }
}
