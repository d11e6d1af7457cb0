//! The workbench window: clip list, recorder, transport, the synced views and the status bar.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::browser::{Browser, BrowserAction};
use super::degrade_panel::DegradePanel;
use super::gpu_views::{self, Slot};
use super::grid::{GridAction, GridState, grid_ui};
use super::mixture_view::{MixtureAction, mixture_ui};
use super::predict_panel::PredictPanel;
use super::record_panel::RecordPanel;
use super::train_panel::{TrainPanel, TrainSettings};
use super::views::{ColorSettings, DeltaRows, Hover, ViewSources, ViewWindow, views_ui};
use crate::audio::playback::Playback;
use crate::audio::{Clip, save::save_wav};
use crate::data::demo::{demo_clips, try_load_demo};
use crate::jobs::data::{DataEvent, DataJob, DataJobs, DataRequest, GridRequest, MixtureView};
use crate::jobs::degrade::{DegradeJob, DegradeWorker, DegradedView};
use crate::jobs::predict::{PredictJob, PredictWorker};
use crate::jobs::{Analysis, AnalysisEvent, AnalysisJob, AnalysisJobs, AnalysisRequest, Report};
use crate::learn::ModelSource;
use crate::render::Colormap;

mod degrade;
mod learn;

const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
const OPEN_DATASET: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::D);
const OPEN_MIXTURE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::M);

/// Settings that survive a restart.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Settings {
    colors: ColorSettings,
    last_dir: Option<PathBuf>,
    /// Show the spectrum at the pointer (or playhead) below the views.
    show_slice: bool,
    /// The data set folder open last time, reopened at launch.
    last_dataset: Option<PathBuf>,
    /// The degradation chain and whether it applies.
    degrade: DegradePanel,
    /// The training tab's choices and watched runs.
    train: TrainSettings,
    /// The model the prediction panel uses (the shipped one when unset).
    model: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            colors: ColorSettings::default(),
            last_dir: None,
            show_slice: true,
            last_dataset: None,
            degrade: DegradePanel::default(),
            train: TrainSettings::default(),
            model: None,
        }
    }
}

struct Status {
    text: String,
    is_error: bool,
}

enum DialogResult {
    Open(PathBuf),
    Save(PathBuf),
    Dataset(PathBuf),
    Mixture(PathBuf),
    LoadChain(PathBuf),
    SaveChain(PathBuf),
    Model(PathBuf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialog {
    Open,
    Save,
    Dataset,
    Mixture,
    LoadChain,
    SaveChain,
    Model,
}

/// What the central panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Waveform, STFT and CQT of the selected clip.
    Clip,
    /// One view of every instrument at one pitch.
    Grid,
    /// A mixture's STFT and its sources' soft masks.
    Mixture,
    /// Training runs: controls, curves and the confusion matrix.
    Training,
}

pub struct Workbench {
    settings: Settings,
    clips: Vec<Clip>,
    selected: Option<usize>,
    analysis: Option<Arc<Analysis>>,
    window: Option<ViewWindow>,
    jobs: AnalysisJobs,
    dialogs: (Sender<DialogResult>, Receiver<DialogResult>),
    player: Option<Playback>,
    /// Where playback starts, and where the playhead rests when stopped.
    cursor_secs: f64,
    recorder: RecordPanel,
    hover: Hover,
    view_rects: Option<[egui::Rect; 3]>,
    status: Option<Status>,
    gpu: bool,
    mode: Mode,
    browser: Browser,
    data_jobs: DataJobs,
    grid: Option<GridState>,
    mixture: Option<Arc<MixtureView>>,
    /// The clip list entry that browsing replaces, so clicking through notes does not pile up clips.
    browser_clip: Option<usize>,
    /// The load in flight came from the browser.
    loading_note: bool,
    /// A file dialog asked for where no context was at hand; opened on the next frame.
    dialog_request: Option<Dialog>,
    /// Show the grid at this pitch as soon as a data set has opened.
    grid_on_open: Option<u8>,
    /// Where the grid cells or mixture rows were last drawn, in points.
    panel_rects: Vec<egui::Rect>,
    degrade_worker: DegradeWorker,
    /// The degraded version of `analysis`, once rendered for the current chain.
    degraded: Option<Arc<DegradedView>>,
    /// When the pending degradation was asked for, and how long the last one took from the
    /// request (a slider moving) to its views being on the GPU.
    degrade_requested_at: Option<std::time::Instant>,
    degrade_latency_ms: Option<f64>,
    /// Where the Δ STFT and Δ CQT were last drawn.
    delta_rects: Option<[egui::Rect; 2]>,
    train: TrainPanel,
    predictor: PredictWorker,
    prediction: PredictPanel,
}

impl Workbench {
    /// Opens with the demo clips, or with `initial` when given.
    pub fn new(cc: &eframe::CreationContext<'_>, initial: Option<PathBuf>) -> Self {
        let settings: Settings = cc.storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
        let gpu = match cc.wgpu_render_state.as_ref() {
            Some(rs) => {
                gpu_views::install(rs);
                true
            }
            None => false,
        };
        let ctx = cc.egui_ctx.clone();
        let data_ctx = cc.egui_ctx.clone();
        let degrade_ctx = cc.egui_ctx.clone();
        let predict_ctx = cc.egui_ctx.clone();
        let train = TrainPanel::new(settings.train.clone());
        let mut app = Self {
            settings,
            clips: Vec::new(),
            selected: None,
            analysis: None,
            window: None,
            jobs: AnalysisJobs::start("analysis", AnalysisJob::new, Arc::new(move || ctx.request_repaint())),
            dialogs: channel(),
            player: None,
            cursor_secs: 0.0,
            recorder: RecordPanel::default(),
            hover: Hover::default(),
            view_rects: None,
            status: None,
            gpu,
            mode: Mode::Clip,
            browser: Browser::default(),
            data_jobs: DataJobs::start("data", || DataJob, Arc::new(move || data_ctx.request_repaint())),
            grid: None,
            mixture: None,
            browser_clip: None,
            loading_note: false,
            dialog_request: None,
            grid_on_open: None,
            panel_rects: Vec::new(),
            degrade_worker: DegradeWorker::start(
                "degrade",
                DegradeJob::new,
                Arc::new(move || degrade_ctx.request_repaint()),
            ),
            degraded: None,
            degrade_requested_at: None,
            degrade_latency_ms: None,
            delta_rects: None,
            train,
            predictor: PredictWorker::start(
                "predict",
                PredictJob::default,
                Arc::new(move || predict_ctx.request_repaint()),
            ),
            prediction: PredictPanel::default(),
        };
        // A first launch, or a remembered model that has gone, uses the one inside the binary.
        match app.settings.model.clone().filter(|p| p.exists()) {
            Some(model) => app.use_model(model),
            None => app.use_model_from(ModelSource::Shipped),
        }
        if let Some(dir) = app.settings.last_dataset.clone().filter(|d| d.join("examples.json").exists()) {
            app.open_dataset(dir);
        }
        if !gpu {
            app.error("No GPU renderer: the views cannot be drawn (start with a Vulkan, Metal or DX12 capable driver; on Linux without a GPU install mesa-vulkan-drivers)");
        }
        for demo in demo_clips() {
            match try_load_demo(demo) {
                Ok(clip) => app.clips.push(clip),
                Err(e) => app.error(e.to_string()),
            }
        }
        match initial {
            Some(path) => app.open(path),
            None if !app.clips.is_empty() => app.select(0),
            None => {}
        }
        app
    }

    /// The analysis the views show, once ready.
    pub fn analysis(&self) -> Option<&Arc<Analysis>> {
        self.analysis.as_ref()
    }

    /// True while a load or analysis the views wait for is running.
    pub fn is_busy(&self) -> bool {
        self.jobs.is_busy(0)
    }

    pub fn clips(&self) -> &[Clip] {
        &self.clips
    }

    /// The visible region of the views.
    pub fn view_window(&self) -> Option<ViewWindow> {
        self.window
    }

    /// Where the waveform, STFT and CQT were last drawn, in points.
    pub fn view_rects(&self) -> Option<[egui::Rect; 3]> {
        self.view_rects
    }

    /// The status line (info or error).
    pub fn status_text(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.text.as_str())
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    pub fn browser(&self) -> &Browser {
        &self.browser
    }

    /// Where the instrument grid's cells, or the mixture view's rows, were last drawn.
    pub fn panel_rects(&self) -> &[egui::Rect] {
        &self.panel_rects
    }

    pub fn grid(&self) -> Option<&GridState> {
        self.grid.as_ref()
    }

    pub fn mixture(&self) -> Option<&Arc<MixtureView>> {
        self.mixture.as_ref()
    }

    /// True while a data set, grid or mixture request is running.
    pub fn is_data_busy(&self) -> bool {
        self.data_jobs.is_busy(DataRequest::GRID_LANE) || self.data_jobs.is_busy(DataRequest::MIXTURE_LANE)
    }

    /// Opens a data set folder (examples.json + audio/) in the browser, in the background.
    pub fn open_dataset(&mut self, root: PathBuf) {
        self.info(format!("Opening data set {}…", root.display()));
        self.data_jobs.submit(DataRequest::OpenDataset(root));
    }

    /// Opens a mixture .npz in the mixture view, in the background.
    pub fn open_mixture(&mut self, path: PathBuf) {
        self.info(format!("Opening mixture {}…", path.display()));
        self.data_jobs.submit(DataRequest::Mixture(path));
    }

    /// Shows the instrument grid at `pitch` once the data set being opened arrives.
    pub fn show_grid_when_open(&mut self, pitch: u8) {
        self.grid_on_open = Some(pitch);
    }

    /// Loads note `index` of the open data set into the clip views.
    pub fn load_note(&mut self, index: usize) {
        if let Some(action) = self.browser.load_action(index) {
            self.browser_action(action);
        }
    }

    /// Shows every instrument of the open data set at one pitch.
    pub fn request_grid(&mut self, request: GridRequest) {
        if let Some(dataset) = self.browser.dataset().cloned() {
            self.data_jobs.submit(DataRequest::Grid { dataset, request });
            self.mode = Mode::Grid;
        }
    }

    fn browser_action(&mut self, action: BrowserAction) {
        match action {
            BrowserAction::PickFolder => self.dialog_request = Some(Dialog::Dataset),
            BrowserAction::Load { path, name } => {
                self.stop_playback();
                self.info(format!("Loading {name}…"));
                self.loading_note = true;
                self.mode = Mode::Clip;
                self.jobs.submit(AnalysisRequest::Load(path));
            }
            BrowserAction::Grid { pitch, velocity, bank } => {
                let view = self.grid.as_ref().map_or(crate::dsp::View::Cqt, |g| g.request.view);
                self.request_grid(GridRequest { view, pitch, velocity, bank });
            }
        }
    }

    fn handle_data_events(&mut self, frame: &eframe::Frame) {
        for report in self.data_jobs.poll() {
            let event = match report {
                Report::Event { event, .. } => event,
                Report::Failed { message, .. } => {
                    self.error(message);
                    continue;
                }
                Report::Stopped { message } => {
                    self.error(format!("Data set work: {message}"));
                    continue;
                }
                Report::Done { .. } => continue,
            };
            match event {
                DataEvent::DatasetOpened(dataset) => {
                    self.info(format!("Data set {}: {} notes", dataset.root().display(), dataset.notes.len()));
                    self.settings.last_dataset = Some(dataset.root().to_owned());
                    self.browser.set_dataset(dataset);
                    if let Some(pitch) = self.grid_on_open.take()
                        && let Some(BrowserAction::Grid { velocity, bank, .. }) = self.browser.grid_request()
                    {
                        self.request_grid(GridRequest { view: crate::dsp::View::Cqt, pitch, velocity, bank });
                    }
                }
                DataEvent::Grid { request, cells } => {
                    if let Some(rs) = frame.wgpu_render_state() {
                        for (i, cell) in cells.iter().enumerate() {
                            if let Some(spec) = &cell.spectrogram {
                                gpu_views::upload_spectrogram(rs, Slot::Grid(i as u8), spec);
                            }
                        }
                    }
                    let found = cells.iter().filter(|c| c.spectrogram.is_some()).count();
                    let pitch = crate::dsp::notes::midi_name(i32::from(request.pitch));
                    self.info(format!("{found} of {} instruments have a note at {pitch}", cells.len()));
                    self.grid = Some(GridState::new(request, cells));
                }
                DataEvent::Mixture(view) => {
                    if let Some(rs) = frame.wgpu_render_state() {
                        gpu_views::upload_spectrogram(rs, Slot::Mixture(0), &view.mixture_db);
                        for (k, mask) in view.masks.iter().enumerate() {
                            gpu_views::upload_spectrogram(rs, Slot::Mixture(k as u8 + 1), mask);
                        }
                    }
                    self.info(format!("{}: {} sources", view.path.display(), view.masks.len()));
                    self.mixture = Some(view);
                    self.mode = Mode::Mixture;
                }
            }
        }
    }

    fn mixture_action(&mut self, action: MixtureAction) {
        match action {
            MixtureAction::Play { samples, sample_rate_hz, what } => {
                self.stop_playback();
                match Playback::start(samples, sample_rate_hz, 0) {
                    Ok(p) => {
                        self.player = Some(p);
                        self.info(format!("Playing {what}"));
                    }
                    Err(e) => self.error(format!("Cannot play: {e}")),
                }
            }
            MixtureAction::OpenInViews => {
                if let Some(view) = &self.mixture {
                    let name = view.path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    let clip = Clip::new(name, view.file.mixture.clone(), view.file.sample_rate_hz);
                    self.mode = Mode::Clip;
                    self.add_take(clip);
                }
            }
        }
    }

    pub fn select(&mut self, index: usize) {
        if let Some(clip) = self.clips.get(index).cloned() {
            self.stop_playback();
            self.selected = Some(index);
            self.jobs.submit(AnalysisRequest::Analyse(clip));
        }
    }

    pub fn open(&mut self, path: PathBuf) {
        self.stop_playback();
        self.settings.last_dir = path.parent().map(|p| p.to_path_buf());
        self.info(format!("Loading {}…", path.display()));
        self.jobs.submit(AnalysisRequest::Load(path));
    }

    fn info(&mut self, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), is_error: false });
    }

    fn error(&mut self, text: impl Into<String>) {
        let text = text.into();
        log::error!("{text}");
        self.status = Some(Status { text, is_error: true });
    }

    fn handle_job_events(&mut self, frame: &eframe::Frame) {
        for report in self.jobs.poll() {
            match report {
                Report::Event { event: AnalysisEvent::Loaded(clip), .. } => {
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
                Report::Event { event: AnalysisEvent::Analyzed(analysis), .. } => {
                    if let Some(rs) = frame.wgpu_render_state() {
                        gpu_views::upload_waveform(rs, Slot::Waveform, &analysis.clip.samples);
                        gpu_views::upload_spectrogram(rs, Slot::Stft, &analysis.stft);
                        gpu_views::upload_spectrogram(rs, Slot::Cqt, &analysis.cqt);
                    }
                    let clip = &analysis.clip;
                    let text = format!(
                        "{}: {:.2} s at {} Hz, views computed in {:.1} ms",
                        clip.name,
                        clip.duration_secs(),
                        clip.sample_rate_hz,
                        analysis.elapsed_ms
                    );
                    self.info(text);
                    self.window = Some(ViewWindow::fit(&analysis));
                    self.cursor_secs = 0.0;
                    self.analysis = Some(analysis);
                    self.degraded = None;
                    self.prediction.degraded = None;
                    self.request_degrade();
                    self.request_predictions();
                }
                Report::Failed { message, .. } => self.error(message),
                Report::Stopped { message } => self.error(format!("Clip analysis: {message}")),
                Report::Done { .. } => {}
            }
        }
    }

    fn handle_dialogs(&mut self) {
        while let Ok(result) = self.dialogs.1.try_recv() {
            match result {
                DialogResult::Open(path) => self.open(path),
                DialogResult::Save(path) => self.save_current(path),
                DialogResult::Dataset(path) => self.open_dataset(path),
                DialogResult::Mixture(path) => self.open_mixture(path),
                DialogResult::LoadChain(path) => self.load_chain(path),
                DialogResult::SaveChain(path) => self.save_chain(path),
                DialogResult::Model(path) => self.use_model(path),
            }
        }
    }

    /// File dialogs run on their own thread so the window keeps drawing behind them.
    fn spawn_dialog(&self, kind: Dialog, ctx: &egui::Context) {
        let dir = self.settings.last_dir.clone();
        let name = self.current_clip().map(|c| format!("{}.wav", c.name.replace(['/', '\\'], "_")));
        super::file_dialog::spawn(ctx, self.dialogs.0.clone(), move |mut dialog| {
            if let Some(dir) = dir {
                dialog = dialog.set_directory(dir);
            }
            match kind {
                Dialog::Save => dialog
                    .add_filter("WAV", &["wav"])
                    .set_file_name(name.unwrap_or_default())
                    .save_file()
                    .map(DialogResult::Save),
                Dialog::Open => {
                    dialog.add_filter("Audio", &crate::audio::EXTENSIONS).pick_file().map(DialogResult::Open)
                }
                Dialog::Dataset => dialog.pick_folder().map(DialogResult::Dataset),
                Dialog::Mixture => dialog.add_filter("Mixture", &["npz"]).pick_file().map(DialogResult::Mixture),
                Dialog::LoadChain => {
                    dialog.add_filter("Chain", &["toml", "json"]).pick_file().map(DialogResult::LoadChain)
                }
                Dialog::SaveChain => dialog
                    .add_filter("Chain", &["toml"])
                    .set_file_name("chain.toml")
                    .save_file()
                    .map(DialogResult::SaveChain),
                Dialog::Model => dialog.add_filter("Model", &["safetensors"]).pick_file().map(DialogResult::Model),
            }
        });
    }

    /// The clip the views show: the clean one, or the degraded one on the B side.
    fn current_clip(&self) -> Option<&Clip> {
        match self.shown_degraded() {
            Some(d) if self.listening_to_degraded() => Some(&d.analysis.clip),
            _ => self.analysis.as_ref().map(|a| &a.clip),
        }
    }

    fn save_current(&mut self, path: PathBuf) {
        let Some(clip) = self.current_clip().cloned() else { return };
        match save_wav(&path, &clip) {
            Ok(()) => self.info(format!("Saved {}", path.display())),
            Err(e) => self.error(e.to_string()),
        }
    }

    fn playhead_secs(&self) -> f64 {
        match (&self.player, &self.analysis) {
            (Some(p), Some(a)) => p.position_samples() as f64 / a.clip.sample_rate_hz as f64,
            _ => self.cursor_secs,
        }
    }

    pub fn toggle_playback(&mut self) {
        if self.player.is_some() {
            self.cursor_secs = self.playhead_secs();
            self.stop_playback();
            return;
        }
        let Some(analysis) = self.analysis.clone() else { return };
        let clip = &analysis.clip;
        let mut start = (self.cursor_secs * clip.sample_rate_hz as f64) as usize;
        if start >= clip.samples.len() {
            start = 0;
        }
        // The B side plays what was rendered, both ears of a binaural room.
        let (left, right) = match self.shown_degraded() {
            Some(d) if self.listening_to_degraded() => (d.channels[0].clone(), d.channels.get(1).cloned()),
            _ => (clip.samples.clone(), None),
        };
        match Playback::start_channels(left, right, clip.sample_rate_hz, start) {
            Ok(p) => self.player = Some(p),
            Err(e) => self.error(format!("Cannot play: {e}")),
        }
    }

    fn stop_playback(&mut self) {
        if let Some(p) = self.player.take()
            && let Err(e) = p.stop()
        {
            self.error(e.to_string());
        }
    }

    fn add_take(&mut self, clip: Clip) {
        self.clips.push(clip);
        self.select(self.clips.len() - 1);
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        // Keys belong to a text field while one has focus.
        if ctx.memory(|m| m.focused().is_some()) && ctx.egui_wants_keyboard_input() {
            return;
        }
        let (open_dataset, open_mixture) =
            ctx.input_mut(|i| (i.consume_shortcut(&OPEN_DATASET), i.consume_shortcut(&OPEN_MIXTURE)));
        if open_dataset {
            self.spawn_dialog(Dialog::Dataset, ctx);
        }
        if open_mixture {
            self.spawn_dialog(Dialog::Mixture, ctx);
        }
        if let Some(kind) = self.dialog_request.take() {
            self.spawn_dialog(kind, ctx);
        }
        let (flip, draw_again) =
            ctx.input_mut(|i| (i.consume_key(Modifiers::NONE, Key::B), i.consume_key(Modifiers::NONE, Key::N)));
        if flip && self.settings.degrade.enabled {
            self.toggle_listen();
        }
        if draw_again && self.settings.degrade.enabled {
            self.settings.degrade.draw_again();
            self.request_degrade();
        }
        let (open, save, space, fit, left, right, zoom_in, zoom_out, record) = ctx.input_mut(|i| {
            (
                i.consume_shortcut(&OPEN),
                i.consume_shortcut(&SAVE),
                i.consume_key(Modifiers::NONE, Key::Space),
                i.consume_key(Modifiers::NONE, Key::F) || i.consume_key(Modifiers::NONE, Key::Home),
                i.consume_key(Modifiers::NONE, Key::ArrowLeft),
                i.consume_key(Modifiers::NONE, Key::ArrowRight),
                i.consume_key(Modifiers::NONE, Key::Plus) || i.consume_key(Modifiers::NONE, Key::Equals),
                i.consume_key(Modifiers::NONE, Key::Minus),
                i.consume_key(Modifiers::NONE, Key::R),
            )
        });
        if open {
            self.spawn_dialog(Dialog::Open, ctx);
        }
        if save && self.analysis.is_some() {
            self.spawn_dialog(Dialog::Save, ctx);
        }
        if space {
            self.toggle_playback();
        }
        if record && let Some(take) = self.recorder.toggle() {
            self.add_take(take);
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

    fn toolbar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            if ui
                .button("Open…")
                .on_hover_text("Open a WAV, FLAC, MP3 or Ogg file (Ctrl+O), or drop one on the window")
                .clicked()
            {
                self.spawn_dialog(Dialog::Open, ui.ctx());
            }
            if ui.add_enabled(self.analysis.is_some(), egui::Button::new("Save WAV…")).on_hover_text("Ctrl+S").clicked()
            {
                self.spawn_dialog(Dialog::Save, ui.ctx());
            }
            ui.separator();
            let playing = self.player.is_some();
            let label = if playing { "Stop" } else { "Play" };
            if ui.add_enabled(self.analysis.is_some(), egui::Button::new(label)).on_hover_text("Space").clicked() {
                self.toggle_playback();
            }
            ui.label(format!("{:.2} s", self.playhead_secs()));
            ui.separator();
            let colors = &mut self.settings.colors;
            egui::ComboBox::from_label("colormap").selected_text(colors.colormap.name()).show_ui(ui, |ui| {
                for map in Colormap::ALL {
                    ui.selectable_value(&mut colors.colormap, map, map.name());
                }
            });
            ui.add(egui::Slider::new(&mut colors.range_db, 20.0..=140.0).text("dB range").step_by(1.0));
            ui.add(egui::Slider::new(&mut colors.top_offset_db, -60.0..=20.0).text("top dB").step_by(1.0));
            ui.checkbox(&mut self.settings.show_slice, "spectrum slice");
            ui.separator();
            if ui.button("Fit").on_hover_text("Show the whole clip (F, or double-click a view)").clicked()
                && let Some(a) = &self.analysis
            {
                self.window = Some(ViewWindow::fit(a));
            }
        });
    }

    fn clip_list_ui(&mut self, ui: &mut egui::Ui) {
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
            self.select(i);
        }
        ui.separator();
        if let Some(take) = self.recorder.ui(ui) {
            self.add_take(take);
        }
        ui.separator();
        if let Some(action) = self.browser.ui(ui) {
            self.browser_action(action);
        }
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if self.jobs.is_busy(0) {
                ui.spinner();
            }
            if let Some(status) = &self.status {
                let color = if status.is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
                ui.colored_label(color, &status.text);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.monospace(self.hover.describe());
            });
        });
    }
}

impl eframe::App for Workbench {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.handle_job_events(frame);
        self.handle_data_events(frame);
        self.handle_degrade_events(frame);
        self.handle_dialogs();
        self.handle_learn_events(ctx);
        self.recorder.logic(ctx);
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).filter(|p| !p.as_os_str().is_empty()).collect()
        });
        if let Some(path) = dropped.into_iter().next() {
            self.open(path);
        }
        if let Some(player) = &self.player {
            if let Err(e) = player.check() {
                self.player = None;
                self.error(format!("Playback stopped: {e}"));
            } else if player.is_finished() {
                self.player = None;
                self.cursor_secs = 0.0;
            } else {
                ctx.request_repaint();
            }
        }
        self.shortcuts(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_ui(ui));
        egui::Panel::left("clips").default_size(280.0).show(ui, |ui| self.clip_list_ui(ui));
        if self.mode == Mode::Clip {
            egui::Panel::right("degrade").default_size(300.0).show(ui, |ui| {
                // Its own id scope: predictions arriving change how many widgets it draws, which
                // must not shift the ids of the sliders below (a drag in progress would drop).
                ui.push_id("prediction", |ui| self.predict_panel_ui(ui));
                ui.separator();
                self.degrade_panel_ui(ui);
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.mode, Mode::Clip, "Clip views");
                ui.selectable_value(&mut self.mode, Mode::Grid, "Instrument grid");
                ui.selectable_value(&mut self.mode, Mode::Mixture, "Mixture");
                ui.selectable_value(&mut self.mode, Mode::Training, "Training");
                if ui.button("Open mixture…").on_hover_text("A .npz from `timbrescope mix` (Ctrl+M)").clicked() {
                    self.spawn_dialog(Dialog::Mixture, ui.ctx());
                }
            });
            match self.mode {
                Mode::Clip => self.clip_views_ui(ui),
                Mode::Grid => self.grid_view_ui(ui),
                Mode::Mixture => self.mixture_view_ui(ui),
                Mode::Training => self.training_ui(ui),
            }
        });
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.settings.train = self.train.settings.clone();
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

impl Workbench {
    fn grid_view_ui(&mut self, ui: &mut egui::Ui) {
        let action = match (&self.grid, self.browser.dataset()) {
            (Some(grid), Some(dataset)) if self.gpu => {
                let (action, rects) =
                    grid_ui(ui, grid, dataset, &self.settings.colors, self.data_jobs.is_busy(DataRequest::GRID_LANE));
                self.panel_rects = rects;
                action
            }
            _ => {
                let text = if self.data_jobs.is_busy(DataRequest::GRID_LANE) {
                    "Rendering the grid…"
                } else {
                    "Open a data set (Ctrl+D) and press \"Instrument grid\" (G) to see every instrument at one pitch."
                };
                ui.centered_and_justified(|ui| ui.label(text));
                None
            }
        };
        match action {
            Some(GridAction::Request(request)) => self.request_grid(request),
            Some(GridAction::Load(note)) => self.load_note(note),
            None => {}
        }
    }

    fn mixture_view_ui(&mut self, ui: &mut egui::Ui) {
        let action = match &self.mixture {
            Some(view) if self.gpu => {
                let (action, rects) = mixture_ui(ui, view, &self.settings.colors);
                self.panel_rects = rects;
                action
            }
            _ => {
                let text = if self.data_jobs.is_busy(DataRequest::MIXTURE_LANE) {
                    "Reading the mixture…"
                } else {
                    "Open a mixture .npz made by `timbrescope mix` (Ctrl+M)."
                };
                ui.centered_and_justified(|ui| ui.label(text));
                None
            }
        };
        if let Some(action) = action {
            self.mixture_action(action);
        }
    }

    fn clip_views_ui(&mut self, ui: &mut egui::Ui) {
        {
            let playhead = self.playhead_secs();
            let degraded = self.shown_degraded().cloned();
            let b_side = self.listening_to_degraded();
            match (&self.analysis, &mut self.window) {
                (Some(clean), Some(window)) if self.gpu => {
                    let sources = match &degraded {
                        Some(d) => ViewSources {
                            analysis: if b_side { &d.analysis } else { clean },
                            slots: if b_side {
                                [Slot::DegradedWaveform, Slot::DegradedStft, Slot::DegradedCqt]
                            } else {
                                [Slot::Waveform, Slot::Stft, Slot::Cqt]
                            },
                            delta: Some(DeltaRows {
                                stft: &d.delta_stft,
                                cqt: &d.delta_cqt,
                                range_db: self.settings.degrade.delta_range_db,
                            }),
                        },
                        None => {
                            ViewSources { analysis: clean, slots: [Slot::Waveform, Slot::Stft, Slot::Cqt], delta: None }
                        }
                    };
                    let analysis = sources.analysis;
                    if self.settings.show_slice {
                        // Last frame's pointer time, else the playhead.
                        let t = self.hover.time_secs.unwrap_or(playhead).clamp(0.0, analysis.clip.duration_secs());
                        let range = super::views::db_range(analysis, &self.settings.colors);
                        egui::Panel::bottom("slice")
                            .resizable(true)
                            .default_size(190.0)
                            .show(ui, |ui| super::slice::slice_ui(ui, analysis, t, range));
                    }
                    let response = views_ui(ui, &sources, window, &self.settings.colors, Some(playhead));
                    self.hover = response.hover;
                    self.view_rects = Some(response.rects);
                    self.delta_rects = response.delta_rects;
                    if let Some(t) = response.seek_secs {
                        let playing = self.player.is_some();
                        self.stop_playback();
                        self.cursor_secs = t;
                        if playing {
                            self.toggle_playback();
                        }
                    }
                }
                _ => {
                    ui.centered_and_justified(|ui| {
                        let text = if self.jobs.is_busy(0) {
                            "Analysing…"
                        } else {
                            "Open a clip (Ctrl+O), drop one here, or pick a demo clip."
                        };
                        ui.label(text);
                    });
                }
            }
        }
    }
}
