//! The stacked waveform / STFT / CQT views: one time window for all, axes, hover read-out,
//! zoom and pan by mouse and keyboard, and the playhead.

use eframe::egui::{self, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

use super::gpu_views::{Slot, SlotParams, view_shape};
use crate::dsp::notes::hz_to_note;
use crate::dsp::{Spectrogram, View};
use crate::jobs::Analysis;
use crate::render::{Colormap, SpectrogramParams, WaveformParams};

pub(crate) const GUTTER_PX: f32 = 58.0;
pub(crate) const TIME_AXIS_PX: f32 = 18.0;
pub(crate) const GAP_PX: f32 = 6.0;
pub(crate) const WAVE_COLOR: [f32; 4] = [0.45, 0.78, 1.0, 1.0];
pub(crate) const AXIS_COLOR: [f32; 4] = [0.5, 0.5, 0.5, 0.6];

/// Visible region of every view, in physical units so that views stay in sync.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ViewWindow {
    pub time_secs: [f64; 2],
    pub stft_hz: [f64; 2],
    /// Fractional CQT bins.
    pub cqt_bins: [f64; 2],
    /// Waveform amplitude at the top edge.
    pub amplitude: f32,
}

impl ViewWindow {
    pub fn fit(analysis: &Analysis) -> Self {
        Self {
            time_secs: [0.0, analysis.clip.duration_secs().max(1e-3)],
            stft_hz: [0.0, analysis.stft.bin_to_hz(analysis.stft.bins as f64 - 1.0)],
            cqt_bins: [-0.5, analysis.cqt.bins as f64 - 0.5],
            amplitude: 1.0,
        }
    }

    /// Zooms time by `factor` (< 1 zooms in) keeping `anchor_secs` in place.
    pub fn zoom_time(&mut self, factor: f64, anchor_secs: f64, duration_secs: f64) {
        let [a, b] = self.time_secs;
        let span = ((b - a) * factor).clamp(0.005, duration_secs.max(0.005) * 1.05);
        let rel = ((anchor_secs - a) / (b - a)).clamp(0.0, 1.0);
        let start = anchor_secs - rel * span;
        self.time_secs = [start, start + span];
        self.clamp_time(duration_secs);
    }

    pub fn pan_time(&mut self, delta_secs: f64, duration_secs: f64) {
        self.time_secs = [self.time_secs[0] + delta_secs, self.time_secs[1] + delta_secs];
        self.clamp_time(duration_secs);
    }

    fn clamp_time(&mut self, duration_secs: f64) {
        let span = self.time_secs[1] - self.time_secs[0];
        let lo = -0.025 * span;
        let hi = duration_secs + 0.025 * span;
        if self.time_secs[0] < lo {
            self.time_secs = [lo, lo + span];
        }
        if self.time_secs[1] > hi && span < hi - lo {
            self.time_secs = [hi - span, hi];
        }
    }
}

/// How spectrograms are coloured.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColorSettings {
    pub colormap: Colormap,
    /// dB shown, below the top.
    pub range_db: f32,
    /// Top of the range relative to the clip's maximum (usually 0).
    pub top_offset_db: f32,
}

impl Default for ColorSettings {
    fn default() -> Self {
        Self { colormap: Colormap::Magma, range_db: 80.0, top_offset_db: 0.0 }
    }
}

/// What the pointer is over, for the status bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hover {
    pub time_secs: Option<f64>,
    pub freq_hz: Option<f64>,
    pub level_db: Option<f32>,
    /// The waveform's sample under the pointer.
    pub sample_value: Option<f32>,
    /// Degraded minus clean under the pointer (Δ views).
    pub delta_db: Option<f32>,
    pub view: Option<&'static str>,
}

impl Hover {
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(view) = self.view {
            parts.push(view.to_string());
        }
        if let Some(t) = self.time_secs {
            parts.push(format!("t = {t:.3} s"));
        }
        if let Some(f) = self.freq_hz {
            let note = hz_to_note(f).map(|(n, c)| format!(" ({n} {c:+.0}¢)")).unwrap_or_default();
            parts.push(format!("f = {f:.1} Hz{note}"));
        }
        if let Some(v) = self.sample_value {
            parts.push(format!("x = {v:+.4}"));
        }
        if let Some(db) = self.level_db {
            parts.push(format!("{db:.1} dB"));
        }
        if let Some(db) = self.delta_db {
            parts.push(format!("Δ {db:+.1} dB"));
        }
        parts.join("   ")
    }
}

/// Which uploaded views to draw: the clean clip's or the degraded one's, and the Δ rows.
pub struct ViewSources<'a> {
    /// The clip whose waveform, STFT and CQT are shown.
    pub analysis: &'a Analysis,
    /// Where its waveform, STFT and CQT were uploaded.
    pub slots: [Slot; 3],
    pub delta: Option<DeltaRows<'a>>,
    /// How strongly the STFT and CQT show their saliency overlay (0: not at all).
    pub overlay_opacity: f32,
}

/// Degraded minus clean, in dB, drawn on a diverging map from -range to +range.
pub struct DeltaRows<'a> {
    pub stft: &'a Spectrogram,
    pub cqt: &'a Spectrogram,
    pub range_db: f32,
}

/// What the user did in the views this frame.
pub struct ViewsResponse {
    pub hover: Hover,
    /// Where the waveform, STFT and CQT were drawn.
    pub rects: [Rect; 3],
    /// Where the Δ STFT and Δ CQT were drawn, when shown.
    pub delta_rects: Option<[Rect; 2]>,
    /// Clicked a time: move the playhead there.
    pub seek_secs: Option<f64>,
}

/// Draws the views (waveform, STFT, CQT, and the Δ rows when given) filling `ui`'s remaining space.
pub fn views_ui(
    ui: &mut egui::Ui,
    sources: &ViewSources<'_>,
    window: &mut ViewWindow,
    colors: &ColorSettings,
    playhead_secs: Option<f64>,
) -> ViewsResponse {
    let analysis = sources.analysis;
    let full = ui.available_rect_before_wrap();
    let plot = Rect::from_min_max(
        Pos2::new(full.left() + GUTTER_PX, full.top()),
        Pos2::new(full.right() - 16.0, full.bottom() - TIME_AXIS_PX),
    );
    let shares: &[f32] = if sources.delta.is_some() { &[0.12, 0.22, 0.22, 0.22, 0.22] } else { &[0.22, 0.39, 0.39] };
    let usable = (plot.height() - (shares.len() - 1) as f32 * GAP_PX).max(30.0);
    let mut top = plot.top();
    let mut all_rects = Vec::with_capacity(shares.len());
    for share in shares {
        let h = share * usable;
        all_rects.push(Rect::from_min_size(Pos2::new(plot.left(), top), Vec2::new(plot.width(), h)));
        top += h + GAP_PX;
    }
    let rects = [all_rects[0], all_rects[1], all_rects[2]];
    let delta_rects = sources.delta.as_ref().map(|_| [all_rects[3], all_rects[4]]);
    ui.allocate_rect(full, Sense::hover());
    let duration = analysis.clip.duration_secs();
    let painter = ui.painter_at(full);
    let mut out = ViewsResponse { hover: Hover::default(), rects, delta_rects, seek_secs: None };
    // The mapping of this frame; interactions below change the window for the next one.
    let time = window.time_secs;
    let secs_to_x = |t: f64| plot.left() + ((t - time[0]) / (time[1] - time[0])) as f32 * plot.width();
    let x_to_secs = |x: f32| time[0] + ((x - plot.left()) / plot.width()) as f64 * (time[1] - time[0]);

    let db_range = db_range(analysis, colors);
    let sr = analysis.clip.sample_rate_hz as f64;

    // Waveform.
    let wave_params = WaveformParams {
        samples: [(window.time_secs[0] * sr) as f32, (window.time_secs[1] * sr) as f32],
        amplitude: window.amplitude,
        color: WAVE_COLOR,
        axis_color: AXIS_COLOR,
    };
    painter.rect_filled(rects[0], 2.0, Color32::from_gray(20));
    painter.add(view_shape(rects[0], sources.slots[0], SlotParams::Waveform(wave_params)));
    // Spectrograms.
    for (rect, view) in [(rects[1], View::Stft), (rects[2], View::Cqt)] {
        let spec = analysis.view(view);
        let bins = bin_window(spec, view, window);
        let params = SpectrogramParams {
            frames: [spec.secs_to_frame(window.time_secs[0]) as f32, spec.secs_to_frame(window.time_secs[1]) as f32],
            bins: [bins[0] as f32, bins[1] as f32],
            db_range,
            colormap: colors.colormap,
            overlay_opacity: sources.overlay_opacity,
        };
        painter.rect_filled(rect, 2.0, Color32::from_gray(12));
        let slot = if view == View::Stft { sources.slots[1] } else { sources.slots[2] };
        painter.add(view_shape(rect, slot, SlotParams::Spectrogram(params)));
    }
    if let (Some(delta), Some(delta_rects)) = (&sources.delta, delta_rects) {
        for (rect, spec, view, slot) in [
            (delta_rects[0], delta.stft, View::Stft, Slot::DeltaStft),
            (delta_rects[1], delta.cqt, View::Cqt, Slot::DeltaCqt),
        ] {
            let bins = bin_window(spec, view, window);
            let params = SpectrogramParams {
                frames: [
                    spec.secs_to_frame(window.time_secs[0]) as f32,
                    spec.secs_to_frame(window.time_secs[1]) as f32,
                ],
                bins: [bins[0] as f32, bins[1] as f32],
                db_range: [-delta.range_db, delta.range_db],
                colormap: Colormap::RedBlue,
                overlay_opacity: 0.0,
            };
            painter.rect_filled(rect, 2.0, Color32::from_gray(12));
            painter.add(view_shape(rect, slot, SlotParams::Spectrogram(params)));
        }
    }

    // Titles, axes.
    let degraded = sources.slots[0] != Slot::Waveform;
    let titles: &[&str] = if degraded {
        &["Waveform (B: degraded)", "STFT (B: degraded)", "CQT (B: degraded)"]
    } else if sources.delta.is_some() {
        &["Waveform (A: clean)", "STFT (A: clean)", "CQT (A: clean)"]
    } else {
        &["Waveform", "STFT  1024 / 256, Hz", "CQT  96 bins/oct from C1"]
    };
    let delta_titles = ["Δ STFT  degraded - clean, dB", "Δ CQT  degraded - clean, dB"];
    let titled: Vec<(Rect, &str)> = rects
        .iter()
        .copied()
        .zip(titles.iter().copied())
        .chain(delta_rects.iter().flatten().copied().zip(delta_titles))
        .collect();
    for (rect, title) in &titled {
        // On a dark backing: the diverging map is white where nothing changed.
        let galley =
            painter.layout_no_wrap(title.to_string(), FontId::proportional(12.0), Color32::from_white_alpha(220));
        let at = rect.left_top() + Vec2::new(6.0, 4.0);
        painter.rect_filled(Rect::from_min_size(at, galley.size()).expand(2.0), 2.0, Color32::from_black_alpha(150));
        painter.galley(at, galley, Color32::WHITE);
    }
    amplitude_axis(&painter, rects[0], window.amplitude);
    stft_axis(&painter, rects[1], &analysis.stft, bin_window(&analysis.stft, View::Stft, window));
    cqt_axis(&painter, rects[2], bin_window(&analysis.cqt, View::Cqt, window));
    if let Some(d) = delta_rects {
        stft_axis(&painter, d[0], &analysis.stft, bin_window(&analysis.stft, View::Stft, window));
        cqt_axis(&painter, d[1], bin_window(&analysis.cqt, View::Cqt, window));
    }
    time_axis(&painter, plot, window.time_secs, &secs_to_x);

    // Interaction: one response per view so drags and hovers know their view.
    let names = ["waveform", "STFT", "CQT", "Δ STFT", "Δ CQT"];
    for (i, rect) in all_rects.iter().enumerate() {
        let response = ui.interact(*rect, egui::Id::unique(("timbrescope view", i)), Sense::click_and_drag());
        if let Some(pos) = response.hover_pos() {
            let t = x_to_secs(pos.x);
            out.hover.time_secs = Some(t);
            out.hover.view = Some(names[i]);
            if i == 0 {
                let sample = (t * sr).round();
                if sample >= 0.0 && (sample as usize) < analysis.clip.samples.len() {
                    let v = analysis.clip.samples[sample as usize];
                    out.hover.sample_value = Some(v);
                    out.hover.level_db = Some(crate::dsp::db::amplitude_to_db(v.abs()));
                }
            } else {
                let view = if i % 2 == 1 { View::Stft } else { View::Cqt };
                let spec = analysis.view(view);
                let bins = bin_window(spec, view, window);
                let bin = bins[0] + (rect.bottom() - pos.y) as f64 / rect.height() as f64 * (bins[1] - bins[0]);
                out.hover.freq_hz = Some(spec.bin_to_hz(bin.max(0.0)));
                let frame = spec.secs_to_frame(t).round();
                let b = bin.round();
                if frame >= 0.0 && (frame as usize) < spec.frames && b >= 0.0 && (b as usize) < spec.bins {
                    let (frame, b) = (frame as usize, b as usize);
                    out.hover.level_db = Some(spec.get(b, frame));
                    if let Some(delta) = &sources.delta {
                        let d = if view == View::Stft { delta.stft } else { delta.cqt };
                        out.hover.delta_db = Some(d.get(b, frame));
                    }
                }
            }
            // Wheel: zoom time around the pointer; Ctrl+wheel (or pinch): zoom frequency here.
            let (scroll, zoom, modifiers) = ui.input(|inp| (inp.smooth_scroll_delta, inp.zoom_delta(), inp.modifiers));
            if zoom != 1.0 && i > 0 {
                let view = if i % 2 == 1 { View::Stft } else { View::Cqt };
                let anchor = 1.0 - ((pos.y - rect.top()) / rect.height()) as f64;
                zoom_frequency(window, analysis, view, 1.0 / zoom as f64, anchor);
            } else if zoom != 1.0 {
                window.amplitude = (window.amplitude / zoom).clamp(1e-3, 4.0);
            } else if modifiers.shift && scroll.y != 0.0 {
                let span = window.time_secs[1] - window.time_secs[0];
                window.pan_time(-(scroll.y as f64) / plot.width() as f64 * span, duration);
            } else if scroll.y != 0.0 {
                window.zoom_time((-(scroll.y as f64) * 0.003).exp(), t, duration);
            }
        }
        if response.dragged() {
            let delta = response.drag_delta();
            let span = window.time_secs[1] - window.time_secs[0];
            window.pan_time(-(delta.x as f64) / plot.width() as f64 * span, duration);
            if i > 0 && delta.y != 0.0 {
                let view = if i % 2 == 1 { View::Stft } else { View::Cqt };
                pan_frequency(window, analysis, view, delta.y as f64 / rect.height() as f64);
            }
        }
        if response.double_clicked() {
            *window = ViewWindow::fit(analysis);
        } else if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            out.seek_secs = Some(x_to_secs(pos.x).clamp(0.0, duration));
        }
    }

    // Hover line and playhead across every view.
    if let Some(t) = out.hover.time_secs {
        let x = secs_to_x(t);
        painter.line_segment(
            [Pos2::new(x, plot.top()), Pos2::new(x, plot.bottom())],
            Stroke::new(1.0, Color32::from_white_alpha(70)),
        );
    }
    if let Some(t) = playhead_secs {
        let x = secs_to_x(t);
        if (plot.left()..=plot.right()).contains(&x) {
            painter.line_segment(
                [Pos2::new(x, plot.top()), Pos2::new(x, plot.bottom())],
                Stroke::new(1.5, Color32::from_rgb(255, 210, 60)),
            );
        }
    }
    out
}

/// The dB mapped to the colormap's ends: `range_db` below the clip's maximum (plus an offset).
pub fn db_range(analysis: &Analysis, colors: &ColorSettings) -> [f32; 2] {
    let top = analysis.max_db.ceil() + colors.top_offset_db;
    [top - colors.range_db.max(1.0), top]
}

/// Visible fractional bins of a view.
pub fn bin_window(spec: &Spectrogram, view: View, window: &ViewWindow) -> [f64; 2] {
    match view {
        View::Stft => [spec.hz_to_bin(window.stft_hz[0]), spec.hz_to_bin(window.stft_hz[1])],
        View::Cqt => window.cqt_bins,
    }
}

fn zoom_frequency(window: &mut ViewWindow, analysis: &Analysis, view: View, factor: f64, anchor: f64) {
    let spec = analysis.view(view);
    let [lo, hi] = bin_window(spec, view, window);
    let span = ((hi - lo) * factor).clamp(4.0, spec.bins as f64);
    let center = lo + anchor * (hi - lo);
    let new_lo = (center - anchor * span).clamp(-0.5, spec.bins as f64 - 0.5 - span);
    set_bins(window, analysis, view, [new_lo, new_lo + span]);
}

fn pan_frequency(window: &mut ViewWindow, analysis: &Analysis, view: View, fraction: f64) {
    let spec = analysis.view(view);
    let [lo, hi] = bin_window(spec, view, window);
    let span = hi - lo;
    let new_lo = (lo + fraction * span).clamp(-0.5, (spec.bins as f64 - 0.5 - span).max(-0.5));
    set_bins(window, analysis, view, [new_lo, new_lo + span]);
}

fn set_bins(window: &mut ViewWindow, analysis: &Analysis, view: View, bins: [f64; 2]) {
    match view {
        View::Stft => window.stft_hz = [analysis.stft.bin_to_hz(bins[0]).max(0.0), analysis.stft.bin_to_hz(bins[1])],
        View::Cqt => window.cqt_bins = bins,
    }
}

pub(crate) mod axes;

pub use axes::nice_step;
use axes::{amplitude_axis, cqt_axis, stft_axis, time_axis};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hover_read_out_names_the_note() {
        let hover = Hover {
            time_secs: Some(1.5),
            freq_hz: Some(446.0),
            level_db: Some(-12.34),
            sample_value: None,
            delta_db: None,
            view: Some("CQT"),
        };
        assert_eq!(hover.describe(), "CQT   t = 1.500 s   f = 446.0 Hz (A4 +23¢)   -12.3 dB");
    }

    #[test]
    fn zoom_keeps_the_anchor_and_stays_in_the_clip() {
        let mut w =
            ViewWindow { time_secs: [0.0, 4.0], stft_hz: [0.0, 8000.0], cqt_bins: [-0.5, 760.5], amplitude: 1.0 };
        w.zoom_time(0.5, 1.0, 4.0);
        // 1 s was a quarter of the way across and stays there: [0.5, 2.5].
        assert!((w.time_secs[0] - 0.5).abs() < 1e-9 && (w.time_secs[1] - 2.5).abs() < 1e-9, "{:?}", w.time_secs);
        w.pan_time(-10.0, 4.0);
        assert!(
            w.time_secs[0] >= -0.05 - 1e-9 && (w.time_secs[1] - w.time_secs[0] - 2.0).abs() < 1e-9,
            "{:?}",
            w.time_secs
        );
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(4.0, 8.0), 0.5);
        assert_eq!(nice_step(8000.0, 10.0), 1000.0);
        assert_eq!(nice_step(0.03, 6.0), 0.005);
    }
}
