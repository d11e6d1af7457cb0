//! Background work on named threads, reporting through typed channels: the UI never waits.

pub mod analysis;
pub mod data;
pub mod degrade;
pub mod embed;
pub mod predict;
pub mod train;
pub mod worker;

pub use analysis::{Analysis, AnalysisEvent, AnalysisJob, AnalysisJobs, AnalysisRequest, MAX_VIEW_SECS};
pub use worker::{Report, Worker};
