//! A model measured on examples in memory: the multi-task loss and every task's scores,
//! pitch-shift voting, the library-leak probe and multi-label scores. Training validates with
//! them and assessment reports them.

pub mod confusion;
pub mod multilabel;
pub mod probe;
pub mod score;
pub mod vote;
