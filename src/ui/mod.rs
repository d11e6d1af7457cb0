//! The eframe workbench: panels hold state and send commands; workers send results back.

pub mod activity_strip;
pub mod app;
pub mod browser;
pub mod confusion;
pub mod degrade_panel;
pub mod embedding_map;
mod file_dialog;
mod gpu_views;
pub mod grid;
pub mod live;
pub mod lolo;
pub mod mixture_view;
pub mod predict_panel;
mod record_panel;
mod slice;
pub mod sweep_plot;
pub mod train_panel;
pub mod views;

pub use app::{Mode, Workbench};
