//! The eframe workbench: panels hold state and send commands; workers send results back.

pub mod app;
mod gpu_views;
mod record_panel;
mod slice;
pub mod views;

pub use app::Workbench;
