//! The clip views' mode: the clip list and recorder, the analysis on screen, the visible window,
//! and the transport that plays the clean or the degraded version.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{self, Key, Modifiers};
use eframe::egui_wgpu::RenderState;

use super::compare::Compare;
use super::{Effect, Effects};
use crate::audio::Clip;
use crate::audio::playback::Playback;
use crate::jobs::degrade::DegradedView;
use crate::jobs::{Analysis, AnalysisEvent, AnalysisJob, AnalysisJobs, AnalysisRequest, Report};
use crate::ui::gpu_views::{self, Slot};
use crate::ui::record_panel::RecordPanel;
use crate::ui::views::{ColorSettings, DeltaRows, Hover, ViewSources, ViewWindow, views_ui};

/// The degraded version as the clip views see it: what to draw beside the clean clip and whether
/// the B side (the degraded one) is what plays and shows.
#[derive(Clone, Copy)]
pub(super) struct BSide<'a> {
    pub view: &'a DegradedView,
    pub listening: bool,
    pub delta_range_db: f32,
}

/// How the views look: colours, the spectrum slice, and the saliency's opacity (0: hidden).
#[derive(Clone, Copy)]
pub(super) struct Look<'a> {
    pub colors: &'a ColorSettings,
    pub show_slice: bool,
    pub overlay_opacity: f32,
    /// Which instruments the model hears when, drawn under the views while a model is loaded
    /// (the inner None: not yet known for this clip).
    pub activity: Option<Option<&'a crate::learn::explanation::activity::Activity>>,
}

pub(super) struct ClipViews {
    pub clips: Vec<Clip>,
    pub selected: Option<usize>,
    pub analysis: Option<Arc<Analysis>>,
    pub window: Option<ViewWindow>,
    jobs: AnalysisJobs,
    player: Option<Playback>,
    /// Where playback starts, and where the playhead rests when stopped.
    cursor_secs: f64,
    recorder: RecordPanel,
    pub hover: Hover,
    /// Where the waveform, STFT and CQT were last drawn, in points.
    pub view_rects: Option<[egui::Rect; 3]>,
    /// Where the Δ STFT and Δ CQT were last drawn.
    pub delta_rects: Option<[egui::Rect; 2]>,
    /// Where the activity strip's rows were last drawn, when it was.
    pub activity_rect: Option<egui::Rect>,
    /// The clip list entry that browsing replaces, so clicking through notes does not pile up clips.
    browser_clip: Option<usize>,
    /// The load in flight came from the browser.
    loading_note: bool,
    /// Play the next clip as soon as its views are shown (a note opened from the map).
    pub play_when_shown: bool,
    /// The training note nearest the clip (from the confusion matrix), and whether the views show
    /// it (B) rather than the clip (A).
    pub compare: Option<Arc<Compare>>,
    pub showing_compare: bool,
}

impl ClipViews {
    pub fn new(ctx: &egui::Context) -> Self {
        let ctx = ctx.clone();
        Self {
            clips: Vec::new(),
            selected: None,
            analysis: None,
            window: None,
            jobs: AnalysisJobs::start("analysis", AnalysisJob::new, Arc::new(move || ctx.request_repaint())),
            player: None,
            cursor_secs: 0.0,
            recorder: RecordPanel::default(),
            hover: Hover::default(),
            view_rects: None,
            delta_rects: None,
            activity_rect: None,
            browser_clip: None,
            loading_note: false,
            play_when_shown: false,
            compare: None,
            showing_compare: false,
        }
    }

    /// True while a load or analysis the views wait for is running.
    pub fn is_busy(&self) -> bool {
        self.jobs.is_busy(0)
    }

    pub fn logic(&mut self, ctx: &egui::Context, render_state: Option<&RenderState>, fx: &mut Effects) {
        self.recorder.logic(ctx);
        for report in self.jobs.poll() {
            match report {
                Report::Event { event: AnalysisEvent::Loaded(clip), .. } => self.take_loaded(clip),
                Report::Event { event: AnalysisEvent::Analyzed(analysis), .. } => {
                    self.show(analysis, render_state, fx);
                }
                Report::Failed { message, .. } => fx.error(message),
                Report::Stopped { message } => fx.error(format!("Clip analysis: {message}")),
                Report::Done { .. } => {}
            }
        }
        if let Some(player) = &self.player {
            if let Err(e) = player.check() {
                self.player = None;
                fx.error(format!("Playback stopped: {e}"));
            } else if player.is_finished() {
                self.player = None;
                self.cursor_secs = 0.0;
            } else {
                ctx.request_repaint();
            }
        }
    }

    fn take_loaded(&mut self, clip: Clip) {
        let index = match self.browser_clip.filter(|&i| self.loading_note && i < self.clips.len()) {
            Some(i) => {
                self.clips[i] = clip;
                i
            }
            None => {
                self.clips.push(clip);
                let i = self.clips.len() - 1;
                if self.loading_note {
                    self.browser_clip = Some(i);
                }
                i
            }
        };
        self.loading_note = false;
        self.selected = Some(index);
    }

    fn show(&mut self, analysis: Arc<Analysis>, render_state: Option<&RenderState>, fx: &mut Effects) {
        if let Some(rs) = render_state {
            gpu_views::upload_waveform(rs, Slot::Waveform, &analysis.clip.samples, &analysis.waveform);
            gpu_views::upload_spectrogram(rs, Slot::Stft, &analysis.stft);
            gpu_views::upload_spectrogram(rs, Slot::Cqt, &analysis.cqt);
        }
        let clip = &analysis.clip;
        fx.info(format!(
            "{}: {:.2} s at {} Hz, views computed in {:.1} ms",
            clip.name,
            clip.duration_secs(),
            clip.sample_rate_hz,
            analysis.elapsed_ms
        ));
        self.window = Some(ViewWindow::fit(&analysis));
        self.cursor_secs = 0.0;
        if self.compare.as_ref().is_some_and(|c| c.note != analysis.clip.name) {
            self.compare = None;
            self.showing_compare = false;
        }
        self.analysis = Some(analysis);
        fx.push(Effect::Analysed);
    }

    pub fn select(&mut self, index: usize, fx: &mut Effects) {
        if let Some(clip) = self.clips.get(index).cloned() {
            self.stop_playback(fx);
            self.selected = Some(index);
            self.jobs.submit(AnalysisRequest::Analyse(clip));
        }
    }

    pub fn open(&mut self, path: PathBuf, fx: &mut Effects) {
        self.stop_playback(fx);
        fx.info(format!("Loading {}…", path.display()));
        self.jobs.submit(AnalysisRequest::Load(path));
    }

    /// Loads a data set's note into the entry that browsing reuses.
    pub fn load_note(&mut self, path: PathBuf, name: &str, fx: &mut Effects) {
        self.stop_playback(fx);
        fx.info(format!("Loading {name}…"));
        self.loading_note = true;
        self.jobs.submit(AnalysisRequest::Load(path));
    }

    pub fn add_take(&mut self, clip: Clip, fx: &mut Effects) {
        self.clips.push(clip);
        self.select(self.clips.len() - 1, fx);
    }

    pub fn is_playing(&self) -> bool {
        self.player.is_some()
    }

    pub fn playhead_secs(&self) -> f64 {
        match (&self.player, &self.analysis) {
            (Some(p), Some(a)) => p.position_samples() as f64 / a.clip.sample_rate_hz as f64,
            _ => self.cursor_secs,
        }
    }

    /// Stops playback and keeps the playhead where it was, so playing resumes from there.
    pub fn pause(&mut self, fx: &mut Effects) {
        self.cursor_secs = self.playhead_secs();
        self.stop_playback(fx);
    }

    pub fn toggle_playback(&mut self, b_side: Option<BSide<'_>>, fx: &mut Effects) {
        if self.player.is_some() {
            self.pause(fx);
            return;
        }
        let Some(analysis) = self.shown().cloned() else { return };
        let clip = &analysis.clip;
        let mut start = (self.cursor_secs * clip.sample_rate_hz as f64) as usize;
        if start >= clip.samples.len() {
            start = 0;
        }
        // The B side plays what was rendered, both ears of a binaural room.
        let (left, right) = match b_side {
            Some(b) if b.listening => (b.view.channels[0].clone(), b.view.channels.get(1).cloned()),
            _ => (clip.samples.clone(), None),
        };
        match Playback::start_channels(left, right, clip.sample_rate_hz, start) {
            Ok(p) => self.player = Some(p),
            Err(e) => fx.error(format!("Cannot play: {e}")),
        }
    }

    /// Plays samples that are not the clip in the views (a mixture or one of its sources).
    pub fn play_samples(&mut self, samples: Arc<[f32]>, sample_rate_hz: u32, what: &str, fx: &mut Effects) {
        self.stop_playback(fx);
        match Playback::start(samples, sample_rate_hz, 0) {
            Ok(p) => {
                self.player = Some(p);
                fx.info(format!("Playing {what}"));
            }
            Err(e) => fx.error(format!("Cannot play: {e}")),
        }
    }

    fn stop_playback(&mut self, fx: &mut Effects) {
        if let Some(p) = self.player.take()
            && let Err(e) = p.stop()
        {
            fx.error(e.to_string());
        }
    }

    /// Transport, recording and navigation keys.
    pub fn shortcuts(&mut self, ctx: &egui::Context, b_side: Option<BSide<'_>>, fx: &mut Effects) {
        let (space, fit, left, right, zoom_in, zoom_out, record) = ctx.input_mut(|i| {
            (
                i.consume_key(Modifiers::NONE, Key::Space),
                i.consume_key(Modifiers::NONE, Key::F) || i.consume_key(Modifiers::NONE, Key::Home),
                i.consume_key(Modifiers::NONE, Key::ArrowLeft),
                i.consume_key(Modifiers::NONE, Key::ArrowRight),
                i.consume_key(Modifiers::NONE, Key::Plus) || i.consume_key(Modifiers::NONE, Key::Equals),
                i.consume_key(Modifiers::NONE, Key::Minus),
                i.consume_key(Modifiers::NONE, Key::R),
            )
        });
        if space {
            self.toggle_playback(b_side, fx);
        }
        if record && let Some(take) = self.recorder.toggle() {
            self.add_take(take, fx);
        }
        if let (Some(window), Some(analysis)) = (&mut self.window, &self.analysis) {
            let duration = analysis.clip.duration_secs();
            let span = window.time_secs[1] - window.time_secs[0];
            let centre = 0.5 * (window.time_secs[0] + window.time_secs[1]);
            if fit {
                *window = ViewWindow::fit(analysis);
            }
            if left {
                window.pan_time(-0.2 * span, duration);
            }
            if right {
                window.pan_time(0.2 * span, duration);
            }
            if zoom_in {
                window.zoom_time(0.5, centre, duration);
            }
            if zoom_out {
                window.zoom_time(2.0, centre, duration);
            }
        }
    }

    /// Play/stop and the playhead's time, for the toolbar.
    pub fn transport_ui(&mut self, ui: &mut egui::Ui, b_side: Option<BSide<'_>>, fx: &mut Effects) {
        let label = if self.is_playing() { "Stop" } else { "Play" };
        if ui.add_enabled(self.analysis.is_some(), egui::Button::new(label)).on_hover_text("Space").clicked() {
            self.toggle_playback(b_side, fx);
        }
        ui.label(format!("{:.2} s", self.playhead_secs()));
    }

    pub fn fit_button_ui(&mut self, ui: &mut egui::Ui) {
        if ui.button("Fit").on_hover_text("Show the whole clip (F, or double-click a view)").clicked()
            && let Some(a) = &self.analysis
        {
            self.window = Some(ViewWindow::fit(a));
        }
    }

    /// The clip list and the recorder, for the left panel.
    pub fn list_ui(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        ui.heading("Clips");
        let mut clicked = None;
        egui::ScrollArea::vertical().id_salt("clips").max_height(ui.available_height() * 0.25).show(ui, |ui| {
            for (i, clip) in self.clips.iter().enumerate() {
                let text = format!("{}  ({:.1} s)", clip.name, clip.duration_secs());
                let response = ui.selectable_label(self.selected == Some(i), text);
                let response = match &clip.source {
                    Some(p) => response.on_hover_text(p.display().to_string()),
                    None => response,
                };
                if response.clicked() {
                    clicked = Some(i);
                }
            }
        });
        if let Some(i) = clicked {
            self.select(i, fx);
        }
        ui.separator();
        if let Some(take) = self.recorder.ui(ui) {
            self.add_take(take, fx);
        }
    }

    /// The synced views of the clip (and, with a chain on, its Δ rows), with the spectrum slice.
    pub fn ui(&mut self, ui: &mut egui::Ui, gpu: bool, b_side: Option<BSide<'_>>, look: Look<'_>, fx: &mut Effects) {
        let Look { colors, show_slice, overlay_opacity, activity } = look;
        let playhead = self.playhead_secs();
        self.compare_ui(ui, fx);
        let compare = self.compare.clone().filter(|_| self.showing_compare);
        // The strip is there from the first frame a model is loaded, so the views keep one layout
        // while a clip is analysed and its answer arrives.
        self.activity_rect = None;
        if let Some(activity) = activity.filter(|_| compare.is_none() && gpu) {
            let threshold = crate::ui::predict_panel::PRESENT;
            let time = self.window.as_ref().map_or([0.0, 4.0], |w| w.time_secs);
            let activity = activity.filter(|_| self.analysis.is_some());
            egui::Panel::bottom("activity").exact_size(crate::ui::activity_strip::STRIP_PX).show(ui, |ui| {
                self.activity_rect = Some(crate::ui::activity_strip::strip_ui(ui, activity, time, threshold));
            });
        }
        let (Some(clean), Some(window), true) = (&self.analysis, &mut self.window, gpu) else {
            ui.centered_and_justified(|ui| {
                let text = if self.jobs.is_busy(0) {
                    "Analysing…"
                } else {
                    "Open a clip (Ctrl+O), drop one here, or pick a demo clip."
                };
                ui.label(text);
            });
            return;
        };
        let sources = match (b_side, &compare) {
            (_, Some(c)) => ViewSources {
                analysis: &c.analysis,
                slots: [Slot::CompareWaveform, Slot::CompareStft, Slot::CompareCqt],
                delta: None,
                overlay_opacity: 0.0,
            },
            (Some(b), None) => ViewSources {
                analysis: if b.listening { &b.view.analysis } else { clean },
                slots: if b.listening {
                    [Slot::DegradedWaveform, Slot::DegradedStft, Slot::DegradedCqt]
                } else {
                    [Slot::Waveform, Slot::Stft, Slot::Cqt]
                },
                delta: Some(DeltaRows { stft: &b.view.delta_stft, cqt: &b.view.delta_cqt, range_db: b.delta_range_db }),
                overlay_opacity,
            },
            (None, None) => ViewSources {
                analysis: clean,
                slots: [Slot::Waveform, Slot::Stft, Slot::Cqt],
                delta: None,
                overlay_opacity,
            },
        };
        let analysis = sources.analysis;
        if show_slice {
            // Last frame's pointer time, else the playhead.
            let t = self.hover.time_secs.unwrap_or(playhead).clamp(0.0, analysis.clip.duration_secs());
            let range = crate::ui::views::db_range(analysis, colors);
            egui::Panel::bottom("slice")
                .resizable(true)
                .default_size(190.0)
                .show(ui, |ui| crate::ui::slice::slice_ui(ui, analysis, t, range));
        }
        let response = views_ui(ui, &sources, window, colors, Some(playhead));
        self.hover = response.hover;
        self.view_rects = Some(response.rects);
        self.delta_rects = response.delta_rects;
        if let Some(t) = response.seek_secs {
            let playing = self.is_playing();
            self.stop_playback(fx);
            self.cursor_secs = t;
            if playing {
                self.toggle_playback(b_side, fx);
            }
        }
    }
}

impl ClipViews {
    /// Shows `compare` beside the clip, on the B side of the A/B switch.
    pub fn set_compare(&mut self, compare: Compare) {
        self.compare = Some(Arc::new(compare));
        self.showing_compare = false;
    }

    /// Switches between the clip and its nearest training note, playing on from the same place.
    pub fn toggle_compare(&mut self, fx: &mut Effects) {
        if self.compare.is_none() {
            return;
        }
        let playing = self.is_playing();
        if playing {
            self.pause(fx);
        }
        self.showing_compare = !self.showing_compare;
        if playing {
            self.toggle_playback(None, fx);
        }
    }

    /// The analysis the views show: the clip's, or its nearest training note's on the B side.
    pub fn shown(&self) -> Option<&Arc<Analysis>> {
        match &self.compare {
            Some(c) if self.showing_compare => Some(&c.analysis),
            _ => self.analysis.as_ref(),
        }
    }

    /// Which of the pair the views show, A or B, as two buttons above them.
    pub(super) fn compare_ui(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        let Some(c) = self.compare.clone() else { return };
        // Wrapped: the notes' names are long, and the views must keep the panel's width.
        ui.horizontal_wrapped(|ui| {
            if ui.selectable_label(!self.showing_compare, &c.a_label).clicked() && self.showing_compare {
                self.toggle_compare(fx);
            }
            if ui.selectable_label(self.showing_compare, &c.b_label).on_hover_text("B switches").clicked()
                && !self.showing_compare
            {
                self.toggle_compare(fx);
            }
        });
    }
}
