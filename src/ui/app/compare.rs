//! The nearest-note A/B of the clip views: a note from the confusion matrix beside the training
//! note of the class it was heard as that lies nearest in the model's embedding.

use std::sync::Arc;

use eframe::egui;

use super::Effects;
use super::clip::ClipViews;
use crate::jobs::Analysis;
use crate::jobs::embed::NearestNote;

impl ClipViews {
    /// Shows `found` beside the clip, on the B side of the A/B switch.
    pub fn set_compare(&mut self, found: Arc<NearestNote>) {
        self.compare = Some(found);
        self.showing_compare = false;
    }

    /// Switches between the clip and its nearest training note, playing on from the same place.
    pub fn toggle_compare(&mut self, fx: &mut Effects) {
        if self.compare.is_none() {
            return;
        }
        let playing = self.is_playing();
        if playing {
            self.pause(fx);
        }
        self.showing_compare = !self.showing_compare;
        if playing {
            self.toggle_playback(None, fx);
        }
    }

    /// The analysis the views show: the clip's, or its nearest training note's on the B side.
    pub fn shown(&self) -> Option<&Arc<Analysis>> {
        match &self.compare {
            Some(c) if self.showing_compare => Some(&c.analysis),
            _ => self.analysis.as_ref(),
        }
    }

    /// Which of the pair the views show, A or B, as two buttons above them.
    pub(super) fn compare_ui(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        let Some(c) = self.compare.clone() else { return };
        // Wrapped: the notes' names are long, and the views must keep the panel's width.
        ui.horizontal_wrapped(|ui| {
            let a = format!("A: {}", c.note);
            let b = format!("B: {} (nearest {} in training, distance {:.2})", c.nearest, c.class_name, c.distance);
            if ui.selectable_label(!self.showing_compare, a).clicked() && self.showing_compare {
                self.toggle_compare(fx);
            }
            if ui.selectable_label(self.showing_compare, b).on_hover_text("B switches").clicked()
                && !self.showing_compare
            {
                self.toggle_compare(fx);
            }
        });
    }
}
