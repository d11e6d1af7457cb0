//! The data set's mode: the note browser, the instrument grid and the mixture view, all fed by
//! one background worker.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use eframe::egui_wgpu::RenderState;

use super::{Dialog, Effect, Effects, Mode};
use crate::audio::Clip;
use crate::data::dataset::audio_path;
use crate::jobs::Report;
use crate::jobs::data::predicted_mask_views;
use crate::jobs::data::{
    DataEvent, DataJob, DataJobs, DataRequest, GridRequest, MixtureView, PlayedNote, played_copy_of,
};
use crate::ui::browser::{Browser, BrowserAction};
use crate::ui::gpu_views::{self, Slot};
use crate::ui::grid::{GridAction, GridState, grid_ui};
use crate::ui::mixture_view::{MixtureAction, ModelMasks, mask_slot, mixture_ui};
use crate::ui::views::ColorSettings;

pub(super) struct DataMode {
    pub browser: Browser,
    jobs: DataJobs,
    pub grid: Option<GridState>,
    pub mixture: Option<Arc<MixtureView>>,
    /// The model's own masks of the open mixture.
    pub predicted: ModelMasks,
    /// Show the grid at this pitch as soon as a data set has opened.
    grid_on_open: Option<u8>,
    /// Where the grid cells or mixture rows were last drawn, in points.
    pub panel_rects: Vec<egui::Rect>,
    /// The data set folder open last, reopened at launch.
    pub last_dataset: Option<PathBuf>,
    /// The loaded note's played version, arrived and not yet shown.
    played: Option<Arc<PlayedNote>>,
    /// Open this note as soon as a data set has opened.
    pub note_on_open: Option<String>,
}

impl DataMode {
    pub fn new(ctx: &egui::Context, last_dataset: Option<PathBuf>) -> Self {
        let ctx = ctx.clone();
        Self {
            browser: Browser::default(),
            jobs: DataJobs::start("data", DataJob::default, Arc::new(move || ctx.request_repaint())),
            grid: None,
            mixture: None,
            predicted: ModelMasks::default(),
            grid_on_open: None,
            panel_rects: Vec::new(),
            last_dataset,
            played: None,
            note_on_open: None,
        }
    }

    /// The model's masks of the mixture at `of`, uploaded beside the ideal ones when it is still
    /// the open one (None: the model has no mask head).
    pub fn show_predicted_masks(
        &mut self,
        rs: &eframe::egui_wgpu::RenderState,
        of: &std::path::Path,
        masks: Option<&crate::learn::explanation::activity::PredictedMasks>,
        millis: f64,
    ) {
        let Some(view) = self.mixture.as_ref().filter(|v| v.path.as_path() == of) else { return };
        let Some(masks) = masks else {
            self.predicted = ModelMasks::NoMaskHead;
            return;
        };
        let k = view.masks.len();
        for (s, [predicted, difference]) in predicted_mask_views(view, masks).iter().enumerate() {
            gpu_views::upload_spectrogram(rs, mask_slot(1, s, k), predicted);
            gpu_views::upload_spectrogram(rs, mask_slot(2, s, k), difference);
        }
        self.predicted = ModelMasks::Ready { millis };
    }

    /// The played version of the note just loaded, once analysed.
    pub fn take_played(&mut self) -> Option<Arc<PlayedNote>> {
        self.played.take()
    }

    /// True while a grid or mixture request is running.
    pub fn is_busy(&self) -> bool {
        self.jobs.is_busy(DataRequest::GRID_LANE) || self.jobs.is_busy(DataRequest::MIXTURE_LANE)
    }

    pub fn open_dataset(&mut self, root: PathBuf, fx: &mut Effects) {
        fx.info(format!("Opening data set {}…", root.display()));
        self.jobs.submit(DataRequest::OpenDataset(root));
    }

    pub fn open_mixture(&mut self, path: PathBuf, fx: &mut Effects) {
        fx.info(format!("Opening mixture {}…", path.display()));
        self.jobs.submit(DataRequest::Mixture(path));
    }

    pub fn show_grid_when_open(&mut self, pitch: u8) {
        self.grid_on_open = Some(pitch);
    }

    pub fn load_note(&mut self, index: usize, fx: &mut Effects) {
        if let Some(action) = self.browser.load_action(index) {
            self.browser_action(action, fx);
        }
    }

    pub fn request_grid(&mut self, request: GridRequest, fx: &mut Effects) {
        if let Some(dataset) = self.browser.dataset().cloned() {
            self.jobs.submit(DataRequest::Grid { dataset, request });
            fx.push(Effect::SetMode(Mode::Grid));
        }
    }

    fn browser_action(&mut self, action: BrowserAction, fx: &mut Effects) {
        match action {
            BrowserAction::PickFolder => fx.push(Effect::Dialog(Dialog::Dataset)),
            BrowserAction::Load { path, name } => {
                // With a played copy beside the data set (`scripts/played.sh`), the note's played
                // version comes to the B side.
                let copy = self.browser.dataset().map(|d| played_copy_of(d.root()));
                if let Some(copy) = copy.filter(|c| audio_path(c, &name).is_file()) {
                    self.jobs.submit(DataRequest::Played { copy, note: name.clone() });
                }
                fx.push(Effect::LoadNote { path, name });
            }
            BrowserAction::Grid { pitch, velocity, bank } => {
                let view = self.grid.as_ref().map_or(crate::dsp::View::Cqt, |g| g.request.view);
                self.request_grid(GridRequest { view, pitch, velocity, bank }, fx);
            }
        }
    }

    pub fn logic(&mut self, render_state: Option<&RenderState>, fx: &mut Effects) {
        for report in self.jobs.poll() {
            let event = match report {
                Report::Event { event, .. } => event,
                Report::Failed { message, .. } => {
                    fx.error(message);
                    continue;
                }
                Report::Stopped { message } => {
                    fx.error(format!("Data set work: {message}"));
                    continue;
                }
                Report::Done { .. } => continue,
            };
            match event {
                DataEvent::DatasetOpened(dataset) => {
                    fx.info(format!("Data set {}: {} notes", dataset.root().display(), dataset.notes.len()));
                    self.last_dataset = Some(dataset.root().to_owned());
                    self.browser.set_dataset(dataset.clone());
                    if let Some(name) = self.note_on_open.take() {
                        match dataset.notes.iter().position(|n| n.record.note_str == name) {
                            Some(index) => self.load_note(index, fx),
                            None => fx.error(format!("{name} is not a note of {}", dataset.root().display())),
                        }
                    }
                    if let Some(pitch) = self.grid_on_open.take()
                        && let Some(BrowserAction::Grid { velocity, bank, .. }) = self.browser.grid_request()
                    {
                        self.request_grid(GridRequest { view: crate::dsp::View::Cqt, pitch, velocity, bank }, fx);
                    }
                }
                DataEvent::Grid { request, cells } => {
                    if let Some(rs) = render_state {
                        for (i, cell) in cells.iter().enumerate() {
                            if let Some(spec) = &cell.spectrogram {
                                gpu_views::upload_spectrogram(rs, Slot::Grid(i as u8), spec);
                            }
                        }
                    }
                    let found = cells.iter().filter(|c| c.spectrogram.is_some()).count();
                    let pitch = crate::dsp::notes::midi_name(i32::from(request.pitch));
                    fx.info(format!("{found} of {} instruments have a note at {pitch}", cells.len()));
                    self.grid = Some(GridState::new(request, cells));
                }
                DataEvent::Mixture(view) => {
                    if let Some(rs) = render_state {
                        gpu_views::upload_spectrogram(rs, Slot::Mixture(0), &view.mixture_db);
                        for (k, mask) in view.masks.iter().enumerate() {
                            gpu_views::upload_spectrogram(rs, Slot::Mixture(k as u8 + 1), mask);
                        }
                    }
                    fx.info(format!("{}: {} sources", view.path.display(), view.masks.len()));
                    self.mixture = Some(view);
                    self.predicted = ModelMasks::default();
                    fx.push(Effect::SetMode(Mode::Mixture));
                    fx.push(Effect::MaskMixture);
                }
                DataEvent::Played(played) => self.played = Some(played),
            }
        }
    }

    /// The note browser, for the left panel.
    pub fn browser_ui(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        if let Some(action) = self.browser.ui(ui) {
            self.browser_action(action, fx);
        }
    }

    pub fn grid_ui(&mut self, ui: &mut egui::Ui, gpu: bool, colors: &ColorSettings, fx: &mut Effects) {
        let busy = self.jobs.is_busy(DataRequest::GRID_LANE);
        let action = match (&self.grid, self.browser.dataset()) {
            (Some(grid), Some(dataset)) if gpu => {
                let (action, rects) = grid_ui(ui, grid, dataset, colors, busy);
                self.panel_rects = rects;
                action
            }
            _ => {
                let text = if busy {
                    "Rendering the grid…"
                } else {
                    "Open a data set (Ctrl+D) and press \"Instrument grid\" (G) to see every instrument at one pitch."
                };
                ui.centered_and_justified(|ui| ui.label(text));
                None
            }
        };
        match action {
            Some(GridAction::Request(request)) => self.request_grid(request, fx),
            Some(GridAction::Load(note)) => self.load_note(note, fx),
            None => {}
        }
    }

    pub fn mixture_ui(&mut self, ui: &mut egui::Ui, gpu: bool, colors: &ColorSettings, fx: &mut Effects) {
        let action = match &self.mixture {
            Some(view) if gpu => {
                let (action, rects) = mixture_ui(ui, view, colors, &self.predicted);
                self.panel_rects = rects;
                action
            }
            _ => {
                let text = if self.jobs.is_busy(DataRequest::MIXTURE_LANE) {
                    "Reading the mixture…"
                } else {
                    "Open a mixture .npz made by `timbrescope mix` (Ctrl+M)."
                };
                ui.centered_and_justified(|ui| ui.label(text));
                None
            }
        };
        match action {
            Some(MixtureAction::Play { samples, sample_rate_hz, what }) => {
                fx.push(Effect::Play { samples, sample_rate_hz, what });
            }
            Some(MixtureAction::OpenInViews) => {
                if let Some(view) = &self.mixture {
                    let name = view.path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    fx.push(Effect::SetMode(Mode::Clip));
                    fx.push(Effect::AddClip(Clip::new(name, view.file.mixture.clone(), view.file.sample_rate_hz)));
                }
            }
            None => {}
        }
    }
}
