//! Background work on named threads, reporting through typed channels: the UI never waits.

pub mod analysis;
pub mod data;
pub mod degrade;
pub mod predict;
pub mod train;

pub use analysis::{Analysis, AnalysisJobs, JobEvent, MAX_VIEW_SECS};
