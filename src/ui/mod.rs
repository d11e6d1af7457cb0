//! The eframe workbench: panels hold state and send commands; workers send results back.

pub mod app;
pub mod browser;
pub mod degrade_panel;
mod gpu_views;
pub mod grid;
pub mod mixture_view;
mod record_panel;
mod slice;
pub mod views;

pub use app::{Mode, Workbench};
