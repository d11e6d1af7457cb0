//! The instrument grid: one view for every instrument at the same pitch, side by side.

use eframe::egui::{self, Align2, Color32, FontId, Rect, Sense, Vec2};

use super::gpu_views::{Slot, SlotParams, view_shape};
use super::views::ColorSettings;
use crate::data::dataset::Dataset;
use crate::dsp::View;
use crate::jobs::data::{GridCell, GridRequest};
use crate::render::SpectrogramParams;

/// The grid on screen: its request and the cells that came back.
pub struct GridState {
    pub request: GridRequest,
    pub cells: Vec<GridCell>,
    /// Loudest value over all cells, so every cell shares one colour scale.
    pub max_db: f32,
}

impl GridState {
    pub fn new(request: GridRequest, cells: Vec<GridCell>) -> Self {
        let max_db = cells
            .iter()
            .filter_map(|c| c.spectrogram.as_ref().and_then(|s| s.max_value()))
            .fold(f32::NEG_INFINITY, f32::max);
        Self { request, cells, max_db: if max_db.is_finite() { max_db } else { 0.0 } }
    }
}

pub enum GridAction {
    /// Ask for another grid (pitch, velocity, view or bank changed).
    Request(GridRequest),
    /// Load the note of a cell into the clip views.
    Load(usize),
}

/// Draws the grid; `pending` shows a spinner while a new request runs. Returns the action and
/// where each cell's view was drawn.
pub fn grid_ui(
    ui: &mut egui::Ui,
    grid: &GridState,
    dataset: &Dataset,
    colors: &ColorSettings,
    pending: bool,
) -> (Option<GridAction>, Vec<Rect>) {
    let mut action = None;
    let mut request = grid.request.clone();
    ui.horizontal(|ui| {
        ui.label("Every instrument at");
        let slider = egui::Slider::new(&mut request.pitch, 0..=127)
            .custom_formatter(|p, _| format!("{} ({p})", crate::dsp::notes::midi_name(p as i32)))
            .text("pitch");
        ui.add(slider);
        let mut velocities: Vec<u8> = dataset.notes.iter().map(|n| n.record.velocity).collect();
        velocities.sort_unstable();
        velocities.dedup();
        egui::ComboBox::from_label("velocity").selected_text(request.velocity.to_string()).show_ui(ui, |ui| {
            for v in velocities {
                ui.selectable_value(&mut request.velocity, v, v.to_string());
            }
        });
        let bank_text = request.bank.clone().unwrap_or_else(|| "any".into());
        egui::ComboBox::from_label("bank").selected_text(bank_text).show_ui(ui, |ui| {
            for bank in dataset.banks() {
                ui.selectable_value(&mut request.bank, Some(bank.clone()), bank);
            }
        });
        ui.selectable_value(&mut request.view, View::Stft, "STFT");
        ui.selectable_value(&mut request.view, View::Cqt, "CQT");
        if pending {
            ui.spinner();
        }
    });
    if request != grid.request {
        action = Some(GridAction::Request(request));
    }

    let n = grid.cells.len().max(1);
    let columns = (n as f32).sqrt().ceil() as usize;
    let rows = n.div_ceil(columns);
    let area = ui.available_rect_before_wrap();
    let cell_size = Vec2::new(area.width() / columns as f32, area.height() / rows as f32);
    let top = grid.max_db.ceil() + colors.top_offset_db;
    let db_range = [top - colors.range_db.max(1.0), top];
    let painter = ui.painter_at(area);
    let mut rects = Vec::with_capacity(grid.cells.len());
    for (i, cell) in grid.cells.iter().enumerate() {
        let origin = area.min + Vec2::new((i % columns) as f32 * cell_size.x, (i / columns) as f32 * cell_size.y);
        let outer = Rect::from_min_size(origin, cell_size).shrink(3.0);
        let plot = Rect::from_min_max(outer.min + Vec2::new(0.0, 16.0), outer.max);
        rects.push(plot);
        let name = &dataset.taxonomy.instruments[cell.instrument].name;
        painter.text(outer.left_top(), Align2::LEFT_TOP, name, FontId::proportional(12.0), Color32::LIGHT_GRAY);
        painter.rect_filled(plot, 2.0, Color32::from_gray(12));
        match &cell.spectrogram {
            Some(spec) => {
                let params = SpectrogramParams {
                    frames: [0.0, spec.frames as f32],
                    bins: [0.0, spec.bins as f32],
                    db_range,
                    colormap: colors.colormap,
                    overlay_opacity: 0.0,
                };
                painter.add(view_shape(plot, Slot::Grid(i as u8), SlotParams::Spectrogram(params)));
                let response = ui
                    .interact(plot, ui.scope_id().with(("grid-cell", i)), Sense::click())
                    .on_hover_text("Click to open this note in the clip views");
                if response.clicked()
                    && let Some(note) = cell.note
                {
                    action = Some(GridAction::Load(note));
                }
            }
            None => {
                painter.text(
                    plot.center(),
                    Align2::CENTER_CENTER,
                    "no note at this pitch",
                    FontId::proportional(12.0),
                    Color32::GRAY,
                );
            }
        }
    }
    ui.allocate_rect(area, Sense::hover());
    (action, rects)
}
