//! The mixture view: a mixture's STFT and each source's soft mask, with audition of each.

use std::sync::Arc;

use eframe::egui::{self, Align2, Color32, FontId, Rect, Sense, Vec2};

use super::gpu_views::{Slot, SlotParams, view_shape};
use super::views::ColorSettings;
use crate::jobs::data::MixtureView;
use crate::render::{Colormap, SpectrogramParams};

/// Masks are drawn in dB (the renderer shows magnitudes in dB): 0 dB is a mask of 1, -40 dB
/// one of 0.01, below which a source holds no meaningful share of a bin.
const MASK_RANGE_DB: [f32; 2] = [-40.0, 0.0];
/// Each source gets its own map.
const MASK_MAPS: [Colormap; 4] = [Colormap::Viridis, Colormap::Inferno, Colormap::Magma, Colormap::Gray];

pub enum MixtureAction {
    /// Play these samples from the start.
    Play { samples: Arc<[f32]>, sample_rate_hz: u32, what: String },
    /// Load the mixture into the clip views.
    OpenInViews,
}

/// Text for source `k` from the file's metadata: instrument, pitch and gain.
pub fn source_label(view: &MixtureView, k: usize) -> String {
    let note = &view.file.meta["notes"][k];
    let name = note["instrument"].as_str().or(note["note_str"].as_str()).unwrap_or("source");
    let pitch = note["pitch"].as_i64().map(|p| crate::dsp::notes::midi_name(p as i32)).unwrap_or_default();
    let gain = note["gain_db"].as_f64().map(|g| format!("{g:+.1} dB")).unwrap_or_default();
    format!("source {k}: {name} {pitch} {gain}")
}

/// What the view knows of the model's own masks for the open mixture.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ModelMasks {
    /// No model is loaded.
    #[default]
    NoModel,
    Waiting,
    /// The model has no mask head.
    NoMaskHead,
    /// The model cannot name a source's instrument.
    Unknown(String),
    /// Uploaded beside the ideal masks; the prediction took this long.
    Ready {
        millis: f64,
    },
}

impl ModelMasks {
    fn status(&self) -> String {
        match self {
            Self::NoModel => "no model loaded: ideal masks only".into(),
            Self::Waiting => "predicting masks…".into(),
            Self::NoMaskHead => "the model has no mask head (train one with [polyphony] mask_weight > 0)".into(),
            Self::Unknown(problem) => problem.clone(),
            Self::Ready { millis } => format!("ideal | predicted by the model | difference ({millis:.0} ms)"),
        }
    }
}

/// The slot of source `k`'s ideal mask (0), predicted mask (1) or their difference (2), of `n`.
pub fn mask_slot(column: usize, k: usize, n: usize) -> Slot {
    Slot::Mixture((1 + column * n + k) as u8)
}

/// Draws the mixture and its masks (beside the model's own and the difference when it has them);
/// returns the action and where each plot was drawn: the mixture, the ideal masks, then the
/// predicted masks and the differences when shown.
pub fn mixture_ui(
    ui: &mut egui::Ui,
    view: &MixtureView,
    colors: &ColorSettings,
    predicted: &ModelMasks,
) -> (Option<MixtureAction>, Vec<Rect>) {
    let mut action = None;
    let k = view.masks.len();
    let name = view.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    ui.horizontal_wrapped(|ui| {
        ui.strong(&name);
        let rate = view.file.sample_rate_hz;
        if ui.button("Play mixture").clicked() {
            let samples: Arc<[f32]> = view.file.mixture.clone().into();
            action = Some(MixtureAction::Play { samples, sample_rate_hz: rate, what: format!("{name}: mixture") });
        }
        for (s, source) in view.file.sources.iter().enumerate() {
            if ui.button(format!("Play source {s}")).on_hover_text(source_label(view, s)).clicked() {
                let samples: Arc<[f32]> = source.clone().into();
                action = Some(MixtureAction::Play { samples, sample_rate_hz: rate, what: source_label(view, s) });
            }
        }
        if ui.button("Open in clip views").clicked() {
            action = Some(MixtureAction::OpenInViews);
        }
    });
    ui.small(predicted.status());
    let columns = if matches!(predicted, ModelMasks::Ready { .. }) { 3 } else { 1 };
    let area = ui.available_rect_before_wrap();
    let rows = k + 1;
    let row_height = area.height() / rows as f32;
    let painter = ui.painter_at(area);
    let top = view.mixture_db.max_value().unwrap_or(0.0).ceil() + colors.top_offset_db;
    let mix_range = [top - colors.range_db.max(1.0), top];
    let mut rects = vec![Rect::NOTHING; 1 + columns * k];
    let draw = |outer: Rect,
                title: String,
                slot: Slot,
                spec: &crate::dsp::Spectrogram,
                db_range: [f32; 2],
                colormap: Colormap| {
        let plot = Rect::from_min_max(outer.min + Vec2::new(0.0, 16.0), outer.max);
        painter.text(outer.left_top(), Align2::LEFT_TOP, title, FontId::proportional(12.0), Color32::LIGHT_GRAY);
        painter.rect_filled(plot, 2.0, Color32::from_gray(12));
        let params = SpectrogramParams {
            frames: [0.0, spec.frames as f32],
            bins: [0.0, spec.bins as f32],
            db_range,
            colormap,
            overlay_opacity: 0.0,
        };
        painter.add(view_shape(plot, slot, SlotParams::Spectrogram(params)));
        plot
    };
    let row_rect = |row: usize| {
        Rect::from_min_size(area.min + Vec2::new(0.0, row as f32 * row_height), Vec2::new(area.width(), row_height))
    };
    rects[0] = draw(
        row_rect(0).shrink(3.0),
        "mixture STFT (dB)".into(),
        Slot::Mixture(0),
        &view.mixture_db,
        mix_range,
        colors.colormap,
    );
    let width = area.width() / columns as f32;
    for s in 0..k {
        let row = row_rect(s + 1);
        let map = MASK_MAPS[s % MASK_MAPS.len()];
        for column in 0..columns {
            let outer =
                Rect::from_min_size(row.min + Vec2::new(column as f32 * width, 0.0), Vec2::new(width, row.height()))
                    .shrink(3.0);
            let title = match column {
                0 if columns == 1 => format!("soft mask of {} (dB, -40 to 0)", source_label(view, s)),
                0 => format!("ideal mask of {}", source_label(view, s)),
                1 => "predicted by the model".to_owned(),
                _ => "|predicted - ideal| (dB, -40 to 0)".to_owned(),
            };
            // The masks are the file's; the model's are in the slots after them.
            rects[1 + column * k + s] = draw(outer, title, mask_slot(column, s, k), &view.masks[s], MASK_RANGE_DB, map);
        }
    }
    ui.allocate_rect(area, Sense::hover());
    (action, rects)
}
