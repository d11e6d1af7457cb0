//! The live views: waveform, STFT and CQT drawn from their GPU rings over the window's stretch
//! of stream time, the note under the pointer, the stretch selected for keeping, and a strip of
//! the model's winning instrument over time.

use eframe::egui::{self, Align2, Color32, FontId, Pos2, Rect, Sense, Stroke, Vec2};

use super::window::LiveWindow;
use crate::audio::ANALYSIS_RATE_HZ;
use crate::dsp::notes::hz_to_note;
use crate::dsp::{FrequencyAxis, Scale, Spectrogram};
use crate::live::{ENVELOPE_BLOCK, LivePrediction, PREDICTION_HOP_SECS};
use crate::render::{EnvelopeParams, SpectrogramParams};
use crate::ui::embedding_map::{category_color, text_color_on};
use crate::ui::gpu_views::{Slot, SlotParams, view_shape};
use crate::ui::views::axes::{amplitude_axis, cqt_axis, stft_axis, time_axis};
use crate::ui::views::{AXIS_COLOR, ColorSettings, GAP_PX, GUTTER_PX, TIME_AXIS_PX, WAVE_COLOR};

/// The live STFT's and CQT's grids (the workbench's defaults).
const N_FFT: usize = 1024;
const HOP: usize = 256;
const STRIP_PX: f32 = 30.0;

/// What the views draw besides their rings.
pub struct LiveView<'a> {
    pub now_secs: f64,
    pub oldest_secs: f64,
    /// Where the CQT's final columns end: those after are provisional (the future heard as
    /// silence) until half a kernel of audio has come.
    pub cqt_final_secs: f64,
    /// The loudest recent dB of the STFT and the CQT: the top of their colour ranges.
    pub top_db: [f32; 2],
    /// How strongly the saliency tints the STFT and CQT (0: not at all).
    pub overlay_opacity: f32,
    pub predictions: &'a [LivePrediction],
    pub classes: &'a [String],
}

/// Where the views were drawn, for tests and for the caller's overlays.
pub struct LiveViewsResponse {
    /// Waveform, STFT, CQT and the strip.
    pub rects: [Rect; 4],
    pub time_secs: [f64; 2],
}

fn stft_grid() -> Spectrogram {
    Spectrogram {
        bins: N_FFT / 2 + 1,
        frames: 0,
        values: Vec::new(),
        hop_len: HOP,
        sample_rate_hz: ANALYSIS_RATE_HZ,
        axis: FrequencyAxis::Linear { n_fft: N_FFT },
        scale: Scale::Db,
    }
}

pub fn live_views_ui(
    ui: &mut egui::Ui,
    gpu: bool,
    view: &LiveView<'_>,
    window: &mut LiveWindow,
    colors: &ColorSettings,
) -> LiveViewsResponse {
    let full = ui.available_rect_before_wrap();
    let plot = Rect::from_min_max(
        Pos2::new(full.left() + GUTTER_PX, full.top()),
        Pos2::new(full.right() - 16.0, full.bottom() - TIME_AXIS_PX - STRIP_PX - GAP_PX),
    );
    let usable = (plot.height() - 2.0 * GAP_PX).max(30.0);
    let mut top = plot.top();
    let mut rects = [Rect::NOTHING; 4];
    for (k, share) in [0.2, 0.4, 0.4].into_iter().enumerate() {
        let h = share * usable;
        rects[k] = Rect::from_min_size(Pos2::new(plot.left(), top), Vec2::new(plot.width(), h));
        top += h + GAP_PX;
    }
    rects[3] = Rect::from_min_max(
        Pos2::new(plot.left(), plot.bottom() + TIME_AXIS_PX + GAP_PX),
        Pos2::new(plot.right(), full.bottom()),
    );
    ui.allocate_rect(full, Sense::hover());
    let painter = ui.painter_at(full);
    let time = window.time_secs(view.now_secs, view.oldest_secs);
    let secs_to_x = |t: f64| plot.left() + ((t - time[0]) / (time[1] - time[0])) as f32 * plot.width();
    let x_to_secs = |x: f32| time[0] + ((x - plot.left()) / plot.width()) as f64 * (time[1] - time[0]);
    let rate = f64::from(ANALYSIS_RATE_HZ);
    let frames = [(time[0] * rate / HOP as f64) as f32, (time[1] * rate / HOP as f64) as f32];
    let stft = stft_grid();
    let stft_bins = [stft.hz_to_bin(window.stft_hz[0]), stft.hz_to_bin(window.stft_hz[1])];

    // With the GPU, the views draw their own backing (one fill a pixel, not two).
    if !gpu {
        for rect in &rects[..3] {
            painter.rect_filled(*rect, 2.0, Color32::from_gray(20));
        }
    }
    if gpu {
        let wave = EnvelopeParams {
            blocks: [(time[0] * rate) as f32 / ENVELOPE_BLOCK as f32, (time[1] * rate) as f32 / ENVELOPE_BLOCK as f32],
            amplitude: window.amplitude,
            color: WAVE_COLOR,
            axis_color: AXIS_COLOR,
        };
        painter.add(view_shape(rects[0], Slot::LiveWaveform, SlotParams::Envelope(wave)));
        for (k, (rect, slot, bins)) in
            [(rects[1], Slot::LiveStft, stft_bins), (rects[2], Slot::LiveCqt, window.cqt_bins)].into_iter().enumerate()
        {
            let top = view.top_db[k].ceil() + colors.top_offset_db;
            let params = SpectrogramParams {
                frames,
                bins: [bins[0] as f32, bins[1] as f32],
                db_range: [top - colors.range_db.max(1.0), top],
                colormap: colors.colormap,
                overlay_opacity: view.overlay_opacity,
            };
            painter.add(view_shape(rect, slot, SlotParams::Spectrogram(params)));
        }
    }

    let state = if window.frozen_at.is_some() { "FROZEN (Space follows)" } else { "LIVE (Space freezes)" };
    let titles = [format!("Waveform  {state}"), "STFT  1024 / 256, Hz".into(), "CQT  96 bins/oct from C1".into()];
    for (rect, title) in rects.iter().zip(titles) {
        let galley = painter.layout_no_wrap(title, FontId::proportional(12.0), Color32::from_white_alpha(220));
        let at = rect.left_top() + Vec2::new(6.0, 4.0);
        painter.rect_filled(Rect::from_min_size(at, galley.size()).expand(2.0), 2.0, Color32::from_black_alpha(150));
        painter.galley(at, galley, Color32::WHITE);
    }
    provisional_mark(&painter, rects[2], secs_to_x(view.cqt_final_secs));
    amplitude_axis(&painter, rects[0], window.amplitude);
    stft_axis(&painter, rects[1], &stft, stft_bins);
    cqt_axis(&painter, rects[2], window.cqt_bins);
    time_axis(&painter, plot, time, &secs_to_x);
    strip_ui(&painter, rects[3], view, time, &secs_to_x);

    // The selection to keep, over every view.
    if let Some([a, b]) = window.selection {
        let (x0, x1) = (secs_to_x(a).max(plot.left()), secs_to_x(b).min(plot.right()));
        if x1 > x0 {
            let r = Rect::from_min_max(Pos2::new(x0, plot.top()), Pos2::new(x1, plot.bottom()));
            painter.rect_filled(r, 0.0, Color32::from_rgba_unmultiplied(255, 210, 60, 40));
        }
    }
    // Interaction: drag on the waveform selects; drag on the spectrograms scrolls back; the
    // wheel zooms time (Shift: scrolls).
    for (i, rect) in rects[..3].iter().enumerate() {
        let response = ui.interact(*rect, egui::Id::unique(("timbrescope live view", i)), Sense::click_and_drag());
        if let Some(pos) = response.hover_pos() {
            let t = x_to_secs(pos.x);
            painter.line_segment(
                [Pos2::new(pos.x, plot.top()), Pos2::new(pos.x, plot.bottom())],
                Stroke::new(1.0, Color32::from_white_alpha(70)),
            );
            let mut text = format!("{:.2} s", t - view.now_secs);
            if i > 0 {
                let up = ((rect.bottom() - pos.y) / rect.height()) as f64;
                let hz = if i == 1 {
                    stft.bin_to_hz(stft_bins[0] + up * (stft_bins[1] - stft_bins[0]))
                } else {
                    let bin = window.cqt_bins[0] + up * (window.cqt_bins[1] - window.cqt_bins[0]);
                    32.703 * 2f64.powf(bin / 96.0)
                };
                let note = hz_to_note(hz).map(|(n, c)| format!("  {n} {c:+.0}¢")).unwrap_or_default();
                text = format!("{text}   {hz:.1} Hz{note}");
            }
            let galley = painter.layout_no_wrap(text, FontId::monospace(11.0), Color32::WHITE);
            let at = Pos2::new((pos.x + 10.0).min(rect.right() - galley.size().x - 4.0), pos.y - galley.size().y - 6.0);
            painter.rect_filled(
                Rect::from_min_size(at, galley.size()).expand(2.0),
                2.0,
                Color32::from_black_alpha(180),
            );
            painter.galley(at, galley, Color32::WHITE);
            let (scroll, modifiers) = ui.input(|inp| (inp.smooth_scroll_delta, inp.modifiers));
            if modifiers.shift && scroll.y != 0.0 {
                let span = time[1] - time[0];
                window.scroll(-(scroll.y as f64) / plot.width() as f64 * span, view.now_secs, view.oldest_secs);
            } else if scroll.y != 0.0 {
                window.zoom((-(scroll.y as f64) * 0.003).exp());
            }
        }
        if i == 0 {
            if response.drag_started()
                && let Some(pos) = response.interact_pointer_pos()
            {
                let t = x_to_secs(pos.x);
                window.selection = Some([t, t]);
            }
            if response.dragged()
                && let (Some(pos), Some(sel)) = (response.interact_pointer_pos(), window.selection.as_mut())
            {
                sel[1] = x_to_secs(pos.x);
            }
            if response.drag_stopped()
                && let Some([a, b]) = window.selection
            {
                window.selection = (a != b).then_some([a.min(b), a.max(b)]);
            }
        } else if response.dragged() {
            let span = time[1] - time[0];
            let dx = response.drag_delta().x as f64;
            window.scroll(-dx / plot.width() as f64 * span, view.now_secs, view.oldest_secs);
        }
    }
    LiveViewsResponse { rects, time_secs: time }
}

/// The CQT's provisional columns, right of `x`: a dashed line where they start and a label.
fn provisional_mark(painter: &egui::Painter, rect: Rect, x: f32) {
    if !(rect.left()..rect.right()).contains(&x) {
        return;
    }
    let color = Color32::from_white_alpha(110);
    let dashes = egui::Shape::dashed_line(
        &[Pos2::new(x, rect.top() + 22.0), Pos2::new(x, rect.bottom())],
        egui::Stroke::new(1.0, color),
        4.0,
        4.0,
    );
    painter.extend(dashes);
    let galley = painter.layout_no_wrap("provisional".into(), FontId::proportional(10.0), color);
    if x + 4.0 + galley.size().x < rect.right() {
        painter.galley(Pos2::new(x + 4.0, rect.top() + 22.0), galley, color);
    }
}

/// The winning instrument of each hop's prediction, coloured by instrument, named where it
/// changes.
fn strip_ui(painter: &egui::Painter, rect: Rect, view: &LiveView<'_>, time: [f64; 2], secs_to_x: &dyn Fn(f64) -> f32) {
    let backing = Color32::from_gray(12);
    painter.rect_filled(rect, 2.0, backing);
    if view.classes.is_empty() {
        painter.text(
            rect.left_center() + Vec2::new(4.0, 0.0),
            Align2::LEFT_CENTER,
            "no model: views only",
            FontId::proportional(11.0),
            Color32::GRAY,
        );
        return;
    }
    // Each hop's fill first, then a label for each run of hops with the same winner, clipped to
    // its run so that neither the next fill nor the next label covers it.
    let mut runs: Vec<(f32, f32, &str, Color32)> = Vec::new();
    for p in view.predictions.iter().filter(|p| p.at_secs >= time[0] && p.at_secs - PREDICTION_HOP_SECS <= time[1]) {
        let Some((name, prob)) = p.top.first() else { continue };
        let class = view.classes.iter().position(|c| c == name).unwrap_or(0);
        let (x0, x1) =
            (secs_to_x(p.at_secs - PREDICTION_HOP_SECS).max(rect.left()), secs_to_x(p.at_secs).min(rect.right()));
        if x1 <= x0 {
            continue;
        }
        let color = category_color(class, view.classes.len()).gamma_multiply(0.35 + 0.65 * prob.clamp(0.0, 1.0));
        painter.rect_filled(
            Rect::from_min_max(Pos2::new(x0, rect.top() + 2.0), Pos2::new(x1, rect.bottom() - 2.0)),
            0.0,
            color,
        );
        match runs.last_mut() {
            Some(run) if run.2 == name.as_str() => run.1 = x1,
            _ => runs.push((x0, x1, name.as_str(), backing.blend(color))),
        }
    }
    for (x0, x1, name, fill) in runs {
        let clip = Rect::from_min_max(Pos2::new(x0, rect.top()), Pos2::new(x1, rect.bottom()));
        painter.with_clip_rect(clip.intersect(painter.clip_rect())).text(
            Pos2::new(x0 + 2.0, rect.center().y),
            Align2::LEFT_CENTER,
            name.replace('_', " "),
            FontId::proportional(11.0),
            text_color_on(fill),
        );
    }
    let galley = painter.layout_no_wrap("winning instrument".into(), FontId::proportional(10.0), Color32::GRAY);
    painter.galley(
        Pos2::new(rect.left() - galley.size().x - 6.0, rect.center().y - galley.size().y / 2.0),
        galley,
        Color32::GRAY,
    );
}
