//! The activity strip under the clip views: for each instrument the model hears somewhere in the
//! clip, its probability in every sliding window, on the views' time axis.

use eframe::egui::{self, Align2, Color32, FontId, Pos2, Rect, Sense, Vec2};

use crate::learn::explanation::activity::Activity;
use crate::ui::views::GUTTER_PX;

/// Most rows shown: the most active instruments. The strip keeps its height whatever it shows,
/// so the views above never move when an answer arrives.
const MAX_ROWS: usize = 4;
const ROW_PX: f32 = 14.0;
const TITLE_PX: f32 = 15.0;

/// The strip's height: a title and its rows.
pub const STRIP_PX: f32 = TITLE_PX + ROW_PX * MAX_ROWS as f32 + 4.0;

/// Draws the strip over `time_secs` (the views' window), or says it is waiting for one; returns
/// where its rows were drawn.
pub fn strip_ui(ui: &mut egui::Ui, activity: Option<&Activity>, time_secs: [f64; 2], threshold: f32) -> Rect {
    let full = ui.available_rect_before_wrap();
    ui.allocate_rect(full, Sense::hover());
    let painter = ui.painter_at(full);
    let plot = Rect::from_min_max(
        Pos2::new(full.left() + GUTTER_PX, full.top() + TITLE_PX),
        Pos2::new(full.right() - 16.0, full.top() + TITLE_PX + ROW_PX * MAX_ROWS as f32),
    );
    painter.rect_filled(plot, 2.0, Color32::from_gray(12));
    let Some(activity) = activity else {
        let text = "activity: listening…";
        painter.text(plot.left_top(), Align2::LEFT_TOP, text, FontId::proportional(10.0), Color32::GRAY);
        return plot;
    };
    let rows = activity.active(threshold);
    let kind = if activity.multi_label { "multi-label" } else { "single-label" };
    let title = format!(
        "activity ({kind}, {:.2} s windows every {:.2} s; instruments reaching {:.0}%)",
        activity.window_secs,
        activity.hop_secs,
        100.0 * threshold
    );
    painter.text(
        Pos2::new(full.left() + GUTTER_PX, full.top()),
        Align2::LEFT_TOP,
        title,
        FontId::proportional(11.0),
        Color32::LIGHT_GRAY,
    );
    if rows.is_empty() {
        let text = "nothing reaches the threshold";
        painter.text(plot.left_top(), Align2::LEFT_TOP, text, FontId::proportional(10.0), Color32::GRAY);
        return plot;
    }
    let span = (time_secs[1] - time_secs[0]).max(1e-9);
    let x = |t: f64| plot.left() + (((t - time_secs[0]) / span) as f32 * plot.width()).clamp(0.0, plot.width());
    // Each window is drawn over the hop around its centre.
    let lead = (activity.window_secs - activity.hop_secs) / 2.0;
    for (r, &class) in rows.iter().take(MAX_ROWS).enumerate() {
        let top = plot.top() + r as f32 * ROW_PX;
        for (w, p) in activity.probabilities.iter().enumerate() {
            let t0 = w as f64 * activity.hop_secs + lead;
            let (x0, x1) = (x(t0), x(t0 + activity.hop_secs));
            if x1 <= x0 {
                continue;
            }
            let cell = Rect::from_min_max(Pos2::new(x0, top + 1.0), Pos2::new(x1, top + ROW_PX - 1.0));
            let alpha = (p[class].clamp(0.0, 1.0) * 255.0) as u8;
            painter.rect_filled(cell, 0.0, Color32::from_rgba_unmultiplied(90, 200, 130, alpha));
        }
        let name = &activity.classes[class];
        let galley = painter.layout_no_wrap(name.replace('_', " "), FontId::monospace(9.5), Color32::from_gray(220));
        let at = Pos2::new(plot.left() + 2.0, top + (ROW_PX - galley.size().y) / 2.0);
        painter.rect_filled(
            Rect::from_min_size(at, galley.size() + Vec2::new(2.0, 0.0)),
            1.0,
            Color32::from_black_alpha(150),
        );
        painter.galley(at, galley, Color32::WHITE);
    }
    plot
}
