//! The prediction panel: the model's top classes for the clip in the views, clean and degraded
//! side by side, so a moving slider shows where the prediction flips.

use std::sync::Arc;

use eframe::egui::{self, Color32};

use crate::jobs::predict::AnswerRows;
use crate::learn::explanation::activity::Activity;
use crate::learn::explanation::saliency::Explanation;
use crate::learn::{ModelSource, Prediction};

pub struct PredictPanel {
    pub model: Option<ModelSource>,
    pub summary: Option<String>,
    /// The model's primary classes (instruments, or NSynth's families).
    pub classes: Vec<String>,
    pub clean: Option<Prediction>,
    pub degraded: Option<Prediction>,
    pub pending: [Option<u64>; 2],
    pub millis: Option<f64>,
    pub error: Option<String>,
    /// Show where the model finds its evidence over the STFT and CQT.
    pub saliency: bool,
    pub saliency_opacity: f32,
    /// What an answer of the loaded model shows: its room is kept before the first answer
    /// comes, so the panels below do not move when it does.
    pub answer_rows: AnswerRows,
    /// The tallest the answers have been drawn, in points: kept too, for the same reason.
    answer_height: f32,
    /// The class explained; the top prediction when None.
    pub saliency_class: Option<usize>,
    /// The latest saliency of each version (clean, degraded), and how long the last one took.
    pub explained: [Option<Arc<Explanation>>; 2],
    pub saliency_millis: Option<f64>,
    /// Per-class presence over sliding windows of the clean clip.
    pub activity: Option<Arc<Activity>>,
}

impl Default for PredictPanel {
    fn default() -> Self {
        Self {
            model: None,
            summary: None,
            classes: Vec::new(),
            clean: None,
            degraded: None,
            pending: [None, None],
            millis: None,
            error: None,
            saliency: false,
            saliency_opacity: 0.6,
            saliency_class: None,
            explained: [None, None],
            // The shipped model's answer (four heads and the multi-label head) until a model says.
            answer_rows: AnswerRows::of(4, true),
            answer_height: 0.0,
            saliency_millis: None,
            activity: None,
        }
    }
}

pub struct PredictResponse {
    pub load_model: bool,
    /// The saliency was turned on or its class changed: explain again.
    pub saliency_changed: bool,
}

impl PredictPanel {
    pub fn ui(&mut self, ui: &mut egui::Ui, chain_on: bool) -> PredictResponse {
        let mut response = PredictResponse { load_model: false, saliency_changed: false };
        ui.horizontal(|ui| {
            ui.heading("Prediction");
            if self.pending.iter().any(Option::is_some) {
                ui.spinner();
            }
        });
        ui.horizontal(|ui| {
            let name = self.model.as_ref().map_or("no model".into(), ModelSource::name);
            let label = ui.label(name);
            if let Some(s) = &self.summary {
                label.on_hover_text(s);
            }
            response.load_model =
                ui.button("Load model…").on_hover_text("A .safetensors from a training run").clicked();
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let columns: Vec<(&str, &Prediction)> =
            [("clean", self.clean.as_ref()), ("degraded", self.degraded.as_ref().filter(|_| chain_on))]
                .into_iter()
                .filter_map(|(name, p)| p.map(|p| (name, p)))
                .collect();
        if columns.is_empty() && self.model.is_none() {
            return response;
        }
        // The answers' room, as tall as an answer of this model will be (or the tallest drawn).
        let gap = ui.spacing().item_spacing.y;
        let (title, small) =
            (ui.text_style_height(&egui::TextStyle::Body), ui.text_style_height(&egui::TextStyle::Small));
        let rows = self.answer_rows;
        let room = title + gap + rows.bars as f32 * (BAR_HEIGHT + gap) + rows.lines as f32 * (small + gap);
        let reserve = room.max(self.answer_height);
        let answers = ui.vertical(|ui| {
            ui.set_min_height(reserve);
            if columns.is_empty() {
                ui.label("Open a clip to see what the model hears.");
                return;
            }
            ui.columns(columns.len(), |cols| {
                for (col, (name, prediction)) in cols.iter_mut().zip(&columns) {
                    col.strong(*name);
                    prediction_ui(col, prediction);
                }
            });
            if let Some(ms) = self.millis {
                ui.small(format!("{ms:.0} ms per prediction"));
            }
        });
        self.answer_height = self.answer_height.max(answers.response.rect.height());
        self.saliency_ui(ui, &mut response);
        response
    }

    fn saliency_ui(&mut self, ui: &mut egui::Ui, response: &mut PredictResponse) {
        ui.horizontal(|ui| {
            let hint = "Where the model finds its evidence for the class: integrated gradients over its STFT and \
                        CQT inputs, green for the class and blue against it (on the B side, the degraded clip's)";
            response.saliency_changed |= ui.checkbox(&mut self.saliency, "saliency").on_hover_text(hint).changed();
            ui.add_enabled(
                self.saliency,
                egui::Slider::new(&mut self.saliency_opacity, 0.0..=1.0).text("opacity").fixed_decimals(2),
            );
        });
        if !self.saliency {
            return;
        }
        let name = |c: Option<usize>| match c {
            None => "the top prediction".to_owned(),
            Some(c) => self.classes.get(c).cloned().unwrap_or_default(),
        };
        let mut class = self.saliency_class;
        egui::ComboBox::from_label("explained").selected_text(name(class)).show_ui(ui, |ui| {
            ui.selectable_value(&mut class, None, name(None));
            for (i, c) in self.classes.iter().enumerate() {
                ui.selectable_value(&mut class, Some(i), c);
            }
        });
        if class != self.saliency_class {
            self.saliency_class = class;
            response.saliency_changed = true;
        }
        if let (Some(e), Some(ms)) = (&self.explained[0], self.saliency_millis) {
            ui.small(format!("{} at {:.0}%, saliency in {ms:.0} ms", e.class_name, 100.0 * e.probability));
        }
    }
}

/// The primary head (the instrument, or NSynth's family) as bars, the other heads as lines; the
/// qualities whose own probability passes one half.
/// A class as the panel writes it: without the head's name repeated ("velocity 25" under
/// "velocity"), and a MIDI pitch with its note name.
fn class_text(head: &str, label: &str) -> String {
    let label = label.strip_prefix(head).map_or(label, str::trim_start);
    match label.parse::<i32>() {
        Ok(midi) if head == "pitch" => format!("{midi} ({})", crate::dsp::notes::midi_name(midi)),
        _ => label.to_owned(),
    }
}

/// The height of a class's bar.
const BAR_HEIGHT: f32 = 14.0;

/// An instrument counts as heard by the multi-label head at this probability.
pub const PRESENT: f32 = 0.5;

fn prediction_ui(ui: &mut egui::Ui, prediction: &Prediction) {
    let Some((primary, rest)) = prediction.heads.split_first() else { return };
    if let Some(multi) = &prediction.multi {
        // Every instrument the multi-label head hears, each with its own probability.
        let present = multi.present(0, PRESENT);
        ui.small(format!("heard (each at least {:.0}%):", 100.0 * PRESENT));
        if present.is_empty() {
            ui.small("nothing");
        }
        for (label, p) in &present {
            let bar = egui::ProgressBar::new(*p).text(format!("{label} {:.0}%", 100.0 * p)).desired_height(BAR_HEIGHT);
            ui.add(bar.fill(Color32::from_rgb(60, 110, 150)));
        }
        let families: Vec<String> =
            multi.present(1, PRESENT).iter().map(|(f, p)| format!("{f} ({:.0}%)", 100.0 * p)).collect();
        if !families.is_empty() {
            ui.small(format!("families: {}", families.join(", ")));
        }
        ui.small("most likely alone:");
    }
    for (label, p) in primary.top.iter().take(3) {
        let bar = egui::ProgressBar::new(*p).text(format!("{label} {:.0}%", 100.0 * p)).desired_height(BAR_HEIGHT);
        ui.add(if *p > 0.5 { bar.fill(Color32::from_rgb(60, 140, 70)) } else { bar });
    }
    for head in rest {
        if head.head == "qualities" {
            let held: Vec<String> =
                head.top.iter().filter(|(_, p)| *p >= 0.5).map(|(q, p)| format!("{q} ({:.0}%)", 100.0 * p)).collect();
            ui.small(format!("qualities: {}", if held.is_empty() { "none".into() } else { held.join(", ") }));
        } else if let Some((label, p)) = head.top.first() {
            ui.small(format!("{}: {} ({:.0}%)", head.head.replace('_', " "), class_text(&head.head, label), 100.0 * p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::class_text;

    #[test]
    fn classes_are_written_without_their_head_and_pitches_with_their_note() {
        assert_eq!(class_text("velocity", "velocity 25"), "25");
        assert_eq!(class_text("pitch", "82"), "82 (A#5)");
        assert_eq!(class_text("pitch_class", "C"), "C");
        assert_eq!(class_text("source", "acoustic"), "acoustic");
    }
}
