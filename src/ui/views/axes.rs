//! The views' axes: time along the bottom, amplitude beside the waveform, Hz beside the STFT and
//! note names beside the CQT, with ticks at round steps.

use eframe::egui::{self, Align2, Color32, FontId, Pos2, Rect, Stroke};

use crate::dsp::Spectrogram;
use crate::dsp::notes::midi_name;

fn label(painter: &egui::Painter, pos: Pos2, align: Align2, text: impl ToString) {
    painter.text(pos, align, text.to_string(), FontId::monospace(10.5), Color32::from_gray(170));
}

/// A 1-2-5 step giving about `target` ticks over `span`.
pub fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(1e-12);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude)
}

pub(crate) fn time_axis(painter: &egui::Painter, plot: Rect, time: [f64; 2], secs_to_x: &dyn Fn(f64) -> f32) {
    let step = nice_step(time[1] - time[0], (plot.width() / 90.0).max(2.0) as f64);
    let mut t = (time[0] / step).ceil() * step;
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    while t <= time[1] {
        let x = secs_to_x(t);
        painter.line_segment(
            [Pos2::new(x, plot.bottom()), Pos2::new(x, plot.bottom() + 4.0)],
            Stroke::new(1.0, Color32::GRAY),
        );
        label(painter, Pos2::new(x, plot.bottom() + 4.0), Align2::CENTER_TOP, format!("{t:.decimals$}"));
        t += step;
    }
    label(painter, Pos2::new(plot.left() - 16.0, plot.bottom() + 4.0), Align2::RIGHT_TOP, "s");
}

pub(crate) fn amplitude_axis(painter: &egui::Painter, rect: Rect, amplitude: f32) {
    for v in [amplitude, 0.0, -amplitude] {
        let y = rect.center().y - v / amplitude * rect.height() / 2.0;
        label(
            painter,
            Pos2::new(rect.left() - 4.0, y.clamp(rect.top() + 6.0, rect.bottom() - 6.0)),
            Align2::RIGHT_CENTER,
            format!("{v:+.2}"),
        );
    }
}

pub(crate) fn stft_axis(painter: &egui::Painter, rect: Rect, spec: &Spectrogram, bins: [f64; 2]) {
    let (lo, hi) = (spec.bin_to_hz(bins[0]), spec.bin_to_hz(bins[1]));
    let step = nice_step(hi - lo, (rect.height() / 40.0).max(2.0) as f64);
    let mut f = (lo / step).ceil() * step;
    while f <= hi {
        let y = rect.bottom() - ((spec.hz_to_bin(f) - bins[0]) / (bins[1] - bins[0])) as f32 * rect.height();
        let text = if f >= 1000.0 { format!("{:.1}k", f / 1000.0) } else { format!("{f:.0}") };
        tick(painter, rect, y, text);
        f += step;
    }
}

/// Note names on the CQT: every C, or every semitone when zoomed in far enough to read them.
pub(crate) fn cqt_axis(painter: &egui::Painter, rect: Rect, bins: [f64; 2]) {
    const BINS_PER_SEMITONE: f64 = 8.0;
    const C1_MIDI: i32 = 24;
    let px_per_semitone = rect.height() as f64 / (bins[1] - bins[0]) * BINS_PER_SEMITONE;
    let every = if px_per_semitone >= 13.0 {
        1
    } else if px_per_semitone >= 3.5 {
        3
    } else {
        12
    };
    let first = (bins[0] / BINS_PER_SEMITONE).ceil() as i32;
    let last = (bins[1] / BINS_PER_SEMITONE).floor() as i32;
    for semitone in first..=last {
        if semitone.rem_euclid(every) != 0 {
            continue;
        }
        let bin = semitone as f64 * BINS_PER_SEMITONE;
        let y = rect.bottom() - ((bin - bins[0]) / (bins[1] - bins[0])) as f32 * rect.height();
        tick(painter, rect, y, midi_name(C1_MIDI + semitone));
    }
}

fn tick(painter: &egui::Painter, rect: Rect, y: f32, text: String) {
    if y < rect.top() - 0.5 || y > rect.bottom() + 0.5 {
        return;
    }
    painter.line_segment([Pos2::new(rect.left() - 3.0, y), Pos2::new(rect.left(), y)], Stroke::new(1.0, Color32::GRAY));
    label(painter, Pos2::new(rect.left() - 5.0, y), Align2::RIGHT_CENTER, text);
}
