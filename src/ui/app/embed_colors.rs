//! How the embedding map colours its points, and the legend that says what each colour means.

use eframe::egui::Color32;

use super::embed::EmbedMode;
use crate::jobs::embed::Space;
use crate::learn::embed::Embeddings;
use crate::ui::embedding_map::category_color;

/// What the points' colours say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorBy {
    Instrument,
    Predicted,
    Family,
    Library,
    Correct,
    /// Which of a pair a point is: STFT or CQT, clean or degraded.
    Version,
}

impl ColorBy {
    pub const ALL: [ColorBy; 6] =
        [Self::Instrument, Self::Predicted, Self::Family, Self::Library, Self::Correct, Self::Version];

    pub fn name(self) -> &'static str {
        match self {
            Self::Instrument => "instrument",
            Self::Predicted => "prediction",
            Self::Family => "family",
            Self::Library => "library",
            Self::Correct => "right or wrong",
            Self::Version => "view / version",
        }
    }
}

impl EmbedMode {
    pub(super) fn colors(&self, e: &Embeddings, points: usize) -> Vec<Color32> {
        let n = e.len();
        let classes = e.meta.classes.len();
        let names = |values: &[String]| {
            let mut distinct: Vec<&String> = values.iter().collect();
            distinct.sort();
            distinct.dedup();
            let k = distinct.len();
            values.iter().map(|v| category_color(distinct.binary_search(&v).unwrap_or(0), k)).collect::<Vec<_>>()
        };
        let per_row: Vec<Color32> = match self.color_by {
            ColorBy::Instrument => e.label.iter().map(|&l| category_color(l as usize, classes)).collect(),
            ColorBy::Predicted => e.predicted.iter().map(|&l| category_color(l as usize, classes)).collect(),
            ColorBy::Family => names(&e.meta.families),
            ColorBy::Library => names(&e.meta.libraries),
            ColorBy::Correct => e
                .label
                .iter()
                .zip(&e.predicted)
                .map(|(a, b)| if a == b { Color32::from_rgb(80, 200, 120) } else { Color32::from_rgb(235, 80, 80) })
                .collect(),
            ColorBy::Version => vec![Color32::from_rgb(90, 160, 255); n],
        };
        (0..points)
            .map(|i| {
                let (row, second) = self.row_of(i);
                match (self.color_by, second) {
                    (ColorBy::Version, true) => Color32::from_rgb(255, 170, 60),
                    (ColorBy::Correct, true) => {
                        // A degraded point is right or wrong by its own answer.
                        match (&self.degraded, self.map.as_ref().map(|m| m.space)) {
                            (Some(d), Some(Space::CleanDegraded)) if d.label[row] == d.predicted[row] => {
                                Color32::from_rgb(80, 200, 120)
                            }
                            (Some(_), Some(Space::CleanDegraded)) => Color32::from_rgb(235, 80, 80),
                            _ => per_row[row],
                        }
                    }
                    _ => per_row.get(row).copied().unwrap_or(Color32::GRAY),
                }
            })
            .collect()
    }

    /// What each colour means, for the categorical colourings.
    pub(super) fn legend(&self, e: &Embeddings) -> Vec<(String, Color32)> {
        let distinct = |values: &[String]| {
            let mut d: Vec<String> = values.to_vec();
            d.sort();
            d.dedup();
            let k = d.len();
            d.into_iter()
                .enumerate()
                .map(|(i, v)| (if v.is_empty() { "?".into() } else { v }, category_color(i, k)))
                .collect()
        };
        let classes = e.meta.classes.len();
        let used: Vec<usize> = {
            let mut u: Vec<usize> = e.label.iter().chain(&e.predicted).map(|&c| c as usize).collect();
            u.sort_unstable();
            u.dedup();
            u
        };
        match self.color_by {
            ColorBy::Instrument | ColorBy::Predicted => {
                used.into_iter().map(|c| (e.meta.classes[c].clone(), category_color(c, classes))).collect()
            }
            ColorBy::Family => distinct(&e.meta.families),
            ColorBy::Library => distinct(&e.meta.libraries),
            ColorBy::Correct => vec![
                ("right".into(), Color32::from_rgb(80, 200, 120)),
                ("wrong".into(), Color32::from_rgb(235, 80, 80)),
            ],
            ColorBy::Version => match self.map.as_ref().map(|m| m.space) {
                Some(Space::Views) => {
                    vec![
                        ("STFT".into(), Color32::from_rgb(90, 160, 255)),
                        ("CQT".into(), Color32::from_rgb(255, 170, 60)),
                    ]
                }
                Some(Space::CleanDegraded) => vec![
                    ("clean".into(), Color32::from_rgb(90, 160, 255)),
                    ("degraded".into(), Color32::from_rgb(255, 170, 60)),
                ],
                _ => Vec::new(),
            },
        }
    }
}
