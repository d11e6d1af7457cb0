//! The embedding map's work off the UI thread: reading or computing a split's embeddings, and
//! mapping them to 2-D (PCA at once, t-SNE on request) with progress.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::worker::{Context, Job};
use crate::degrade::ChainSpec;
use crate::learn::embed::{Embeddings, Matrix, embed_through};
use crate::learn::eval::EvalOptions;
use crate::learn::projection::{Method, pca, tsne};

/// Which rows a map places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// Each note's fused embedding, one point a note.
    Fused,
    /// Each note's STFT and CQT projections, mapped together: points 0..n are the STFT's,
    /// n..2n the CQT's, so a line joins each note's pair.
    Views,
    /// Each note's fused embedding clean (points 0..n) and degraded (n..2n).
    CleanDegraded,
}

pub enum EmbedRequest {
    /// Read a file `timbrescope embed` wrote.
    Open { path: PathBuf, degraded: bool },
    /// Embed a split with a model, clean or through `chain` (its seed hashed with each note's
    /// name, as `eval --chain` does).
    Compute { options: EvalOptions, chain: Option<(ChainSpec, u64)> },
    /// Map the embeddings (and, for [`Space::CleanDegraded`], their degraded twin).
    Project { clean: Arc<Embeddings>, degraded: Option<Arc<Embeddings>>, space: Space, method: Method },
}

impl EmbedRequest {
    /// The clean and the degraded embeddings load side by side; maps supersede each other.
    pub const CLEAN_LANE: usize = 0;
    pub const DEGRADED_LANE: usize = 1;
    pub const PROJECT_LANE: usize = 2;
}

/// A 2-D map and what it shows.
pub struct EmbeddingMap {
    pub space: Space,
    pub method: Method,
    pub points: Vec<[f32; 2]>,
    pub millis: f64,
}

pub enum EmbedEvent {
    Progress { what: &'static str, done: usize, total: usize },
    Loaded { embeddings: Arc<Embeddings>, degraded: bool, source: String },
    Projected(Arc<EmbeddingMap>),
}

#[derive(Default)]
pub struct EmbedJob;

/// The rows a space maps, stacked.
fn rows(clean: &Embeddings, degraded: Option<&Embeddings>, space: Space) -> Result<Matrix, String> {
    let stack = |a: &Matrix, b: &Matrix| Matrix {
        rows: a.rows + b.rows,
        cols: a.cols,
        data: a.data.iter().chain(&b.data).copied().collect(),
    };
    match space {
        Space::Fused => Ok(clean.fused.clone()),
        Space::Views => Ok(stack(&clean.z_stft, &clean.z_cqt)),
        Space::CleanDegraded => {
            let d = degraded.ok_or("load or compute the degraded embeddings first")?;
            if d.meta.notes != clean.meta.notes || d.fused.cols != clean.fused.cols {
                return Err("the degraded embeddings are not of the same notes by the same model".into());
            }
            Ok(stack(&clean.fused, &d.fused))
        }
    }
}

impl Job for EmbedJob {
    type Request = EmbedRequest;
    type Event = EmbedEvent;
    const LANES: usize = 3;

    fn lane(request: &EmbedRequest) -> usize {
        match request {
            EmbedRequest::Open { degraded: false, .. } | EmbedRequest::Compute { chain: None, .. } => {
                EmbedRequest::CLEAN_LANE
            }
            EmbedRequest::Open { .. } | EmbedRequest::Compute { .. } => EmbedRequest::DEGRADED_LANE,
            EmbedRequest::Project { .. } => EmbedRequest::PROJECT_LANE,
        }
    }

    fn droppable(event: &EmbedEvent) -> bool {
        matches!(event, EmbedEvent::Progress { .. })
    }

    fn run(&mut self, request: EmbedRequest, ctx: &Context<'_, EmbedEvent>) -> Result<(), String> {
        match request {
            EmbedRequest::Open { path, degraded } => {
                let embeddings = Embeddings::read(&path).map_err(|e| e.to_string())?;
                let source = path.display().to_string();
                ctx.report(EmbedEvent::Loaded { embeddings: Arc::new(embeddings), degraded, source });
            }
            EmbedRequest::Compute { options, chain } => {
                let progress = |done, total| ctx.report(EmbedEvent::Progress { what: "embedding", done, total });
                let through = chain.as_ref().map(|(c, s)| (c, *s));
                let embeddings = embed_through(&options, through, &progress).map_err(|e| e.to_string())?;
                let degraded = chain.is_some();
                let source = format!("{} on {}", options.model.display(), options.dataset.display());
                ctx.report(EmbedEvent::Loaded { embeddings: Arc::new(embeddings), degraded, source });
            }
            EmbedRequest::Project { clean, degraded, space, method } => {
                let start = Instant::now();
                let m = rows(&clean, degraded.as_deref(), space)?;
                let points = match method {
                    Method::Pca => pca(&m),
                    Method::Tsne => {
                        let progress = |done, total| ctx.report(EmbedEvent::Progress { what: "t-SNE", done, total });
                        tsne(&m, &progress)
                    }
                };
                if ctx.cancelled() {
                    return Ok(());
                }
                let millis = start.elapsed().as_secs_f64() * 1e3;
                ctx.report(EmbedEvent::Projected(Arc::new(EmbeddingMap { space, method, points, millis })));
            }
        }
        Ok(())
    }
}
