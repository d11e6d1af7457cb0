//! Learning with Candle: contrastive STFT/CQT pretraining, multi-task training, evaluation and
//! prediction. Plain Rust: the workbench drives it through `jobs::train`.

pub mod activity;
pub mod augment;
pub mod batch;
pub mod config;
pub mod embed;
pub mod eval;
pub mod floor;
pub mod fused;
pub mod inputs;
pub mod layers;
pub mod lolo;
pub mod loss;
pub mod mask_head;
pub mod mixture_eval;
pub mod model;
pub mod modelfile;
pub mod moments;
pub mod multilabel;
pub mod optim;
pub mod polyphony;
pub mod predict;
mod prepare;
pub mod probe;
pub mod projection;
pub mod run;
pub mod saliency;
pub mod schedule;
pub mod score;
pub mod stage;
pub mod store;
pub mod sweep;
pub mod train;
pub mod vote;

use std::path::PathBuf;

pub use config::TrainConfig;
pub use eval::{EvalReport, evaluate};
pub use predict::{ModelSource, Prediction, Predictor};
pub use run::{MetricRecord, RunFolder};
pub use stage::{Stages, TrainStage};
pub use train::{TrainEvent, TrainOptions, train};

/// Runs `f` on one of rayon's worker threads. The fused kernels split their loops with rayon;
/// called from a worker, the caller starts on its own share at once and the other workers steal
/// the rest, while from any other thread each loop is handed over to the pool and the caller
/// sleeps until it is done. A multi-task step took 15% less time on a worker (`benches/learn.rs`
/// runs its steps this way too). `f` must not wait for other rayon work: with one thread it
/// would wait for itself.
pub fn on_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Candle's helper threads for elementwise ops spin 25,000 times after each op before they sleep.
/// On two cores that spinning takes a core from the rayon workers that run the next product: a
/// multi-task step took about 17% longer with it (`CANDLE_BARRIER_POOL_SPIN_LIMIT` 25,000 against
/// 0, medians of four runs). This makes them sleep at once unless the variable is set already.
///
/// # Safety
/// It sets an environment variable, so no other thread may exist yet: call it first in `main`.
pub unsafe fn park_candle_helpers() {
    const SPIN_LIMIT: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    if std::env::var_os(SPIN_LIMIT).is_none() {
        // SAFETY: the caller guarantees that no other thread reads the environment meanwhile.
        unsafe { std::env::set_var(SPIN_LIMIT, "0") };
    }
}

/// Keeps freed memory in the process. A training step allocates and frees the same multi-megabyte
/// tensors every time; by default glibc hands them back to the kernel, and the page faults that
/// follow cost about an eighth of a step here (`benches/learn.rs`: 343 against 298 ms). The
/// price: up to 1 GiB freed at the top of the heap stays with the process. So `timbrescope
/// train` calls it, and the window does not: training there leaves the window's allocator as it is.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is safe to call at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

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
    Store(#[from] store::StoreError),
}

/// `cpu` or `cuda:N`.
pub fn parse_device(name: &str) -> Result<candle_core::Device, LearnError> {
    if name == "cpu" {
        return Ok(candle_core::Device::Cpu);
    }
    let ordinal = name
        .strip_prefix("cuda:")
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| LearnError::Device(name.into()))?;
    candle_core::Device::new_cuda(ordinal).map_err(|e| LearnError::Device(format!("{name}: {e}")))
}
