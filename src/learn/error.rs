//! The error of everything under `learn`: every sub-area returns it, so it sits beside them and
//! depends on none of them. The feature store's own error is here too, for the same reason.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("config {path}: {problem}")]
    Config { path: String, problem: String },
    #[error("data set {path}: {problem}")]
    Dataset { path: PathBuf, problem: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("model {path}: {problem}")]
    Model { path: PathBuf, problem: String },
    #[error("embedding file {path}: {problem}")]
    Embeddings { path: PathBuf, problem: String },
    #[error("{path} holds a model of another architecture: {problem}")]
    Architecture { path: PathBuf, problem: String },
    #[error("training stopped at step {step}: {problem}; the last good checkpoint is kept")]
    Diverged { step: usize, problem: String },
    #[error("cancelled")]
    Cancelled,
    #[error("device {0:?}: use cpu or cuda:N (a build with the `cuda` feature)")]
    Device(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("data set {path}: {problem}")]
    Dataset { path: PathBuf, problem: String },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("no feature store for these settings in {dir}; run `timbrescope store build --dataset {dataset}`")]
    Missing { dir: PathBuf, dataset: PathBuf },
    #[error("store shard {path} is {problem}; run `timbrescope store build` to rebuild it")]
    Damaged { path: PathBuf, problem: String },
    #[error(
        "store shard {path} holds note {note} as its audio was before {audio} changed; run `timbrescope store build` to rebuild it"
    )]
    Stale { path: PathBuf, note: String, audio: PathBuf },
    #[error("{path} belongs to another store: {problem}")]
    Foreign { path: PathBuf, problem: String },
    #[error("{note}: {problem}")]
    Analysis { note: String, problem: String },
    #[error(
        "the disk is full writing {path}: {source}; the shards already written are kept, so the build resumes once there is room"
    )]
    Full { path: PathBuf, source: std::io::Error },
}
