//! The workbench window, composed of one state per mode in the style of egui's demo app: clip
//! views, data set, degradation and learning each poll their own worker in `logic()` and draw
//! themselves in `ui()`. They talk to each other only through effects, which this file routes.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::gpu_views::{self, Slot};
use super::views::ColorSettings;
use crate::data::demo::{demo_clips, try_load_demo};
use crate::dsp::View;
use crate::jobs::predict::Version;
use crate::learn::assessment::eval::shipped_model_path;
use crate::render::Colormap;

mod access;
mod clip;
mod compare;
mod data;
mod degrade;
mod dialogs;
mod effect;
mod embed;
mod embed_colors;
mod learn;
mod live;
mod settings;

use clip::{ClipViews, Look};
use compare::Compare;
use data::DataMode;
use degrade::DegradeMode;
use dialogs::{Answer, Dialog};
use effect::{Effect, Effects};
use embed::EmbedMode;
use learn::LearnMode;
use live::LiveMode;
use settings::Settings;

const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
const OPEN_DATASET: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::D);
const OPEN_MIXTURE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::M);

struct Status {
    text: String,
    is_error: bool,
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
    /// Every note of a split as a point of its embedding, mapped to 2-D.
    Embedding,
    /// The input as it arrives: scrolling views and the model's running answer.
    Live,
}

pub struct Workbench {
    colors: ColorSettings,
    show_slice: bool,
    last_dir: Option<PathBuf>,
    status: Option<Status>,
    gpu: bool,
    mode: Mode,
    /// Answers from file dialogs: which dialog, and the path chosen.
    dialogs: (Sender<Answer>, Receiver<Answer>),
    /// A file dialog asked for where no context was at hand; opened on the next frame.
    dialog_request: Option<Dialog>,
    effects: Effects,
    clip: ClipViews,
    data: DataMode,
    degrade: DegradeMode,
    learn: LearnMode,
    embed: EmbedMode,
    live: LiveMode,
    /// Close after a while and write Live mode's timings (`live --quit-after`, `--stats`).
    live_exit: Option<LiveExit>,
}

struct LiveExit {
    at: std::time::Instant,
    stats: Option<PathBuf>,
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
        let ctx = &cc.egui_ctx;
        let Settings { colors, last_dir, show_slice, last_dataset, degrade, train, model } = settings;
        let mut app = Self {
            colors,
            show_slice,
            last_dir,
            status: None,
            gpu,
            mode: Mode::Clip,
            dialogs: channel(),
            dialog_request: None,
            effects: Effects::default(),
            clip: ClipViews::new(ctx),
            data: DataMode::new(ctx, None),
            degrade: DegradeMode::new(ctx, degrade),
            learn: LearnMode::new(ctx, train, model),
            embed: EmbedMode::new(ctx),
            live: LiveMode::new(),
            live_exit: None,
        };
        if let Some(dir) = last_dataset.filter(|d| d.join("examples.json").exists()) {
            app.open_dataset(dir);
        }
        if !gpu {
            app.effects.error("No GPU renderer: the views cannot be drawn (start with a Vulkan, Metal or DX12 capable driver; on Linux without a GPU install mesa-vulkan-drivers)");
        }
        for demo in demo_clips() {
            match try_load_demo(demo) {
                Ok(clip) => app.clip.clips.push(clip),
                Err(e) => app.effects.error(e.to_string()),
            }
        }
        match initial {
            Some(path) => app.open(path),
            None if !app.clip.clips.is_empty() => app.select(0),
            None => {}
        }
        app.route(None);
        app
    }

    /// Handles the queued effects in order; those they raise join the queue. Without a context
    /// at hand a file dialog waits for the next frame.
    fn route(&mut self, ctx: Option<&egui::Context>) {
        while let Some(effect) = self.effects.0.pop_front() {
            let fx = &mut self.effects;
            match effect {
                Effect::Info(text) => self.status = Some(Status { text, is_error: false }),
                Effect::Error(text) => {
                    log::error!("{text}");
                    self.status = Some(Status { text, is_error: true });
                }
                Effect::Dialog(kind) => match ctx {
                    Some(ctx) => self.spawn_dialog(kind, ctx),
                    None => self.dialog_request = Some(kind),
                },
                Effect::SetMode(mode) => self.mode = mode,
                Effect::Open(path) => {
                    self.last_dir = path.parent().map(|p| p.to_path_buf());
                    self.clip.open(path, fx);
                }
                Effect::OpenAndPlay(path) => {
                    self.clip.open(path, fx);
                    self.clip.play_when_shown = true;
                }
                Effect::LoadNote { path, name } => {
                    self.mode = Mode::Clip;
                    self.clip.load_note(path, &name, fx);
                }
                Effect::AddClip(clip) => self.clip.add_take(clip, fx),
                Effect::Play { samples, sample_rate_hz, what } => {
                    self.clip.play_samples(samples, sample_rate_hz, &what, fx);
                }
                Effect::Analysed => {
                    self.degrade.clip_changed(self.clip.analysis.as_ref());
                    self.learn.clip_changed();
                    fx.push(Effect::Predict);
                    if std::mem::take(&mut self.clip.play_when_shown) {
                        self.clip.toggle_playback(None, fx);
                    }
                }
                Effect::Predict => {
                    let clean = self.clip.analysis.as_deref();
                    self.learn.request_predictions(clean, self.degrade.shown().map(|d| &**d));
                }
                Effect::Nearest { model, dataset, note, class } => match crate::data::dataset::check_note_str(&note) {
                    Ok(()) => {
                        self.mode = Mode::Clip;
                        self.clip.open(crate::data::dataset::audio_path(&dataset, &note), fx);
                        self.embed.find_nearest(model, dataset, note, class, fx);
                    }
                    Err(problem) => fx.error(format!("{note}: {problem}")),
                },
                Effect::MaskMixture => {
                    if let Some(view) = &self.data.mixture {
                        self.data.predicted = self.learn.request_masks(view);
                    }
                }
                Effect::Explain => {
                    let clean = self.clip.analysis.as_deref();
                    self.learn.request_saliency(clean, self.degrade.shown().map(|d| &**d));
                }
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        // Keys belong to a text field while one has focus.
        if ctx.memory(|m| m.focused().is_some()) && ctx.egui_wants_keyboard_input() {
            return;
        }
        let keys = ctx.input_mut(|i| {
            [
                (i.consume_shortcut(&OPEN), Dialog::Open),
                (i.consume_shortcut(&SAVE) && self.clip.analysis.is_some(), Dialog::Save),
                (i.consume_shortcut(&OPEN_DATASET), Dialog::Dataset),
                (i.consume_shortcut(&OPEN_MIXTURE), Dialog::Mixture),
            ]
        });
        for (_, kind) in keys.into_iter().filter(|(pressed, _)| *pressed) {
            self.spawn_dialog(kind, ctx);
        }
        if let Some(kind) = self.dialog_request.take() {
            self.spawn_dialog(kind, ctx);
        }
        let (flip, draw_again) =
            ctx.input_mut(|i| (i.consume_key(Modifiers::NONE, Key::B), i.consume_key(Modifiers::NONE, Key::N)));
        if flip && self.degrade.panel.enabled {
            self.toggle_listen();
        } else if flip && self.clip.compare.is_some() {
            self.clip.toggle_compare(&mut self.effects);
        }
        if draw_again && self.degrade.panel.enabled {
            self.degrade.panel.draw_again();
            self.degrade.request(self.clip.analysis.as_ref());
        }
        if self.mode == Mode::Live {
            self.live.shortcuts(ctx, &mut self.effects);
        } else {
            self.clip.shortcuts(ctx, self.degrade.b_side(), &mut self.effects);
        }
    }

    /// Opens Live mode listening to `input`, with the chosen model (or none).
    pub fn start_live(
        &mut self,
        input: crate::live::LiveInput,
        model: Option<Option<PathBuf>>,
        config: crate::live::LiveConfig,
    ) {
        self.live.config = config;
        match model {
            Some(path) => {
                self.live.predict = true;
                self.live.set_model(path);
            }
            None => self.live.predict = false,
        }
        self.live.start(input, &mut self.effects);
        self.mode = Mode::Live;
        self.route(None);
    }

    /// Closes the window `secs` after now, writing Live mode's timings to `stats` first.
    pub fn close_live_after(&mut self, secs: f64, stats: Option<PathBuf>) {
        self.live_exit =
            Some(LiveExit { at: std::time::Instant::now() + std::time::Duration::from_secs_f64(secs), stats });
    }

    fn write_live_stats(&mut self, path: &std::path::Path) {
        let stats = self.live.window_stats();
        let text = serde_json::to_string_pretty(&stats).unwrap_or_default() + "\n";
        if let Err(e) = crate::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes())) {
            log::error!("could not write {}: {e}", path.display());
        }
    }

    /// Flips A/B, playing on from the same place in the other version.
    pub fn toggle_listen(&mut self) {
        let playing = self.clip.is_playing();
        if playing {
            self.clip.pause(&mut self.effects);
        }
        self.degrade.panel.toggle_listen();
        if playing {
            self.clip.toggle_playback(self.degrade.b_side(), &mut self.effects);
        }
        self.route(None);
    }

    /// Tints the STFT and CQT of the version each new saliency belongs to, with the overlays the
    /// prediction worker spread onto their grids (unless the views have since changed shape).
    fn draw_saliency(&mut self, rs: &eframe::egui_wgpu::RenderState) {
        for (version, overlays) in self.learn.take_explained() {
            let (analysis, slots) = match version {
                Version::Clean => (self.clip.analysis.as_deref(), [Slot::Stft, Slot::Cqt]),
                Version::Degraded => {
                    (self.degrade.shown().map(|d| &d.analysis), [Slot::DegradedStft, Slot::DegradedCqt])
                }
            };
            let Some(a) = analysis else { continue };
            for ((view, slot), overlay) in
                [(View::Stft, slots[0]), (View::Cqt, slots[1])].into_iter().zip(overlays.iter())
            {
                let like = a.view(view);
                if (overlay.bins, overlay.frames) == (like.bins, like.frames) {
                    gpu_views::set_overlay(rs, slot, Some(overlay));
                }
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
                self.effects.push(Effect::Dialog(Dialog::Open));
            }
            let has_clip = self.clip.analysis.is_some();
            if ui.add_enabled(has_clip, egui::Button::new("Save WAV…")).on_hover_text("Ctrl+S").clicked() {
                self.effects.push(Effect::Dialog(Dialog::Save));
            }
            ui.separator();
            self.clip.transport_ui(ui, self.degrade.b_side(), &mut self.effects);
            ui.separator();
            let colors = &mut self.colors;
            egui::ComboBox::from_label("colormap").selected_text(colors.colormap.name()).show_ui(ui, |ui| {
                for map in Colormap::ALL {
                    ui.selectable_value(&mut colors.colormap, map, map.name());
                }
            });
            ui.add(egui::Slider::new(&mut colors.range_db, 20.0..=140.0).text("dB range").step_by(1.0));
            ui.add(egui::Slider::new(&mut colors.top_offset_db, -60.0..=20.0).text("top dB").step_by(1.0));
            ui.checkbox(&mut self.show_slice, "spectrum slice");
            ui.separator();
            self.clip.fit_button_ui(ui);
        });
    }

    fn status_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if self.clip.is_busy() {
                ui.spinner();
            }
            if let Some(status) = &self.status {
                let color = if status.is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
                ui.colored_label(color, &status.text);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.monospace(self.clip.hover.describe());
            });
        });
    }

    fn central_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.mode, Mode::Clip, "Clip views");
            ui.selectable_value(&mut self.mode, Mode::Grid, "Instrument grid");
            ui.selectable_value(&mut self.mode, Mode::Mixture, "Mixture");
            ui.selectable_value(&mut self.mode, Mode::Training, "Training");
            ui.selectable_value(&mut self.mode, Mode::Embedding, "Embedding map");
            ui.selectable_value(&mut self.mode, Mode::Live, "Live");
            if ui.button("Open mixture…").on_hover_text("A .npz from `timbrescope mix` (Ctrl+M)").clicked() {
                self.effects.push(Effect::Dialog(Dialog::Mixture));
            }
        });
        let fx = &mut self.effects;
        match self.mode {
            Mode::Clip => {
                let look = Look {
                    colors: &self.colors,
                    show_slice: self.show_slice,
                    overlay_opacity: self.learn.overlay_opacity(),
                    activity: self
                        .learn
                        .prediction
                        .model
                        .is_some()
                        .then_some(self.learn.prediction.activity.as_deref()),
                };
                self.clip.ui(ui, self.gpu, self.degrade.b_side(), look, fx);
            }
            Mode::Grid => self.data.grid_ui(ui, self.gpu, &self.colors, fx),
            Mode::Mixture => self.data.mixture_ui(ui, self.gpu, &self.colors, fx),
            Mode::Training => self.learn.training_ui(ui, fx),
            Mode::Embedding => {
                let model = Some(self.learn.model_path.clone().unwrap_or_else(|| shipped_model_path().into()));
                let dataset = self.data.browser.dataset().map(|d| d.root().to_owned());
                let panel = &self.degrade.panel;
                let chain = panel.enabled.then(|| (panel.to_spec(), panel.seed));
                self.embed.ui(ui, model, dataset, chain, fx);
            }
            Mode::Live => self.live.ui(ui, self.gpu, &self.colors),
        }
    }
}

impl eframe::App for Workbench {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        let render_state = frame.wgpu_render_state();
        let fx = &mut self.effects;
        self.clip.logic(ctx, render_state, fx);
        self.data.logic(render_state, fx);
        self.degrade.logic(render_state, fx);
        self.learn.logic(ctx, fx);
        self.embed.logic(fx);
        self.live.logic(ctx, render_state, fx);
        let panel = &self.degrade.panel;
        self.live.want_chain(panel.enabled.then(|| (panel.to_spec(), panel.seed)));
        if let Some(exit) = self.live_exit.as_ref().filter(|e| std::time::Instant::now() >= e.at) {
            if let Some(path) = exit.stats.clone() {
                self.write_live_stats(&path);
            }
            self.live_exit = None;
            self.live.stop();
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        if let Some(rs) = render_state {
            self.draw_saliency(rs);
            if let Some((of, masks, millis)) = self.learn.take_masks() {
                self.data.show_predicted_masks(rs, &of, masks.as_deref(), millis);
            }
        }
        let nearest = self.embed.take_nearest().map(|found| {
            let info = format!(
                "B: {}, the training note of {} nearest {} (distance {:.2}); B switches",
                found.nearest, found.class_name, found.note, found.distance
            );
            (Compare::from(&*found), info)
        });
        let played = self.data.take_played().map(|p| {
            let info = format!("B: {} as played in {}; B switches", p.note, p.copy.display());
            (Compare::from(&*p), info)
        });
        for (compare, info) in nearest.into_iter().chain(played) {
            if let Some(rs) = render_state {
                let a = &compare.analysis;
                gpu_views::upload_waveform(rs, Slot::CompareWaveform, &a.clip.samples, &a.waveform);
                gpu_views::upload_spectrogram(rs, Slot::CompareStft, &a.stft);
                gpu_views::upload_spectrogram(rs, Slot::CompareCqt, &a.cqt);
            }
            self.effects.info(info);
            self.clip.set_compare(compare);
        }
        self.handle_dialogs();
        let dropped: Option<PathBuf> = ctx
            .input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).find(|p| !p.as_os_str().is_empty()));
        if let Some(path) = dropped {
            self.effects.push(Effect::Open(path));
        }
        self.shortcuts(ctx);
        self.route(Some(ctx));
    }

    /// The panels' colour: they are drawn unfilled over it (below), so each pixel is filled
    /// once, not twice; on a CPU rasteriser (lavapipe) fills are most of a frame's cost.
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let style = ui.style().clone();
        let side = || egui::Frame::side_top_panel(&style).fill(egui::Color32::TRANSPARENT);
        egui::Panel::top("toolbar").frame(side()).show(ui, |ui| self.toolbar_ui(ui));
        egui::Panel::bottom("status").frame(side()).show(ui, |ui| self.status_ui(ui));
        egui::Panel::left("clips").frame(side()).default_size(280.0).show(ui, |ui| {
            self.clip.list_ui(ui, &mut self.effects);
            ui.separator();
            self.data.browser_ui(ui, &mut self.effects);
        });
        if self.mode == Mode::Clip {
            egui::Panel::right("degrade").frame(side()).default_size(300.0).show(ui, |ui| {
                // Its own id scope: predictions arriving change how many widgets it draws, which
                // must not shift the ids of the sliders below (a drag in progress would drop).
                let chain_on = self.degrade.panel.enabled;
                ui.push_id("prediction", |ui| self.learn.predict_ui(ui, chain_on, &mut self.effects));
                ui.separator();
                self.degrade.ui(ui, self.clip.analysis.as_ref(), &mut self.effects);
            });
        }
        if self.mode == Mode::Live {
            egui::Panel::right("live").frame(side()).default_size(300.0).show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    ui.push_id("live", |ui| self.live.panel_ui(ui, &mut self.effects));
                    ui.separator();
                    self.degrade.ui(ui, self.clip.analysis.as_ref(), &mut self.effects);
                });
            });
        }
        let central = egui::Frame::central_panel(&style).fill(egui::Color32::TRANSPARENT);
        egui::CentralPanel::default().frame(central).show(ui, |ui| self.central_ui(ui));
        self.route(Some(ui.ctx()));
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let settings = Settings {
            colors: self.colors,
            last_dir: self.last_dir.clone(),
            show_slice: self.show_slice,
            last_dataset: self.data.last_dataset.clone(),
            degrade: self.degrade.panel.clone(),
            train: self.learn.train.settings.clone(),
            model: self.learn.model_path.clone(),
        };
        eframe::set_value(storage, eframe::APP_KEY, &settings);
    }
}
