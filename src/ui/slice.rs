//! The spectrum at one instant: the STFT and CQT columns in dB against pitch (egui_plot).

use eframe::egui;
use egui_plot::{GridMark, Legend, Line, Plot, PlotPoints};

use crate::dsp::notes::{hz_to_midi, midi_name};
use crate::dsp::{Spectrogram, View};
use crate::jobs::Analysis;

/// Points (MIDI pitch, dB) of the frame nearest `time_secs`; the DC bin has no pitch.
fn column(spec: &Spectrogram, time_secs: f64) -> Vec<[f64; 2]> {
    let frame = spec.secs_to_frame(time_secs).round().clamp(0.0, spec.frames.saturating_sub(1) as f64) as usize;
    (1..spec.bins).map(|k| [hz_to_midi(spec.bin_to_hz(k as f64)), spec.get(k, frame) as f64]).collect()
}

pub fn slice_ui(ui: &mut egui::Ui, analysis: &Analysis, time_secs: f64, db_range: [f32; 2]) {
    ui.label(format!("Spectrum at {time_secs:.3} s"));
    let lowest = hz_to_midi(analysis.cqt.bin_to_hz(0.0)).floor();
    Plot::new("spectrum slice")
        .legend(Legend::default())
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .include_x(lowest)
        .include_x(hz_to_midi(analysis.stft.bin_to_hz(analysis.stft.bins as f64 - 1.0)))
        .include_y(db_range[0] as f64)
        .include_y(db_range[1] as f64)
        // Grid lines every semitone, thicker every octave; labels on the Cs.
        .x_grid_spacer(|input| {
            let (lo, hi) = (input.bounds.0.ceil() as i32, input.bounds.1.floor() as i32);
            (lo..=hi)
                .map(|m| GridMark { value: m as f64, step_size: if m.rem_euclid(12) == 0 { 12.0 } else { 1.0 } })
                .collect()
        })
        .x_axis_formatter(|mark, _| {
            let midi = mark.value.round();
            if (mark.value - midi).abs() < 1e-6 && (midi as i32).rem_euclid(12) == 0 {
                midi_name(midi as i32)
            } else {
                String::new()
            }
        })
        .y_axis_label("dB")
        .show(ui, |plot| {
            for view in [View::Stft, View::Cqt] {
                let points = column(analysis.view(view), time_secs);
                plot.line(Line::new(view.label(), PlotPoints::from(points)));
            }
        });
}
