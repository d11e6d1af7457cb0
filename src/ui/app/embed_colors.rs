//! How the embedding map colours its points, and the legend that says what each colour means.

use std::sync::Arc;

use eframe::egui::Color32;

use crate::jobs::embed::{EmbeddingMap, Space};
use crate::learn::explanation::embed::Embeddings;
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

/// Which note a map point shows, and whether it is the second of a pair (CQT, or degraded):
/// the maps of pairs hold the `n` clean or STFT points first.
pub(super) fn row_of(n: usize, space: Option<Space>, i: usize) -> (usize, bool) {
    match space {
        Some(Space::Views | Space::CleanDegraded) if n > 0 && i >= n => (i - n, true),
        _ => (i, false),
    }
}

const RIGHT: Color32 = Color32::from_rgb(80, 200, 120);
const WRONG: Color32 = Color32::from_rgb(235, 80, 80);
const FIRST: Color32 = Color32::from_rgb(90, 160, 255);
const SECOND: Color32 = Color32::from_rgb(255, 170, 60);

/// A map's colours and their legend, worked out once for a map and a colouring (the names of
/// families or libraries sorted once), not on every frame.
pub(super) struct MapColors {
    key: (ColorBy, usize, usize, usize),
    pub points: Vec<Color32>,
    pub legend: Vec<(String, Color32)>,
}

impl MapColors {
    /// The colours for this map and colouring: `cached` again if it was made for them.
    pub fn of(
        cached: Option<Self>,
        color_by: ColorBy,
        map: &Arc<EmbeddingMap>,
        clean: &Arc<Embeddings>,
        degraded: Option<&Arc<Embeddings>>,
    ) -> Self {
        let key = (
            color_by,
            Arc::as_ptr(map) as usize,
            Arc::as_ptr(clean) as usize,
            degraded.map_or(0, |d| Arc::as_ptr(d) as usize),
        );
        match cached {
            Some(c) if c.key == key => c,
            _ => {
                let degraded = degraded.map(|d| d.as_ref());
                let (points, legend) = colour(color_by, clean, degraded, map.space, map.points.len());
                Self { key, points, legend }
            }
        }
    }
}

/// Distinct names in sorted order, and each value's colour among them.
fn by_name(values: &[String]) -> (Vec<String>, Vec<Color32>) {
    let mut distinct: Vec<String> = values.to_vec();
    distinct.sort();
    distinct.dedup();
    let k = distinct.len();
    let colors = values.iter().map(|v| category_color(distinct.binary_search(v).unwrap_or(0), k)).collect();
    (distinct, colors)
}

/// Each point's colour, and the legend.
fn colour(
    color_by: ColorBy,
    e: &Embeddings,
    degraded: Option<&Embeddings>,
    space: Space,
    points: usize,
) -> (Vec<Color32>, Vec<(String, Color32)>) {
    let n = e.len();
    let classes = e.meta.classes.len();
    let named = |(distinct, colors): (Vec<String>, Vec<Color32>)| {
        let k = distinct.len();
        let legend = distinct
            .into_iter()
            .enumerate()
            .map(|(i, v)| (if v.is_empty() { "?".into() } else { v }, category_color(i, k)))
            .collect();
        (colors, legend)
    };
    let (per_row, legend): (Vec<Color32>, Vec<(String, Color32)>) = match color_by {
        ColorBy::Instrument | ColorBy::Predicted => {
            let of = if color_by == ColorBy::Instrument { &e.label } else { &e.predicted };
            let mut used: Vec<usize> = e.label.iter().chain(&e.predicted).map(|&c| c as usize).collect();
            used.sort_unstable();
            used.dedup();
            let legend = used
                .into_iter()
                .filter_map(|c| Some((e.meta.classes.get(c)?.clone(), category_color(c, classes))))
                .collect();
            (of.iter().map(|&l| category_color(l as usize, classes)).collect(), legend)
        }
        ColorBy::Family => named(by_name(&e.meta.families)),
        ColorBy::Library => named(by_name(&e.meta.libraries)),
        ColorBy::Correct => (
            e.label.iter().zip(&e.predicted).map(|(a, b)| if a == b { RIGHT } else { WRONG }).collect(),
            vec![("right".into(), RIGHT), ("wrong".into(), WRONG)],
        ),
        ColorBy::Version => (
            vec![FIRST; n],
            match space {
                Space::Views => vec![("STFT".into(), FIRST), ("CQT".into(), SECOND)],
                Space::CleanDegraded => vec![("clean".into(), FIRST), ("degraded".into(), SECOND)],
                _ => Vec::new(),
            },
        ),
    };
    let colors = (0..points)
        .map(|i| {
            let (row, second) = row_of(n, Some(space), i);
            match (color_by, second) {
                (ColorBy::Version, true) => SECOND,
                // A degraded point is right or wrong by its own answer.
                (ColorBy::Correct, true) => match degraded {
                    Some(d) if space == Space::CleanDegraded && d.label.get(row) == d.predicted.get(row) => RIGHT,
                    Some(_) if space == Space::CleanDegraded => WRONG,
                    _ => per_row.get(row).copied().unwrap_or(Color32::GRAY),
                },
                _ => per_row.get(row).copied().unwrap_or(Color32::GRAY),
            }
        })
        .collect();
    (colors, legend)
}
