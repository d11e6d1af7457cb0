//! Live mode: the views scroll as the input arrives and the model's running answer sits beside
//! them. The stream (`crate::live`) runs on its own threads; each frame this mode copies the
//! columns written since the last one into the GPU rings, and nothing else.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui::{self, Key, Modifiers};
use eframe::egui_wgpu::RenderState;

use super::{Effect, Effects};
use crate::audio::{ANALYSIS_RATE_HZ, Clip};
use crate::degrade::ChainSpec;
use crate::learn::ModelSource;
use crate::live::{ColumnRing, LiveConfig, LiveInput, LivePrediction, LiveReport, LiveSession};
use crate::ui::gpu_views::{self, Slot};
use crate::ui::live::frames::{FrameTimes, LiveWindowStats};
use crate::ui::live::views;
use crate::ui::live::window::LiveWindow;
use crate::ui::views::ColorSettings;

pub struct LiveMode {
    session: Option<LiveSession>,
    /// A generation per session, so its rings are created once.
    rings_of: Option<u64>,
    generation: u64,
    pub window: LiveWindow,
    device: Option<String>,
    devices: Option<Result<Vec<String>, String>>,
    pub predict: bool,
    model: Option<PathBuf>,
    pub config: LiveConfig,
    now_secs: f64,
    oldest_secs: f64,
    /// Where the CQT's columns stop being final (the newer ones are provisional), in seconds.
    cqt_final_secs: f64,
    level_dbfs: f32,
    /// The loudest dB seen in each view lately (STFT, CQT), for the colour range.
    top_db: [f32; 2],
    predictions: Vec<LivePrediction>,
    predicted: u64,
    classes: Vec<String>,
    ended: Option<Result<(), String>>,
    frames: FrameTimes,
    report: Option<LiveReport>,
    report_at: Option<Instant>,
    /// Where the views were last drawn and the stream time they showed.
    pub layout: Option<([egui::Rect; 4], [f64; 2])>,
    /// The degradation chain last sent to the stream, and what it is heard through now.
    sent_chain: Option<(ChainSpec, u64)>,
    chain_heard: Option<String>,
    /// Tint the views where the model looks, and how strongly.
    pub saliency: bool,
    pub saliency_opacity: f32,
    /// The explanation shown (its version), and what it explained.
    saliency_version: u64,
    saliency_shown: Option<String>,
}

impl LiveMode {
    pub fn new() -> Self {
        Self {
            session: None,
            rings_of: None,
            generation: 0,
            window: LiveWindow::default(),
            device: None,
            devices: None,
            predict: true,
            model: None,
            config: LiveConfig::default(),
            now_secs: 0.0,
            oldest_secs: 0.0,
            cqt_final_secs: 0.0,
            level_dbfs: -120.0,
            top_db: [-40.0, -40.0],
            predictions: Vec::new(),
            predicted: 0,
            classes: Vec::new(),
            ended: None,
            frames: FrameTimes::default(),
            report: None,
            report_at: None,
            layout: None,
            sent_chain: None,
            chain_heard: None,
            saliency: false,
            saliency_opacity: 0.6,
            saliency_version: 0,
            saliency_shown: None,
        }
    }

    pub fn now_secs(&self) -> f64 {
        self.now_secs
    }

    pub fn saliency_shown(&self) -> Option<&str> {
        self.saliency_shown.as_deref()
    }

    pub fn has_ended(&self) -> bool {
        self.ended.is_some()
    }

    pub fn predictions(&self) -> &[LivePrediction] {
        &self.predictions
    }

    pub fn is_running(&self) -> bool {
        self.session.is_some() && self.ended.is_none()
    }

    /// The model the running prediction uses (the shipped one unless chosen).
    pub fn set_model(&mut self, model: Option<PathBuf>) {
        self.model = model;
    }

    /// Starts listening to `input`, replacing any stream; the views start empty.
    pub fn start(&mut self, input: LiveInput, fx: &mut Effects) {
        self.session = None;
        let model = self.predict.then(|| self.model.clone().map_or(ModelSource::Shipped, ModelSource::File));
        match LiveSession::start(input.clone(), model, self.config) {
            Ok(session) => {
                self.classes = session.classes.clone();
                session.set_saliency(self.saliency);
                self.session = Some(session);
                self.generation += 1;
                self.window.frozen_at = None;
                self.window.selection = None;
                self.predictions.clear();
                self.predicted = 0;
                self.ended = None;
                self.top_db = [-40.0, -40.0];
                self.frames = FrameTimes::default();
                self.sent_chain = None;
                self.chain_heard = None;
                self.saliency_version = 0;
                self.saliency_shown = None;
                fx.info(format!("Listening to {}", input.describe()));
            }
            Err(e) => fx.error(format!("{}: {e}", input.describe())),
        }
    }

    /// Stops listening; the views keep what was heard until the next start.
    pub fn stop(&mut self) {
        if let Some(session) = self.session.as_mut() {
            session.halt();
            self.report = Some(session.state().stats.report(self.now_secs));
            if self.ended.is_none() {
                self.ended = Some(Ok(()));
            }
        }
    }

    /// Copies what the stream wrote since the last frame into the GPU rings.
    pub fn logic(&mut self, ctx: &egui::Context, render_state: Option<&RenderState>, fx: &mut Effects) {
        let Some(session) = &self.session else { return };
        let now = Instant::now();
        self.frames.tick(now);
        let mut state = session.state();
        self.level_dbfs = state.take_level_dbfs().max(self.level_dbfs - 1.0);
        let a = &mut state.views;
        let rate = f64::from(a.sample_rate_hz());
        self.now_secs = a.samples.end() as f64 / rate;
        self.oldest_secs = a.samples.start() as f64 / rate;
        self.cqt_final_secs = (a.cqt_final() * a.hop() as u64) as f64 / rate;
        let fresh = self.rings_of != Some(self.generation);
        if fresh && let Some(rs) = render_state {
            gpu_views::live_rings(rs, a.stft.bins(), a.cqt.bins(), a.stft.capacity(), a.envelope.capacity());
        }
        self.rings_of = Some(self.generation);
        let mut wrote = false;
        for (k, (ring, slot)) in
            [(&mut a.envelope, Slot::LiveWaveform), (&mut a.stft, Slot::LiveStft), (&mut a.cqt, Slot::LiveCqt)]
                .into_iter()
                .enumerate()
        {
            let changed = if fresh { Some(ring.start()..ring.end()) } else { ring.take_changed() };
            let Some(range) = changed.filter(|r| !r.is_empty()) else { continue };
            let values = columns(ring, range.clone());
            if k > 0 {
                let loudest = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                // Up at once, down slowly: the colours follow the level without flickering.
                self.top_db[k - 1] = loudest.max(self.top_db[k - 1] - 0.02).max(-60.0);
            }
            if let Some(rs) = render_state {
                gpu_views::write_live(rs, slot, range.start, &values, ring.start()..ring.end());
            }
            wrote = true;
        }
        if wrote {
            self.frames.pending = state.newest_arrival;
        }
        if state.predicted != self.predicted {
            // Only the answers that came since the last look are copied (the history holds up to
            // 2,000); the copy stays the same as the stream's history.
            let new = state.predicted.saturating_sub(self.predicted) as usize;
            if state.predicted < self.predicted || new >= state.predictions.len() {
                self.predictions = state.predictions.iter().cloned().collect();
            } else {
                self.predictions.extend(state.predictions.iter().skip(state.predictions.len() - new).cloned());
                let excess = self.predictions.len().saturating_sub(state.predictions.len());
                self.predictions.drain(..excess);
            }
            self.predicted = state.predicted;
        }
        if self.report_at.is_none_or(|t| now.duration_since(t) > Duration::from_millis(500)) {
            self.report = Some(state.stats.report(self.now_secs));
            self.report_at = Some(now);
        }
        self.chain_heard = state.chain.as_ref().map(|stages| {
            let kinds: Vec<&str> = stages.iter().map(|s| s.kind()).collect();
            kinds.join(" → ")
        });
        if let Some(e) = state.chain_error.take() {
            fx.error(format!("the live chain: {e}"));
        }
        if let Some(e) = state.saliency_error.take() {
            fx.error(format!("the live saliency: {e}"));
        }
        state.saliency_on = self.saliency;
        if state.saliency_version != self.saliency_version {
            self.saliency_version = state.saliency_version;
            if let (Some(sal), Some(rs)) = (state.saliency.as_ref(), render_state)
                && self.saliency
            {
                gpu_views::set_live_overlay(rs, Slot::LiveStft, sal.first_column, Some(&sal.stft));
                gpu_views::set_live_overlay(rs, Slot::LiveCqt, sal.first_column, Some(&sal.cqt));
                self.saliency_shown = Some(format!(
                    "{} at {:.2} s ({:.0} ms)",
                    sal.class_name.replace('_', " "),
                    sal.at_secs,
                    sal.millis
                ));
            }
        }
        if !self.saliency
            && self.saliency_shown.take().is_some()
            && let Some(rs) = render_state
        {
            gpu_views::set_live_overlay(rs, Slot::LiveStft, 0, None);
            gpu_views::set_live_overlay(rs, Slot::LiveCqt, 0, None);
        }
        let ended = state.ended.clone();
        drop(state);
        if self.ended.is_none()
            && let Some(end) = ended
        {
            match &end {
                Ok(()) => fx.info(format!("{} played to its end", session.input.describe())),
                Err(e) => fx.error(format!("{}: {e}", session.input.describe())),
            }
            self.ended = Some(end);
        }
        if self.ended.is_none() {
            ctx.request_repaint();
        } else {
            // Stopped: only a last answer or explanation may still come; no need to draw at 30/s.
            ctx.request_repaint_after(Duration::from_millis(500));
        }
    }

    /// Hears the stream through the degradation panel's chain while it is applied.
    pub fn want_chain(&mut self, wanted: Option<(ChainSpec, u64)>) {
        if let Some(session) = &self.session
            && wanted != self.sent_chain
        {
            session.set_chain(wanted.clone());
            self.sent_chain = wanted;
        }
    }

    /// Space freezes or follows, K keeps the selection (or what is visible) as a clip, Escape
    /// clears the selection.
    pub fn shortcuts(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        let (space, keep, escape) = ctx.input_mut(|i| {
            (
                i.consume_key(Modifiers::NONE, Key::Space),
                i.consume_key(Modifiers::NONE, Key::K),
                i.consume_key(Modifiers::NONE, Key::Escape),
            )
        });
        if space && self.session.is_some() {
            self.window.toggle_freeze(self.now_secs);
        }
        if keep {
            self.keep(fx);
        }
        if escape {
            self.window.selection = None;
        }
    }

    /// Keeps the selected stretch (or the visible one) as a clip in the list.
    pub fn keep(&mut self, fx: &mut Effects) {
        let Some(session) = &self.session else {
            fx.error("Nothing to keep: start listening first");
            return;
        };
        let [lo, hi] = self.window.keep_range(self.now_secs, self.oldest_secs);
        if hi - lo < 0.05 {
            fx.error("Nothing to keep: select a stretch of at least 50 ms");
            return;
        }
        let rate = f64::from(ANALYSIS_RATE_HZ);
        let samples = session.state().views.samples.read((lo * rate) as i64..(hi * rate) as i64);
        let clip = Clip::new(format!("live {lo:.1}-{hi:.1} s"), samples, ANALYSIS_RATE_HZ);
        fx.info(format!("Kept {:.1} s as \"{}\"", hi - lo, clip.name));
        fx.push(Effect::AddClip(clip));
    }

    /// The window's timings and the stream's report, for `--stats`.
    pub fn window_stats(&mut self) -> LiveWindowStats {
        let stream = match &self.session {
            Some(s) => Some(s.state().stats.report(self.now_secs)),
            None => self.report.clone(),
        };
        LiveWindowStats {
            frames: self.frames.intervals.count(),
            frame_interval: self.frames.intervals.summary(),
            fps_median: self.frames.intervals.quantile(0.5).map(|ms| 1e3 / ms.max(1e-3)),
            block_to_pixel: self.frames.block_to_pixel.summary(),
            stream,
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, gpu: bool, colors: &ColorSettings) {
        if self.session.is_none() {
            ui.add_space(40.0);
            ui.vertical_centered(|ui| {
                ui.heading("Live");
                ui.label("Start listening to an input or a file from the panel on the right.");
            });
            return;
        }
        let view = views::LiveView {
            now_secs: self.now_secs,
            oldest_secs: self.oldest_secs,
            cqt_final_secs: self.cqt_final_secs,
            top_db: self.top_db,
            overlay_opacity: if self.saliency { self.saliency_opacity } else { 0.0 },
            predictions: &self.predictions,
            classes: &self.classes,
        };
        let drawn = views::live_views_ui(ui, gpu, &view, &mut self.window, colors);
        self.layout = Some((drawn.rects, drawn.time_secs));
    }
}

impl Default for LiveMode {
    fn default() -> Self {
        Self::new()
    }
}

/// Columns `range` of a ring, frame-major.
fn columns(ring: &ColumnRing, range: std::ops::Range<u64>) -> Vec<f32> {
    let mut values = Vec::with_capacity((range.end - range.start) as usize * ring.bins());
    for c in range {
        if let Some(col) = ring.column(c) {
            values.extend_from_slice(col);
        }
    }
    values
}

impl LiveMode {
    /// The side panel; a file to play as live is asked for through the window's dialogs.
    pub fn panel_ui(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        if self.devices.is_none() {
            self.devices = Some(crate::audio::input_devices().map_err(|e| e.to_string()));
        }
        let view = crate::ui::live::panel::PanelView {
            running: self.is_running(),
            frozen: self.window.frozen_at.is_some(),
            source: self.session.as_ref().map(|s| s.input.describe()),
            level_dbfs: self.level_dbfs,
            devices: self.devices.as_ref(),
            latest: self.predictions.last(),
            report: self.report.as_ref(),
            fps: self.frames.fps(),
            block_to_pixel_ms: self.frames.block_to_pixel.quantile(0.5),
            selection_secs: self.window.selection.map(|[a, b]| b - a),
            chain: self.chain_heard.as_deref(),
            saliency_shown: self.saliency_shown.as_deref(),
        };
        use crate::ui::live::panel::{PanelAction, panel_ui};
        let choices = crate::ui::live::panel::Choices {
            device: &mut self.device,
            predict: &mut self.predict,
            saliency: &mut self.saliency,
            saliency_opacity: &mut self.saliency_opacity,
        };
        match panel_ui(ui, &view, choices) {
            PanelAction::None => {}
            PanelAction::StartDevice(device) => self.start(LiveInput::Device(device), fx),
            PanelAction::ChooseFile => fx.push(Effect::Dialog(super::Dialog::LiveFile)),
            PanelAction::Stop => self.stop(),
            PanelAction::ToggleFreeze => self.window.toggle_freeze(self.now_secs),
            PanelAction::Keep => self.keep(fx),
        }
    }
}
