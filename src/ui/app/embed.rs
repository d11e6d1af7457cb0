//! The embedding map's mode: where the embeddings come from (a file, or the open data set through
//! the prediction panel's model, clean or through the chain), how they are mapped and coloured,
//! and what a hover, a click or a box does.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::embed_colors::{ColorBy, MapColors, row_of};
use super::{Dialog, Effect, Effects};
use crate::data::dataset::{Split, audio_path, check_note_str};
use crate::degrade::ChainSpec;
use crate::jobs::Report;
use crate::jobs::embed::{EmbedEvent, EmbedJob, EmbedRequest, EmbeddingMap, NearestNote, Space};
use crate::jobs::worker::Worker;
use crate::learn::assessment::eval::EvalOptions;
use crate::learn::explanation::embed::Embeddings;
use crate::learn::explanation::projection::Method;
use crate::ui::embedding_map::{MapWindow, map_ui};

pub(super) struct EmbedMode {
    worker: Worker<EmbedJob>,
    pub clean: Option<Arc<Embeddings>>,
    pub degraded: Option<Arc<Embeddings>>,
    pub map: Option<Arc<EmbeddingMap>>,
    pub space: Space,
    pub method: Method,
    pub color_by: ColorBy,
    window: Option<MapWindow>,
    /// Notes of the last box, by row.
    pub selection: Vec<usize>,
    progress: Option<(&'static str, usize, usize)>,
    /// Where the map was last drawn, in points.
    pub map_rect: Option<egui::Rect>,
    /// A nearest-note search's answer, not yet taken into the views.
    arrived_nearest: Option<Arc<NearestNote>>,
    /// The map's colours and legend, for the map and colouring they were made for.
    colors: Option<MapColors>,
}

impl EmbedMode {
    pub fn new(ctx: &egui::Context) -> Self {
        let ctx = ctx.clone();
        Self {
            worker: Worker::start("embedding", EmbedJob::default, Arc::new(move || ctx.request_repaint())),
            clean: None,
            degraded: None,
            map: None,
            space: Space::Fused,
            method: Method::Pca,
            color_by: ColorBy::Instrument,
            window: None,
            selection: Vec::new(),
            progress: None,
            map_rect: None,
            arrived_nearest: None,
            colors: None,
        }
    }

    pub fn is_busy(&self) -> bool {
        self.worker.is_any_busy()
    }

    /// Where point `i` of the map was last drawn, in points.
    pub fn point_pos(&self, i: usize) -> Option<egui::Pos2> {
        let (map, window, rect) = (self.map.as_ref()?, self.window.as_ref()?, self.map_rect?);
        Some(window.to_screen(rect, *map.points.get(i)?))
    }

    pub fn open(&mut self, path: PathBuf, degraded: bool, fx: &mut Effects) {
        fx.info(format!("Reading embeddings {}…", path.display()));
        self.worker.submit(EmbedRequest::Open { path, degraded });
    }

    /// Embeds the test split of `dataset` with `model`, clean or through `chain`.
    pub fn compute(&mut self, model: PathBuf, dataset: PathBuf, chain: Option<(ChainSpec, u64)>, fx: &mut Effects) {
        fx.info(format!("Embedding {} with {}…", dataset.display(), model.display()));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let options = EvalOptions { threads, ..EvalOptions::new(model, dataset, Split::Test) };
        self.worker.submit(EmbedRequest::Compute { options, chain });
    }

    /// Finds the training note of `class` nearest `note` in `model`'s embedding, in the background.
    pub fn find_nearest(
        &mut self,
        model: PathBuf,
        dataset: PathBuf,
        note: String,
        class: Option<usize>,
        fx: &mut Effects,
    ) {
        fx.info(format!("Looking for the training note nearest {note}…"));
        self.worker.submit(EmbedRequest::Nearest { model, dataset, note, class });
    }

    /// The nearest-note answer that arrived since the last call.
    pub fn take_nearest(&mut self) -> Option<Arc<NearestNote>> {
        self.arrived_nearest.take()
    }

    /// Maps the embeddings as the controls say.
    pub fn project(&mut self) {
        if let Some(clean) = &self.clean {
            let degraded = self.degraded.clone();
            let (space, method) = (self.space, self.method);
            self.worker.submit(EmbedRequest::Project { clean: clean.clone(), degraded, space, method });
        }
    }

    pub fn logic(&mut self, fx: &mut Effects) {
        for report in self.worker.poll() {
            match report {
                Report::Event { event: EmbedEvent::Progress { what, done, total }, .. } => {
                    self.progress = Some((what, done, total));
                }
                Report::Event { event: EmbedEvent::Loaded { embeddings, degraded, source }, .. } => {
                    let alignment = embeddings.cross_view_alignment();
                    fx.info(format!(
                        "{} {} notes from {source}; cross-view alignment {alignment:.3}",
                        embeddings.len(),
                        if degraded { "degraded" } else { "clean" },
                    ));
                    if degraded {
                        self.degraded = Some(embeddings);
                        self.space = Space::CleanDegraded;
                    } else {
                        self.clean = Some(embeddings);
                        self.selection.clear();
                        if self.space == Space::CleanDegraded {
                            self.space = Space::Fused;
                        }
                    }
                    self.progress = None;
                    self.project();
                }
                Report::Event { event: EmbedEvent::Nearest(found), .. } => {
                    self.progress = None;
                    self.arrived_nearest = Some(found);
                }
                Report::Event { event: EmbedEvent::Projected(map), .. } => {
                    if self.map.as_ref().is_none_or(|m| m.points.len() != map.points.len() || m.method != map.method) {
                        self.window = None;
                    }
                    self.map = Some(map);
                    self.progress = None;
                }
                Report::Failed { message, .. } => {
                    self.progress = None;
                    fx.error(format!("Embedding map: {message}"));
                }
                Report::Stopped { message } => fx.error(format!("Embedding map: {message}")),
                Report::Done { .. } => {}
            }
        }
    }

    /// The note behind point `i` of the map, as (row, is the pair's second point).
    pub(super) fn row_of(&self, i: usize) -> (usize, bool) {
        row_of(self.clean.as_ref().map_or(0, |e| e.len()), self.map.as_ref().map(|m| m.space), i)
    }

    /// Describes note `row` for a tooltip or a list.
    fn describe(&self, e: &Embeddings, row: usize) -> String {
        let class = |i: i32| e.meta.classes.get(i as usize).cloned().unwrap_or_default();
        let mut text = format!("{}\n{}, called {}", e.meta.notes[row], class(e.label[row]), class(e.predicted[row]));
        if !e.meta.libraries[row].is_empty() {
            text.push_str(&format!("\nlibrary {}", e.meta.libraries[row]));
        }
        text
    }

    /// Loads the note of `row` in the views and plays it.
    fn open_note(&self, e: &Embeddings, row: usize, fx: &mut Effects) {
        let note = &e.meta.notes[row];
        match check_note_str(note) {
            Ok(()) => {
                fx.push(Effect::SetMode(super::Mode::Clip));
                fx.push(Effect::OpenAndPlay(audio_path(std::path::Path::new(&e.meta.dataset), note)));
            }
            Err(problem) => fx.error(format!("{note}: {problem}")),
        }
    }

    /// The tab: where the embeddings come from, how they are shown, and the map.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        model: Option<PathBuf>,
        dataset: Option<PathBuf>,
        chain: Option<(ChainSpec, u64)>,
        fx: &mut Effects,
    ) {
        ui.horizontal_wrapped(|ui| {
            if ui.button("Open embeddings…").on_hover_text("A .npz from `timbrescope embed`").clicked() {
                fx.push(Effect::Dialog(Dialog::Embeddings));
            }
            let can_embed = model.is_some() && dataset.is_some() && !self.is_busy();
            let hint = "The open data set's test split, with the prediction panel's model";
            if ui.add_enabled(can_embed, egui::Button::new("Embed the data set")).on_hover_text(hint).clicked()
                && let (Some(m), Some(d)) = (model.clone(), dataset.clone())
            {
                self.compute(m, d, None, fx);
            }
            let through = "The same notes through the degradation panel's chain, paired with the clean ones";
            let can_degrade = can_embed && chain.is_some() && self.clean.is_some();
            if ui.add_enabled(can_degrade, egui::Button::new("…and degraded")).on_hover_text(through).clicked()
                && let (Some(m), Some(d)) = (model, dataset)
            {
                self.compute(m, d, chain, fx);
            }
            if ui.button("Open degraded…").on_hover_text("The same notes embedded with `embed --chain`").clicked() {
                fx.push(Effect::Dialog(Dialog::DegradedEmbeddings));
            }
            if self.is_busy() {
                ui.spinner();
            }
            if let Some((what, done, total)) = self.progress {
                ui.add(
                    egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                        .desired_width(160.0)
                        .text(format!("{what} {done}/{total}")),
                );
            }
        });
        ui.horizontal_wrapped(|ui| {
            let before = (self.space, self.method);
            ui.label("show");
            ui.selectable_value(&mut self.space, Space::Fused, "fused embedding");
            ui.selectable_value(&mut self.space, Space::Views, "STFT and CQT");
            if self.degraded.is_some() {
                ui.selectable_value(&mut self.space, Space::CleanDegraded, "clean and degraded");
            }
            ui.separator();
            ui.label("map");
            ui.selectable_value(&mut self.method, Method::Pca, Method::Pca.name());
            ui.selectable_value(&mut self.method, Method::Tsne, Method::Tsne.name());
            if (self.space, self.method) != before {
                self.project();
            }
            ui.separator();
            egui::ComboBox::from_label("colour by").selected_text(self.color_by.name()).show_ui(ui, |ui| {
                for c in ColorBy::ALL {
                    ui.selectable_value(&mut self.color_by, c, c.name());
                }
            });
            if let (Some(e), Some(map)) = (&self.clean, &self.map) {
                ui.separator();
                let right = e.label.iter().zip(&e.predicted).filter(|(a, b)| a == b).count();
                ui.label(format!("{} notes, {right} right, {} in {:.0} ms", e.len(), map.method.name(), map.millis));
                if map.space == Space::Views {
                    ui.label(format!("mean cosine z_STFT·z_CQT {:.3}", e.cross_view_alignment()));
                }
            }
        });
        let (Some(e), Some(map)) = (self.clean.clone(), self.map.clone()) else {
            ui.centered_and_justified(|ui| {
                ui.label(if self.is_busy() {
                    "Working…"
                } else {
                    "Open a .npz from `timbrescope embed`, or embed the open data set with the prediction panel's model."
                })
            });
            return;
        };
        let colors = MapColors::of(self.colors.take(), self.color_by, &map, &e, self.degraded.as_ref());
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing.x = 10.0;
            for (name, color) in colors.legend.iter().cloned() {
                let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, color);
                ui.add_space(-6.0);
                ui.label(name);
            }
        });
        let n = e.len();
        let pairs: Vec<(usize, usize)> = match map.space {
            Space::Views | Space::CleanDegraded if map.points.len() == 2 * n => (0..n).map(|i| (i, i + n)).collect(),
            _ => Vec::new(),
        };
        if !self.selection.is_empty() {
            egui::Panel::right("selection").default_size(260.0).show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.heading(format!("{} selected", self.selection.len()));
                    if ui.small_button("clear").clicked() {
                        self.selection.clear();
                    }
                });
                let mut open = None;
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for &row in &self.selection {
                        let class = |i: i32| e.meta.classes.get(i as usize).cloned().unwrap_or_default();
                        let text = format!(
                            "{}  {}, called {}",
                            e.meta.notes[row],
                            class(e.label[row]),
                            class(e.predicted[row])
                        );
                        if ui.selectable_label(false, text).clicked() {
                            open = Some(row);
                        }
                    }
                });
                if let Some(row) = open {
                    self.open_note(&e, row, fx);
                }
            });
        }
        let highlighted: Vec<usize> = self.selection.iter().flat_map(|&r| [r, r + n]).collect();
        let (response, area) = map_ui(ui, &map.points, &colors.points, &pairs, &mut self.window, &highlighted);
        self.colors = Some(colors);
        self.map_rect = Some(area.rect);
        if let Some(i) = response.hovered {
            let (row, second) = self.row_of(i);
            let mut text = self.describe(&e, row);
            match (map.space, second) {
                (Space::Views, s) => text.push_str(if s { "\nCQT view" } else { "\nSTFT view" }),
                (Space::CleanDegraded, true) => {
                    if let Some(d) = &self.degraded {
                        let class = |i: i32| d.meta.classes.get(i as usize).cloned().unwrap_or_default();
                        text.push_str(&format!("\ndegraded, called {}", class(d.predicted[row])));
                    }
                }
                _ => {}
            }
            area.on_hover_text_at_pointer(text);
        }
        if let Some(i) = response.clicked {
            self.open_note(&e, self.row_of(i).0, fx);
        }
        if let Some(points) = response.selected {
            let mut rows: Vec<usize> = points.into_iter().map(|i| self.row_of(i).0).collect();
            rows.sort_unstable();
            rows.dedup();
            self.selection = rows;
        }
    }
}
