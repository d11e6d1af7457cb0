//! The B side of the clip views' A/B: a note beside another, switched by B. A note from the confusion
//! matrix beside the training note of the class it was heard as that lies nearest in the
//! model's embedding; a data set's note beside its played version.

use std::sync::Arc;

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
