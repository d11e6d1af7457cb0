//! The degradation mode: the chain panel, the worker that renders the clip through it, the
//! degraded views it returns, and chain files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;
use eframe::egui_wgpu::RenderState;

use super::clip::BSide;
use super::{Dialog, Effect, Effects};
use crate::jobs::degrade::{DegradeJob, DegradeRequest, DegradeWorker, DegradedView};
use crate::jobs::{Analysis, Report};
use crate::ui::degrade_panel::{DegradePanel, Listen};
use crate::ui::gpu_views::{self, Slot};

pub(super) struct DegradeMode {
    /// The chain and whether it applies; saved with the settings.
    pub panel: DegradePanel,
    worker: DegradeWorker,
    /// The degraded version of the clip in the views, once rendered for the current chain.
    degraded: Option<Arc<DegradedView>>,
    /// When the pending rendering was asked for, and how long the last one took from the
    /// request (a slider moving) to its views being on the GPU.
    requested_at: Option<Instant>,
    pub latency_ms: Option<f64>,
}

impl DegradeMode {
    pub fn new(ctx: &egui::Context, panel: DegradePanel) -> Self {
        let ctx = ctx.clone();
        Self {
            panel,
            worker: DegradeWorker::start("degrade", DegradeJob::new, Arc::new(move || ctx.request_repaint())),
            degraded: None,
            requested_at: None,
            latency_ms: None,
        }
    }

    /// True while a rendering the views wait for is running.
    pub fn is_busy(&self) -> bool {
        self.worker.is_busy(0)
    }

    /// The last rendering, whether or not the chain still applies.
    pub fn last(&self) -> Option<&Arc<DegradedView>> {
        self.degraded.as_ref()
    }

    /// The degraded view when the chain applies.
    pub fn shown(&self) -> Option<&Arc<DegradedView>> {
        self.degraded.as_ref().filter(|_| self.panel.enabled)
    }

    /// What the clip views draw and play from the degraded side.
    pub fn b_side(&self) -> Option<BSide<'_>> {
        self.shown().map(|view| BSide {
            view,
            listening: self.panel.listen == Listen::Degraded,
            delta_range_db: self.panel.delta_range_db,
        })
    }

    /// Renders `clean` through the chain in the background, or drops the degraded views when the
    /// chain is off.
    pub fn request(&mut self, clean: Option<&Arc<Analysis>>) {
        match clean {
            Some(clean) if self.panel.enabled => {
                let stages = self.panel.active_stages();
                self.worker.submit(DegradeRequest { clean: clean.clone(), stages });
                self.requested_at = Some(Instant::now());
            }
            _ => {
                self.degraded = None;
                self.worker.cancel();
            }
        }
    }

    /// A new clip is in the views: the old rendering no longer belongs to it.
    pub fn clip_changed(&mut self, clean: Option<&Arc<Analysis>>) {
        self.degraded = None;
        self.request(clean);
    }

    pub fn logic(&mut self, render_state: Option<&RenderState>, fx: &mut Effects) {
        for report in self.worker.poll() {
            match report {
                Report::Event { event: view, .. } => {
                    if let Some(rs) = render_state {
                        gpu_views::upload_waveform(
                            rs,
                            Slot::DegradedWaveform,
                            &view.analysis.clip.samples,
                            &view.analysis.waveform,
                        );
                        gpu_views::upload_spectrogram(rs, Slot::DegradedStft, &view.analysis.stft);
                        gpu_views::upload_spectrogram(rs, Slot::DegradedCqt, &view.analysis.cqt);
                        gpu_views::upload_spectrogram(rs, Slot::DeltaStft, &view.delta_stft);
                        gpu_views::upload_spectrogram(rs, Slot::DeltaCqt, &view.delta_cqt);
                    }
                    self.latency_ms = self.requested_at.map(|t| t.elapsed().as_secs_f64() * 1e3);
                    self.degraded = Some(view);
                    fx.push(Effect::Predict);
                }
                Report::Failed { message, .. } => fx.error(format!("Cannot degrade: {message}")),
                Report::Stopped { message } => fx.error(format!("Degradation: {message}")),
                Report::Done { .. } => {}
            }
        }
    }

    /// Loads a chain file (or `shipped:NAME`) into the panel and applies it.
    pub fn load_chain(&mut self, path: &Path, clean: Option<&Arc<Analysis>>, fx: &mut Effects) {
        let loaded =
            crate::degrade::ChainSpec::load(path).map_err(|e| e.to_string()).and_then(|spec| self.panel.load(&spec));
        match loaded {
            Ok(clamped) if clamped.is_empty() => fx.info(format!("Loaded chain {}", path.display())),
            Ok(clamped) => fx.info(format!("Loaded chain {}; {}", path.display(), clamped.join(", "))),
            Err(e) => return fx.error(e),
        }
        self.panel.enabled = true;
        self.request(clean);
    }

    pub fn save_chain(&self, path: &Path, fx: &mut Effects) {
        let text = self.panel.to_spec().to_toml();
        match crate::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes())) {
            Ok(()) => fx.info(format!("Saved chain {}", path.display())),
            Err(e) => fx.error(format!("cannot write {}: {e}", path.display())),
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, clean: Option<&Arc<Analysis>>, fx: &mut Effects) {
        let last = self.shown().cloned();
        let response = self.panel.ui(ui, last.as_deref(), self.latency_ms, self.is_busy());
        if response.changed {
            self.request(clean);
        }
        if response.load_chain {
            fx.push(Effect::Dialog(Dialog::LoadChain));
        }
        if response.save_chain {
            fx.push(Effect::Dialog(Dialog::SaveChain));
        }
        if let Some(name) = response.shipped_chain {
            let path = PathBuf::from(format!("{}{name}", crate::degrade::shipped::PREFIX));
            self.load_chain(&path, clean, fx);
        }
    }
}
