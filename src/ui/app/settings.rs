//! The workbench's settings as they survive a restart: each mode's share, gathered when saved.

use std::path::PathBuf;

use crate::ui::degrade_panel::DegradePanel;
use crate::ui::train_panel::TrainSettings;
use crate::ui::views::ColorSettings;

/// Settings that survive a restart.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct Settings {
    pub colors: ColorSettings,
    pub last_dir: Option<PathBuf>,
    /// Show the spectrum at the pointer (or playhead) below the views.
    pub show_slice: bool,
    /// The data set folder open last time, reopened at launch.
    pub last_dataset: Option<PathBuf>,
    /// The degradation chain and whether it applies.
    pub degrade: DegradePanel,
    /// The training tab's choices and watched runs.
    pub train: TrainSettings,
    /// The model the prediction panel uses (the shipped one when unset).
    pub model: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            colors: ColorSettings::default(),
            last_dir: None,
            show_slice: true,
            last_dataset: None,
            degrade: DegradePanel::default(),
            train: TrainSettings::default(),
            model: None,
        }
    }
}
