//! The A/B of the clip views: a note beside another, switched by B. A note from the confusion
//! matrix beside the training note of the class it was heard as that lies nearest in the
//! model's embedding; a data set's note beside its played version.

use std::sync::Arc;

use eframe::egui;

use super::Effects;
use super::clip::ClipViews;
use crate::jobs::Analysis;
use crate::jobs::data::PlayedNote;
use crate::jobs::embed::NearestNote;

/// The B side of the clip views and how the two are named.
pub struct Compare {
    /// The A note (the clip's name): the pair is dropped when another clip is shown.
    pub note: String,
    /// The B note's name.
    pub other: String,
    pub a_label: String,
    pub b_label: String,
    pub analysis: Arc<Analysis>,
}

impl From<&NearestNote> for Compare {
    fn from(found: &NearestNote) -> Self {
        Self {
            note: found.note.clone(),
            other: found.nearest.clone(),
            a_label: format!("A: {}", found.note),
            b_label: format!(
                "B: {} (nearest {} in training, distance {:.2})",
                found.nearest, found.class_name, found.distance
            ),
            analysis: found.analysis.clone(),
        }
    }
}

impl From<&PlayedNote> for Compare {
    fn from(played: &PlayedNote) -> Self {
        Self {
            note: played.note.clone(),
            other: played.note.clone(),
            a_label: "A: as the library holds it".into(),
            b_label: if played.expression.is_empty() {
                "B: played".into()
            } else {
                format!("B: played ({})", played.expression)
            },
            analysis: played.analysis.clone(),
        }
    }
}

impl ClipViews {
    /// Shows `compare` beside the clip, on the B side of the A/B switch.
    pub fn set_compare(&mut self, compare: Compare) {
        self.compare = Some(Arc::new(compare));
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
            if ui.selectable_label(!self.showing_compare, &c.a_label).clicked() && self.showing_compare {
                self.toggle_compare(fx);
            }
            if ui.selectable_label(self.showing_compare, &c.b_label).on_hover_text("B switches").clicked()
                && !self.showing_compare
            {
                self.toggle_compare(fx);
            }
        });
    }
}
