//! Training: the configuration, the examples prepared before the first step, the loop of both
//! stages, and the run folder it writes.

pub mod config;
mod prepare;
pub mod run;
pub mod train;
