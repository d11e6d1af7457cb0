//! The confusion matrix as a heatmap: rows normalised (recall on the diagonal), counts on hover,
//! per-class recall beside it; a click on a cell lists its notes, a click on a note loads it.

use eframe::egui::{self, Color32, Sense, Stroke, vec2};

use crate::learn::scoring::confusion::Confusion;

#[derive(Clone, Debug, Default)]
pub struct ConfusionState {
    /// The selected cell: (truth, predicted).
    pub cell: Option<(usize, usize)>,
    /// Where each cell was drawn last frame (row-major), for tests and hit-testing.
    pub cell_rects: Vec<egui::Rect>,
}

/// Light to dark blue: the share of a row that landed in a cell.
fn shade(fraction: f32) -> Color32 {
    let f = fraction.clamp(0.0, 1.0);
    let lerp = |a: f32, b: f32| (a + (b - a) * f).round() as u8;
    Color32::from_rgb(lerp(247.0, 8.0), lerp(251.0, 48.0), lerp(255.0, 107.0))
}

/// What a click in a cell's note list asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum CellAction {
    /// Load the note into the views.
    Load(String),
    /// Load the note, and beside it the training note of class `.1` nearest in the embedding.
    Nearest(String, usize),
}

/// Draws the matrix; returns what a click in the selected cell's note list asks for.
pub fn confusion_ui(ui: &mut egui::Ui, confusion: &Confusion, state: &mut ConfusionState) -> Option<CellAction> {
    let n = confusion.labels.len();
    if n == 0 {
        return None;
    }
    let recall = confusion.recall();
    ui.label(format!(
        "validation, epoch {}: accuracy {:.1}% over {} notes",
        confusion.epoch + 1,
        100.0 * confusion.accuracy(),
        confusion.notes.len()
    ));
    let label_width = 120.0;
    let recall_width = 44.0;
    let cell = ((ui.available_width() - label_width - recall_width) / n as f32).clamp(8.0, 22.0);
    let (rect, response) = ui
        .allocate_exact_size(vec2(label_width + n as f32 * cell + recall_width, n as f32 * cell + 4.0), Sense::click());
    let painter = ui.painter_at(rect);
    let font = egui::FontId::proportional((cell * 0.6).clamp(8.0, 12.0));
    let text_color = ui.visuals().text_color();
    state.cell_rects.clear();
    for (t, row) in confusion.counts.iter().enumerate() {
        let total: u32 = row.iter().sum();
        let y = rect.top() + t as f32 * cell;
        painter.text(
            egui::pos2(rect.left() + label_width - 4.0, y + cell / 2.0),
            egui::Align2::RIGHT_CENTER,
            &confusion.labels[t],
            font.clone(),
            text_color,
        );
        for (p, &count) in row.iter().enumerate() {
            let r =
                egui::Rect::from_min_size(egui::pos2(rect.left() + label_width + p as f32 * cell, y), vec2(cell, cell));
            let fraction = if total > 0 { count as f32 / total as f32 } else { 0.0 };
            painter.rect_filled(r.shrink(0.5), 0.0, shade(fraction));
            if state.cell == Some((t, p)) {
                painter.rect_stroke(r, 0.0, Stroke::new(2.0, Color32::from_rgb(230, 25, 75)), egui::StrokeKind::Inside);
            }
            state.cell_rects.push(r);
        }
        let text = recall[t].map_or("-".to_string(), |r| format!("{:.0}%", 100.0 * r));
        painter.text(
            egui::pos2(rect.left() + label_width + n as f32 * cell + 4.0, y + cell / 2.0),
            egui::Align2::LEFT_CENTER,
            text,
            font.clone(),
            text_color,
        );
    }
    let hovered = response.hover_pos().and_then(|pos| state.cell_rects.iter().position(|r| r.contains(pos)));
    if let Some(i) = hovered {
        let (t, p) = (i / n, i % n);
        let total: u32 = confusion.counts[t].iter().sum();
        response.clone().on_hover_text(format!(
            "{} heard as {}: {} of {} notes",
            confusion.labels[t], confusion.labels[p], confusion.counts[t][p], total
        ));
    }
    if response.clicked()
        && let Some(i) = hovered
    {
        state.cell = Some((i / n, i % n));
    }
    let (t, p) = state.cell?;
    let notes: Vec<&str> =
        confusion.notes.iter().filter(|x| x.truth == t && x.predicted == p).map(|x| x.note.as_str()).collect();
    ui.label(format!(
        "{} heard as {}: {} notes (click one to load it)",
        confusion.labels[t],
        confusion.labels[p],
        notes.len()
    ));
    let mut clicked = None;
    let nearest = format!("nearest {}", confusion.labels[p]);
    let hint = format!(
        "Load this note, and beside it the training note of {} nearest in the model's embedding: B switches between them",
        confusion.labels[p]
    );
    egui::ScrollArea::vertical().id_salt("cell_notes").max_height(160.0).show(ui, |ui| {
        for note in notes {
            ui.horizontal(|ui| {
                if ui.selectable_label(false, note).clicked() {
                    clicked = Some(CellAction::Load(note.to_string()));
                }
                if ui.small_button(&nearest).on_hover_text(&hint).clicked() {
                    clicked = Some(CellAction::Nearest(note.to_string(), p));
                }
            });
        }
    });
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shade_runs_from_white_to_dark_blue() {
        assert_eq!(shade(0.0), Color32::from_rgb(247, 251, 255));
        assert_eq!(shade(1.0), Color32::from_rgb(8, 48, 107));
        assert!(shade(0.5).b() > shade(1.0).b() && shade(0.5).b() < shade(0.0).b());
    }
}
