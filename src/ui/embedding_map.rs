//! The embedding map: every note a point, coloured by what the user asks, with pan and zoom,
//! hover read-out, a click that opens a note, a shift-drag box that selects notes, and lines that
//! join each note's pair (its two views, or its clean and degraded versions).
//!
//! Points are one mesh of small quads and pairs one mesh of thin quads, rebuilt each frame: for
//! 10,000 notes that costs about a millisecond, where one egui shape a point costs far more.

use eframe::egui::{self, Color32, Mesh, Pos2, Rect, Sense, Shape, Stroke, Vec2};

/// Half the side of a point's square, in points.
const POINT_HALF: f32 = 2.5;
/// How near the pointer must be to a point to hover or click it, in points.
pub const PICK_RADIUS: f32 = 8.0;

/// The visible region of the map, in map units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MapWindow {
    pub centre: [f32; 2],
    /// Map units per point of screen.
    pub scale: f32,
}

impl MapWindow {
    /// Fits `points` into `rect` with a margin.
    pub fn fit(points: &[[f32; 2]], rect: Rect) -> Self {
        let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
        for p in points.iter().filter(|p| p[0].is_finite() && p[1].is_finite()) {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        if lo[0] > hi[0] || lo[0].is_nan() {
            return Self { centre: [0.0; 2], scale: 1.0 };
        }
        let span = [(hi[0] - lo[0]).max(1e-6), (hi[1] - lo[1]).max(1e-6)];
        let scale = (span[0] / (rect.width() * 0.9).max(1.0)).max(span[1] / (rect.height() * 0.9).max(1.0));
        Self { centre: [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0], scale }
    }

    pub fn to_screen(&self, rect: Rect, p: [f32; 2]) -> Pos2 {
        // Up is up: the map's y grows towards the top of the screen.
        rect.center() + Vec2::new((p[0] - self.centre[0]) / self.scale, -(p[1] - self.centre[1]) / self.scale)
    }

    pub fn to_map(&self, rect: Rect, pos: Pos2) -> [f32; 2] {
        let d = pos - rect.center();
        [self.centre[0] + d.x * self.scale, self.centre[1] - d.y * self.scale]
    }

    /// Zooms by `factor` (below 1: in) keeping the map point under `anchor` where it is.
    pub fn zoom(&mut self, factor: f32, rect: Rect, anchor: Pos2) {
        let before = self.to_map(rect, anchor);
        self.scale *= factor;
        let after = self.to_map(rect, anchor);
        self.centre[0] += before[0] - after[0];
        self.centre[1] += before[1] - after[1];
    }
}

/// The index of the point nearest `pos` within [`PICK_RADIUS`], if any.
pub fn pick(points: &[[f32; 2]], window: &MapWindow, rect: Rect, pos: Pos2) -> Option<usize> {
    let target = window.to_map(rect, pos);
    let r = PICK_RADIUS * window.scale;
    let mut best = None;
    let mut best_d = r * r;
    for (i, p) in points.iter().enumerate() {
        let d = (p[0] - target[0]).powi(2) + (p[1] - target[1]).powi(2);
        if d <= best_d {
            best_d = d;
            best = Some(i);
        }
    }
    best
}

/// One mesh of `points` as squares in their colours, and the pairs (i, j) as thin lines.
pub fn map_shapes(
    points: &[[f32; 2]],
    colors: &[Color32],
    pairs: &[(usize, usize)],
    window: &MapWindow,
    rect: Rect,
) -> [Shape; 2] {
    let mut lines = Mesh::default();
    let line_color = Color32::from_white_alpha(40);
    for &(i, j) in pairs {
        let (a, b) = (window.to_screen(rect, points[i]), window.to_screen(rect, points[j]));
        if !(rect.contains(a) || rect.contains(b)) {
            continue;
        }
        let along = b - a;
        let n = if along.length_sq() > 0.0 { along.normalized().rot90() * 0.5 } else { Vec2::ZERO };
        let base = lines.vertices.len() as u32;
        for p in [a + n, a - n, b - n, b + n] {
            lines.colored_vertex(p, line_color);
        }
        lines.add_triangle(base, base + 1, base + 2);
        lines.add_triangle(base, base + 2, base + 3);
    }
    let mut dots = Mesh::default();
    dots.reserve_triangles(2 * points.len());
    dots.reserve_vertices(4 * points.len());
    let h = Vec2::splat(POINT_HALF);
    for (p, &c) in points.iter().zip(colors) {
        let s = window.to_screen(rect, *p);
        if !rect.expand(POINT_HALF).contains(s) {
            continue;
        }
        dots.add_colored_rect(Rect::from_min_max(s - h, s + h), c);
    }
    [Shape::mesh(lines), Shape::mesh(dots)]
}

/// What the user did on the map this frame.
#[derive(Default)]
pub struct MapResponse {
    pub hovered: Option<usize>,
    pub clicked: Option<usize>,
    /// A box was drawn (shift-drag): the points inside it.
    pub selected: Option<Vec<usize>>,
}

/// Draws the map in the space left, pans with a drag, zooms with the wheel, selects with a
/// shift-drag; a double-click fits the map again.
pub fn map_ui(
    ui: &mut egui::Ui,
    points: &[[f32; 2]],
    colors: &[Color32],
    pairs: &[(usize, usize)],
    window: &mut Option<MapWindow>,
    highlighted: &[usize],
) -> (MapResponse, egui::Response) {
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
    let w = window.get_or_insert_with(|| MapWindow::fit(points, rect));
    if response.double_clicked() {
        *w = MapWindow::fit(points, rect);
    }
    // When the area shrinks or grows (a side panel opens), what was in view stays in view.
    let size_id = ui.scope_id().with("map_size");
    if let Some(before) = ui.data(|d| d.get_temp::<Vec2>(size_id))
        && before != rect.size()
        && rect.width() > 0.0
        && rect.height() > 0.0
    {
        w.scale *= (before.x / rect.width()).max(before.y / rect.height());
    }
    ui.data_mut(|d| d.insert_temp(size_id, rect.size()));
    let mut out = MapResponse::default();
    let shift = ui.input(|i| i.modifiers.shift);
    let box_start = ui.scope_id().with("box_start");
    if response.drag_started() && shift {
        let origin = ui.input(|i| i.pointer.press_origin());
        ui.data_mut(|d| d.insert_temp(box_start, origin));
    }
    let start: Option<Pos2> = ui.data(|d| d.get_temp::<Option<Pos2>>(box_start)).flatten();
    let pointer = ui.input(|i| i.pointer.latest_pos());
    if let (Some(a), Some(b)) = (start, pointer) {
        let r = Rect::from_two_pos(a, b);
        painter.rect_stroke(r, 0.0, Stroke::new(1.0, Color32::LIGHT_BLUE), egui::StrokeKind::Inside);
        if response.drag_stopped() || !ui.input(|i| i.pointer.primary_down()) {
            let (lo, hi) = (w.to_map(rect, r.left_bottom()), w.to_map(rect, r.right_top()));
            let inside = |p: &[f32; 2]| p[0] >= lo[0] && p[0] <= hi[0] && p[1] >= lo[1] && p[1] <= hi[1];
            out.selected = Some(points.iter().enumerate().filter(|(_, p)| inside(p)).map(|(i, _)| i).collect());
            ui.data_mut(|d| d.remove::<Option<Pos2>>(box_start));
        }
    } else if response.dragged() {
        let d = response.drag_delta();
        w.centre[0] -= d.x * w.scale;
        w.centre[1] += d.y * w.scale;
    }
    if let Some(pos) = response.hover_pos() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            w.zoom((-scroll / 200.0).exp(), rect, pos);
        }
        out.hovered = pick(points, w, rect, pos);
    }
    if response.clicked() {
        out.clicked = response.interact_pointer_pos().and_then(|pos| pick(points, w, rect, pos));
    }
    let [lines, dots] = map_shapes(points, colors, pairs, w, rect);
    painter.add(lines);
    painter.add(dots);
    for &i in highlighted.iter().chain(out.hovered.iter()) {
        if let Some(p) = points.get(i) {
            painter.circle_stroke(w.to_screen(rect, *p), POINT_HALF + 3.0, Stroke::new(1.5, Color32::WHITE));
        }
    }
    (out, response)
}

/// A categorical colour for class `i` of `n`: evenly spaced hues, alternating lightness so
/// neighbours differ.
pub fn category_color(i: usize, n: usize) -> Color32 {
    let hue = i as f32 / n.max(1) as f32;
    let value = if i.is_multiple_of(2) { 0.95 } else { 0.75 };
    egui::ecolor::Hsva::new(hue, 0.75, value, 1.0).into()
}

/// Black or white, whichever reads better on the opaque `background` (by its relative
/// luminance; the crossover where both contrast ratios are equal). A translucent fill is to be
/// blended over what lies under it first.
pub fn text_color_on(background: Color32) -> Color32 {
    let linear = egui::Rgba::from(background);
    let luminance = 0.2126 * linear.r() + 0.7152 * linear.g() + 0.0722 * linear.b();
    if luminance > 0.179 { Color32::BLACK } else { Color32::WHITE }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_black_on_light_colours_and_white_on_dark_ones() {
        assert_eq!(text_color_on(Color32::from_rgb(250, 230, 80)), Color32::BLACK);
        assert_eq!(text_color_on(Color32::from_rgb(20, 30, 90)), Color32::WHITE);
        // A category colour dimmed for a weak answer over the live strip's backing, as it draws it.
        let dimmed = Color32::from_gray(12).blend(category_color(5, 16).gamma_multiply(0.35));
        assert_eq!(text_color_on(dimmed), Color32::WHITE);
        assert_eq!(text_color_on(Color32::from_gray(12).blend(category_color(5, 16))), Color32::BLACK);
        assert_eq!(text_color_on(Color32::from_gray(140)), Color32::BLACK);
    }

    #[test]
    fn screen_and_map_coordinates_invert_and_zoom_keeps_its_anchor() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(400.0, 300.0));
        let mut w = MapWindow::fit(&[[-1.0, -2.0], [3.0, 4.0]], rect);
        let p = [0.5, 1.5];
        let back = w.to_map(rect, w.to_screen(rect, p));
        assert!((back[0] - p[0]).abs() < 1e-5 && (back[1] - p[1]).abs() < 1e-5);
        // Both points fit inside the rectangle.
        for q in [[-1.0, -2.0], [3.0, 4.0]] {
            assert!(rect.contains(w.to_screen(rect, q)));
        }
        let anchor = Pos2::new(100.0, 80.0);
        let before = w.to_map(rect, anchor);
        w.zoom(0.5, rect, anchor);
        let after = w.to_map(rect, anchor);
        assert!((before[0] - after[0]).abs() < 1e-5 && (before[1] - after[1]).abs() < 1e-5);
    }

    #[test]
    fn pick_finds_the_nearest_point_within_reach_only() {
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(100.0, 100.0));
        let w = MapWindow { centre: [0.0, 0.0], scale: 1.0 };
        let points = [[0.0, 0.0], [5.0, 0.0], [40.0, 40.0]];
        assert_eq!(pick(&points, &w, rect, Pos2::new(53.0, 50.0)), Some(1));
        assert_eq!(pick(&points, &w, rect, Pos2::new(51.0, 50.0)), Some(0));
        assert_eq!(pick(&points, &w, rect, Pos2::new(70.0, 70.0)), None);
    }
}
