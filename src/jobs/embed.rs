//! The embedding map's work off the UI thread: reading or computing a split's embeddings, and
//! mapping them to 2-D (PCA at once, t-SNE on request) with progress.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::Analysis;
use super::worker::{Context, Job};
use crate::audio::load_clip;
use crate::data::dataset::{Split, audio_path, check_note_str};
use crate::degrade::ChainSpec;
use crate::features::Analyzer;
use crate::learn::assessment::eval::EvalOptions;
use crate::learn::explanation::embed::{Embeddings, Matrix, embed_through, nearest_of_class};
use crate::learn::explanation::projection::{Method, pca, tsne};

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
    /// The training note of `class` (default: the one the note is heard as) nearest `note` in
    /// `model`'s fused embedding, analysed.
    Nearest { model: PathBuf, dataset: PathBuf, note: String, class: Option<usize> },
}

impl EmbedRequest {
    /// The clean and the degraded embeddings load side by side; maps supersede each other.
    pub const CLEAN_LANE: usize = 0;
    pub const DEGRADED_LANE: usize = 1;
    pub const PROJECT_LANE: usize = 2;
    pub const NEAREST_LANE: usize = 3;
}

/// A note and the training note of a class nearest it, ready for the views.
pub struct NearestNote {
    /// The note asked about, and the data set both come from.
    pub note: String,
    pub dataset: PathBuf,
    pub nearest: String,
    pub class_name: String,
    /// Euclidean distance between the two fused embeddings.
    pub distance: f32,
    pub analysis: Arc<Analysis>,
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
    Nearest(Arc<NearestNote>),
}

/// Keeps the embeddings it computed for nearest-note searches, by model, data set and split:
/// a second search in the same run costs one distance per training note.
#[derive(Default)]
pub struct EmbedJob {
    cache: Vec<((PathBuf, PathBuf, Split), Arc<Embeddings>)>,
}

impl EmbedJob {
    fn embeddings(
        &mut self,
        model: &std::path::Path,
        dataset: &std::path::Path,
        split: Split,
        ctx: &Context<'_, EmbedEvent>,
    ) -> Result<Arc<Embeddings>, String> {
        let key = (model.to_owned(), dataset.to_owned(), split);
        if let Some((_, e)) = self.cache.iter().find(|(k, _)| *k == key) {
            return Ok(e.clone());
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let options = EvalOptions::new(model, dataset, split);
        let options = EvalOptions { threads, ..options };
        let progress = |done, total| ctx.report(EmbedEvent::Progress { what: "embedding", done, total });
        let e = Arc::new(embed_through(&options, None, &progress).map_err(|e| e.to_string())?);
        // A few splits of one or two runs at most; the oldest goes first.
        if self.cache.len() >= 4 {
            self.cache.remove(0);
        }
        self.cache.push((key, e.clone()));
        Ok(e)
    }

    fn nearest(
        &mut self,
        model: PathBuf,
        dataset: PathBuf,
        note: String,
        class: Option<usize>,
        ctx: &Context<'_, EmbedEvent>,
    ) -> Result<NearestNote, String> {
        let train = self.embeddings(&model, &dataset, Split::Train, ctx)?;
        // The confusion matrix is the validation split's; a note from elsewhere is looked up too.
        let mut query = None;
        for split in [Split::Valid, Split::Test, Split::TestBank, Split::Train] {
            let e = self.embeddings(&model, &dataset, split, ctx)?;
            if let Some(row) = e.meta.notes.iter().position(|n| *n == note) {
                query = Some((e.fused.row(row).to_vec(), e.predicted[row] as usize));
                break;
            }
        }
        let (query, heard_as) = query.ok_or_else(|| format!("{note} is not a note of {}", dataset.display()))?;
        let class = class.unwrap_or(heard_as);
        let class_name = train.meta.classes.get(class).cloned().unwrap_or_default();
        let (row, distance) = nearest_of_class(&train, &query, class, &note)
            .ok_or_else(|| format!("the training split has no note of {class_name}"))?;
        let nearest = train.meta.notes[row].clone();
        check_note_str(&nearest)?;
        let clip = load_clip(&audio_path(&dataset, &nearest)).map_err(|e| e.to_string())?;
        let analysis = Arc::new(Analysis::compute(clip, &mut Analyzer::default())?);
        Ok(NearestNote { note, dataset, nearest, class_name, distance, analysis })
    }
}

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
    const LANES: usize = 4;

    fn lane(request: &EmbedRequest) -> usize {
        match request {
            EmbedRequest::Open { degraded: false, .. } | EmbedRequest::Compute { chain: None, .. } => {
                EmbedRequest::CLEAN_LANE
            }
            EmbedRequest::Open { .. } | EmbedRequest::Compute { .. } => EmbedRequest::DEGRADED_LANE,
            EmbedRequest::Project { .. } => EmbedRequest::PROJECT_LANE,
            EmbedRequest::Nearest { .. } => EmbedRequest::NEAREST_LANE,
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
            EmbedRequest::Nearest { model, dataset, note, class } => {
                let found = self.nearest(model, dataset, note, class, ctx)?;
                ctx.report(EmbedEvent::Nearest(Arc::new(found)));
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
