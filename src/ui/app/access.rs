//! The workbench's face to the command line (`timbrescope gui` options) and to UI tests: what
//! each mode shows, and the actions a user would take, without going through widgets.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::{Effect, Mode, Workbench};
use crate::audio::Clip;
use crate::jobs::Analysis;
use crate::jobs::data::{GridRequest, MixtureView};
use crate::jobs::degrade::DegradedView;
use crate::jobs::embed::{EmbeddingMap, Space};
use crate::learn::explanation::embed::Embeddings;
use crate::learn::explanation::projection::Method;
use crate::ui::browser::Browser;
use crate::ui::degrade_panel::DegradePanel;
use crate::ui::grid::GridState;
use crate::ui::predict_panel::PredictPanel;
use crate::ui::train_panel::TrainPanel;
use crate::ui::views::ViewWindow;

impl Workbench {
    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// The status line (info or error).
    pub fn status_text(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.text.as_str())
    }

    // The clip views.

    pub fn clips(&self) -> &[Clip] {
        &self.clip.clips
    }

    /// The analysis the views show, once ready.
    pub fn analysis(&self) -> Option<&Arc<Analysis>> {
        self.clip.analysis.as_ref()
    }

    /// True while a load or analysis the views wait for is running.
    pub fn is_busy(&self) -> bool {
        self.clip.is_busy()
    }

    /// The visible region of the views.
    pub fn view_window(&self) -> Option<ViewWindow> {
        self.clip.window
    }

    /// Where the waveform, STFT and CQT were last drawn, in points.
    pub fn view_rects(&self) -> Option<[egui::Rect; 3]> {
        self.clip.view_rects
    }

    /// Where the activity strip's rows were last drawn, when it was.
    pub fn activity_rect(&self) -> Option<egui::Rect> {
        self.clip.activity_rect
    }

    /// What the mixture view knows of the model's own masks.
    pub fn predicted_masks(&self) -> &crate::ui::mixture_view::ModelMasks {
        &self.data.predicted
    }

    /// The name of the clip the views show: the clip, or on the B side its nearest training note.
    pub fn shown_clip_name(&self) -> Option<&str> {
        self.clip.shown().map(|a| a.clip.name.as_str())
    }

    /// The file the shown clip (A or B) was read from.
    pub fn shown_clip_source(&self) -> Option<&std::path::Path> {
        self.clip.shown().and_then(|a| a.clip.source.as_deref())
    }

    /// Opens `note` of `dataset` and, beside it, the training note of the class it is heard as that
    /// lies nearest in `model`'s embedding (B switches between them).
    pub fn open_with_nearest(&mut self, model: PathBuf, dataset: PathBuf, note: String) {
        self.effects.push(Effect::Nearest { model, dataset, note, class: None });
        self.route(None);
    }

    /// The note shown beside the clip on the B side (the nearest training note, or the note's
    /// played version), once found.
    pub fn compared_note(&self) -> Option<&str> {
        self.clip.compare.as_ref().map(|c| c.other.as_str())
    }

    /// The B side's label, e.g. "B: played (held 0.50 s, vibrato …)".
    pub fn compare_label(&self) -> Option<&str> {
        self.clip.compare.as_ref().map(|c| c.b_label.as_str())
    }

    /// Whether the views show the B side.
    pub fn showing_compare(&self) -> bool {
        self.clip.showing_compare
    }

    pub fn select(&mut self, index: usize) {
        self.clip.select(index, &mut self.effects);
        self.route(None);
    }

    pub fn open(&mut self, path: PathBuf) {
        self.effects.push(Effect::Open(path));
        self.route(None);
    }

    pub fn toggle_playback(&mut self) {
        self.clip.toggle_playback(self.degrade.b_side(), &mut self.effects);
        self.route(None);
    }

    // The data set.

    pub fn browser(&self) -> &Browser {
        &self.data.browser
    }

    /// Where the instrument grid's cells, or the mixture view's rows, were last drawn.
    pub fn panel_rects(&self) -> &[egui::Rect] {
        &self.data.panel_rects
    }

    pub fn grid(&self) -> Option<&GridState> {
        self.data.grid.as_ref()
    }

    pub fn mixture(&self) -> Option<&Arc<MixtureView>> {
        self.data.mixture.as_ref()
    }

    /// True while a grid or mixture request is running.
    pub fn is_data_busy(&self) -> bool {
        self.data.is_busy()
    }

    /// Opens a data set folder (examples.json + audio/) in the browser, in the background.
    pub fn open_dataset(&mut self, root: PathBuf) {
        self.data.open_dataset(root, &mut self.effects);
        self.route(None);
    }

    /// Opens a mixture .npz in the mixture view, in the background.
    pub fn open_mixture(&mut self, path: PathBuf) {
        self.data.open_mixture(path, &mut self.effects);
        self.route(None);
    }

    /// Shows the instrument grid at `pitch` once the data set being opened arrives.
    pub fn show_grid_when_open(&mut self, pitch: u8) {
        self.data.show_grid_when_open(pitch);
    }

    /// Opens the note named `note_str` once the data set being opened arrives.
    pub fn open_note_when_open(&mut self, note_str: String) {
        self.data.note_on_open = Some(note_str);
    }

    /// Loads note `index` of the open data set into the clip views.
    pub fn load_note(&mut self, index: usize) {
        self.data.load_note(index, &mut self.effects);
        self.route(None);
    }

    /// Shows every instrument of the open data set at one pitch.
    pub fn request_grid(&mut self, request: GridRequest) {
        self.data.request_grid(request, &mut self.effects);
        self.route(None);
    }

    // Degradation.

    /// The degraded clip the views show beside the clean one, once rendered.
    pub fn degraded(&self) -> Option<&Arc<DegradedView>> {
        self.degrade.last()
    }

    /// True while a degradation the views wait for is rendering.
    pub fn is_degrade_busy(&self) -> bool {
        self.degrade.is_busy()
    }

    /// From the last chain change to its degraded views uploaded, in ms.
    pub fn degrade_latency_ms(&self) -> Option<f64> {
        self.degrade.latency_ms
    }

    /// Where the Δ STFT and Δ CQT were last drawn, when shown.
    pub fn delta_rects(&self) -> Option<[egui::Rect; 2]> {
        self.clip.delta_rects
    }

    pub fn degrade_panel(&self) -> &DegradePanel {
        &self.degrade.panel
    }

    /// Changes the chain (as the panel would) and renders again.
    pub fn set_degrade_panel(&mut self, panel: DegradePanel) {
        self.degrade.panel = panel;
        self.degrade.request(self.clip.analysis.as_ref());
    }

    /// Loads a chain file (or `shipped:NAME`) into the degradation panel and applies it.
    pub fn load_chain(&mut self, path: PathBuf) {
        self.degrade.load_chain(&path, self.clip.analysis.as_ref(), &mut self.effects);
        self.route(None);
    }

    // The embedding map.

    /// Reads a file `timbrescope embed` wrote into the map (`degraded`: as the clean notes' twin).
    pub fn open_embeddings(&mut self, path: PathBuf, degraded: bool) {
        self.embed.open(path, degraded, &mut self.effects);
        self.route(None);
    }

    pub fn embeddings(&self) -> Option<&Arc<Embeddings>> {
        self.embed.clean.as_ref()
    }

    pub fn embedding_map(&self) -> Option<&Arc<EmbeddingMap>> {
        self.embed.map.as_ref()
    }

    /// True while embeddings are read, computed or mapped.
    pub fn is_embed_busy(&self) -> bool {
        self.embed.is_busy()
    }

    /// The notes (rows) of the last box drawn on the map.
    pub fn embedding_selection(&self) -> &[usize] {
        &self.embed.selection
    }

    /// Where point `i` of the map was last drawn, in points.
    pub fn embedding_point_pos(&self, i: usize) -> Option<egui::Pos2> {
        self.embed.point_pos(i)
    }

    /// Maps the embeddings anew: `space` and `method` as the tab's controls set them.
    pub fn set_embedding_view(&mut self, space: Space, method: Method) {
        (self.embed.space, self.embed.method) = (space, method);
        self.embed.project();
    }

    // Learning.

    pub fn train_panel(&self) -> &TrainPanel {
        &self.learn.train
    }

    pub fn train_panel_mut(&mut self) -> &mut TrainPanel {
        &mut self.learn.train
    }

    pub fn prediction(&self) -> &PredictPanel {
        &self.learn.prediction
    }

    /// Turns the saliency over the views on or off (as its checkbox does).
    pub fn show_saliency(&mut self, on: bool) {
        self.learn.prediction.saliency = on;
        self.effects.push(Effect::Explain);
        self.route(None);
    }

    /// Loads a model file for the prediction panel.
    pub fn use_model(&mut self, path: PathBuf) {
        self.learn.use_model(path, &mut self.effects);
        self.route(None);
    }

    // Live mode.

    /// Where the live views (waveform, STFT, CQT, strip) were last drawn, and the stretch of
    /// stream time they showed.
    pub fn live_layout(&self) -> Option<([egui::Rect; 4], [f64; 2])> {
        self.live.layout
    }

    /// Stream seconds heard, and whether the stream has ended (a file played to its end).
    pub fn live_progress(&self) -> (f64, bool) {
        (self.live.now_secs(), self.live.has_ended())
    }

    pub fn live_predictions(&self) -> &[crate::live::LivePrediction] {
        self.live.predictions()
    }

    pub fn live_window_mut(&mut self) -> &mut crate::ui::live::window::LiveWindow {
        &mut self.live.window
    }

    /// Turns the live saliency tint on or off, as its checkbox does.
    pub fn show_live_saliency(&mut self, on: bool) {
        self.live.saliency = on;
    }

    /// What the live saliency tint shows, once an explanation has arrived.
    pub fn live_saliency_shown(&self) -> Option<&str> {
        self.live.saliency_shown()
    }

    /// Keeps the selected (or visible) stretch as a clip, as K does.
    pub fn keep_live(&mut self) {
        self.live.keep(&mut self.effects);
        self.route(None);
    }
}
