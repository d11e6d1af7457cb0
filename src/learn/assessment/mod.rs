//! A model file assessed on a data set: evaluation (through a chain if asked), mixtures,
//! leave-one-library-out folds and robustness sweeps, each into a report.

pub mod eval;
pub mod lolo;
pub mod mixture_eval;
pub mod sweep;
