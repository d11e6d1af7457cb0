//! The leave-one-library-out report as a heatmap: a row per held-out library, a column per
//! instrument, each cell that library's recall of the instrument by a model that never heard
//! the library; each row's overall and class-balanced accuracy beside it. A click on a cell lists
//! its notes with what they were heard as; a click on a note loads it.

use std::path::PathBuf;

use eframe::egui::{self, Color32, Sense, Stroke, vec2};

use crate::learn::assessment::lolo::LoloReport;

#[derive(Clone, Debug, Default)]
pub struct LoloState {
    /// The selected cell: (fold, instrument).
    pub cell: Option<(usize, usize)>,
    /// Where each cell was drawn last frame (row-major), for tests and hit-testing.
    pub cell_rects: Vec<egui::Rect>,
}

/// Red (0%) through yellow to green (100%): recall read at a glance.
fn shade(recall: f32) -> Color32 {
    let r = recall.clamp(0.0, 1.0);
    let (lo, mid, hi) = ([215.0, 48.0, 39.0], [254.0, 224.0, 139.0], [26.0, 152.0, 80.0]);
    let (a, b, t) = if r < 0.5 { (lo, mid, r * 2.0) } else { (mid, hi, r * 2.0 - 1.0) };
    let c = |k: usize| (a[k] + (b[k] - a[k]) * t).round() as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// Draws the report; returns (data set, note) to load when a listed note is clicked.
pub fn lolo_ui(ui: &mut egui::Ui, report: &LoloReport, state: &mut LoloState) -> Option<(PathBuf, String)> {
    let (rows, cols) = (report.folds.len(), report.instruments.len());
    if rows == 0 || cols == 0 {
        ui.label("The report has no folds.");
        return None;
    }
    let label_width = 120.0;
    let score_width = 84.0;
    let cell = ((ui.available_width() - label_width - score_width) / cols as f32).clamp(10.0, 26.0);
    let font = egui::FontId::proportional((cell * 0.5).clamp(8.0, 11.0));
    let text_color = ui.visuals().text_color();
    let galleys: Vec<_> = report
        .instruments
        .iter()
        .map(|name| ui.painter().layout_no_wrap(name.clone(), font.clone(), text_color))
        .collect();
    // Room for the longest column label, which runs upwards.
    let header = galleys.iter().map(|g| g.size().x).fold(0.0, f32::max) + 8.0;
    let size = vec2(label_width + cols as f32 * cell + score_width, header + rows as f32 * cell + 4.0);
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let painter = ui.painter_at(rect);
    let grid_left = rect.left() + label_width;
    let grid_top = rect.top() + header;
    for (i, galley) in galleys.into_iter().enumerate() {
        // Column labels run upwards so sixteen names fit over narrow cells.
        let anchor = egui::pos2(grid_left + (i as f32 + 0.5) * cell - 5.0, grid_top - 4.0);
        painter.add(egui::epaint::TextShape::new(anchor, galley, text_color).with_angle(-std::f32::consts::FRAC_PI_2));
    }
    state.cell_rects.clear();
    for (f, fold) in report.folds.iter().enumerate() {
        let y = grid_top + f as f32 * cell;
        painter.text(
            egui::pos2(grid_left - 4.0, y + cell / 2.0),
            egui::Align2::RIGHT_CENTER,
            &fold.held_out,
            font.clone(),
            text_color,
        );
        for i in 0..cols {
            let r = egui::Rect::from_min_size(egui::pos2(grid_left + i as f32 * cell, y), vec2(cell, cell));
            match fold.recall.get(i).copied().flatten() {
                Some(recall) => {
                    let fill = shade(recall as f32);
                    painter.rect_filled(r.shrink(0.5), 0.0, fill);
                    painter.text(
                        r.center(),
                        egui::Align2::CENTER_CENTER,
                        format!("{:.0}", 100.0 * recall),
                        font.clone(),
                        crate::ui::embedding_map::text_color_on(fill),
                    );
                }
                None => {
                    painter.rect_stroke(r.shrink(0.5), 0.0, Stroke::new(0.5, Color32::GRAY), egui::StrokeKind::Inside);
                }
            }
            if state.cell == Some((f, i)) {
                painter.rect_stroke(r, 0.0, Stroke::new(2.0, Color32::from_rgb(30, 30, 200)), egui::StrokeKind::Inside);
            }
            state.cell_rects.push(r);
        }
        painter.text(
            egui::pos2(grid_left + cols as f32 * cell + 4.0, y + cell / 2.0),
            egui::Align2::LEFT_CENTER,
            format!("{:.1} / {:.1}", 100.0 * fold.accuracy, 100.0 * fold.balanced_accuracy),
            font.clone(),
            text_color,
        );
    }
    painter.text(
        egui::pos2(grid_left + cols as f32 * cell + 4.0, grid_top - 4.0),
        egui::Align2::LEFT_BOTTOM,
        "acc / balanced %",
        font.clone(),
        text_color,
    );
    let hovered = response.hover_pos().and_then(|pos| state.cell_rects.iter().position(|r| r.contains(pos)));
    if let Some(k) = hovered {
        let (f, i) = (k / cols, k % cols);
        let notes = report.cell_notes(f, i).count();
        let right = report.cell_notes(f, i).filter(|n| n.predicted == i).count();
        response.clone().on_hover_text(format!(
            "{} without {} in training: {right} of {notes} {} notes right",
            report.folds[f].held_out, report.folds[f].held_out, report.instruments[i]
        ));
    }
    if response.clicked()
        && let Some(k) = hovered
    {
        state.cell = Some((k / cols, k % cols));
    }
    let (f, i) = state.cell?;
    let fold = &report.folds[f];
    ui.label(format!(
        "{} of {}, never trained on: {} notes (click one to load it)",
        report.instruments[i],
        fold.held_out,
        report.cell_notes(f, i).count()
    ));
    let mut clicked = None;
    egui::ScrollArea::vertical().id_salt("lolo_notes").max_height(160.0).show(ui, |ui| {
        for note in report.cell_notes(f, i) {
            let heard = report.instruments.get(note.predicted).map_or("?", String::as_str);
            // Plain marks: the default fonts have no check or cross glyphs.
            let mark = if note.predicted == i { "ok" } else { "x" };
            if ui.selectable_label(false, format!("{mark} {}: {heard}", note.note)).clicked() {
                clicked = Some((PathBuf::from(&fold.dataset), note.note.clone()));
            }
        }
    });
    clicked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shade_runs_from_red_through_yellow_to_green() {
        assert_eq!(shade(0.0), Color32::from_rgb(215, 48, 39));
        assert_eq!(shade(0.5), Color32::from_rgb(254, 224, 139));
        assert_eq!(shade(1.0), Color32::from_rgb(26, 152, 80));
    }
}
