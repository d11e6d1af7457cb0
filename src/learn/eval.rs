//! Evaluation of a model file on a split, optionally through a degradation chain: every task's
//! metric, the descriptors' R², and the instrument confusion matrix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use super::LearnError;
use super::batch::{Examples, NO_LIBRARY, NoteSource, Targets};
use super::inputs::{InputShape, dataset_views, labelled};
use super::modelfile;
use super::probe::{ProbeReport, library_probe};
use super::run::Confusion;
use super::score::{Scores, score};
use super::store::{BuildOptions, Store, StoreSettings, build};
use super::vote::Voter;
use crate::data::dataset::{Dataset, Split};
use crate::data::schema::SchemaKind;
use crate::degrade::ChainSpec;
use crate::dsp::descriptors::Descriptors;

pub struct EvalOptions {
    pub model: PathBuf,
    pub dataset: PathBuf,
    pub split: Split,
    /// A degradation chain file and its seed: each note is degraded with hash(seed, note_str).
    pub chain: Option<(PathBuf, u64)>,
    /// Pitch-shift votes instead of the model's own (`learn::vote`).
    pub shift_votes: Option<u32>,
    pub threads: usize,
}

impl EvalOptions {
    /// A split evaluated clean with the model's own votes, on every core.
    pub fn new(model: impl Into<PathBuf>, dataset: impl Into<PathBuf>, split: Split) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { model: model.into(), dataset: dataset.into(), split, chain: None, shift_votes: None, threads }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalReport {
    pub model: String,
    pub dataset: String,
    pub split: String,
    pub chain: Option<String>,
    pub chain_seed: Option<u64>,
    /// Semitones either way the predictions averaged over (0: the input as it is).
    #[serde(default)]
    pub shift_votes: u32,
    pub notes: usize,
    /// `acc_<head>` for each head of the model's labels (`acc_instrument`, `acc_family`, ...),
    /// `f1_<quality>` and `f1_qualities` with NSynth's, `r2_<descriptor>` and `r2_descriptors`.
    pub metrics: BTreeMap<String, f64>,
    /// Recall of each class of the primary head (the instruments, or NSynth's families).
    pub per_class_recall: BTreeMap<String, Option<f64>>,
    pub confusion: Confusion,
    /// The library-leak probe on the model's embeddings of these notes (`learn::probe`); None
    /// when they come from fewer than two libraries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_probe: Option<ProbeReport>,
}

impl EvalReport {
    /// What the confusion matrix's classes are: instruments, or NSynth's families.
    pub fn confusion_head(&self) -> &'static str {
        if self.metrics.contains_key("acc_instrument") { "instrument" } else { "family" }
    }
}

/// The model file of a run folder (its best), or the file itself.
pub fn resolve_model(path: &Path) -> PathBuf {
    if path.is_dir() { path.join(super::run::BEST_MODEL) } else { path.to_owned() }
}

pub fn evaluate(opts: &EvalOptions, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<EvalReport, LearnError> {
    let device = Device::Cpu;
    let model_path = resolve_model(&opts.model);
    let loaded = modelfile::load(&model_path, &device)?;
    let meta = &loaded.meta;
    let voter =
        Voter::new(meta, opts.shift_votes.unwrap_or(meta.shift_votes)).map_err(|problem| match opts.shift_votes {
            Some(_) => LearnError::Config { path: "--shift-votes".into(), problem },
            None => LearnError::Model { path: model_path.clone(), problem },
        })?;
    let chain = match &opts.chain {
        None => None,
        Some((path, seed)) => Some((
            ChainSpec::load(path)
                .map_err(|e| LearnError::Config { path: path.display().to_string(), problem: e.to_string() })?,
            *seed,
        )),
    };
    let dataset = Dataset::open(&opts.dataset)
        .map_err(|e| LearnError::Dataset { path: opts.dataset.clone(), problem: e.to_string() })?;
    // The notes are labelled as the model's heads ask: by the taxonomy it was trained on (an
    // NSynth folder mapped onto it), or by NSynth's own labels.
    let schema = &meta.schema;
    if schema.kind == SchemaKind::Instruments
        && dataset.taxonomy.instruments.iter().map(|i| &i.name).ne(meta.primary_classes().iter())
    {
        return Err(LearnError::Dataset {
            path: opts.dataset.clone(),
            problem: "its taxonomy's instruments differ from the ones the model was trained on".into(),
        });
    }
    let idx = labelled(&dataset, opts.split, schema);
    if idx.is_empty() {
        let heads: Vec<&str> = schema.heads.iter().map(|h| h.name.as_str()).collect();
        return Err(LearnError::Dataset {
            path: opts.dataset.clone(),
            problem: format!("its {} split has no notes labelled with {}", opts.split.as_str(), heads.join(", ")),
        });
    }
    // Without a chain the notes are read from the data set's store, built where missing; through
    // one, they are degraded and analysed as they are read.
    let input = meta.spec.input;
    let settings = StoreSettings::for_input(&input);
    let source = match &chain {
        None => {
            let options = BuildOptions { threads: opts.threads.max(1), ..Default::default() };
            build(&dataset, &settings, &options, progress)?;
            NoteSource::Store { store: Arc::new(Store::open(&dataset, &settings)?), rows: idx.clone() }
        }
        Some((c, s)) => NoteSource::Memory(
            dataset_views(&dataset, &idx, Some((c, *s)), &input, opts.threads.max(1), progress)
                .map_err(|problem| LearnError::Dataset { path: opts.dataset.clone(), problem })?,
        ),
    };
    let g = settings.geometry();
    let shape = InputShape::of(&input, g.stft_bins, g.cqt_bins);
    let has_descriptors = idx.iter().all(|&i| dataset.notes[i].labels.descriptors.is_some());
    let examples = Examples {
        shape,
        notes: idx.iter().map(|&i| dataset.notes[i].record.note_str.clone()).collect(),
        clean: source,
        degraded: Vec::new(),
        standardizer: meta.standardizer.clone(),
        input,
        augment: None,
        eq: None,
        shift: None,
        targets: idx
            .iter()
            .map(|&i| {
                let d = dataset.notes[i].labels.descriptors.unwrap_or(meta.descriptor_mean);
                let c = dataset.classes(i, schema).expect("labelled");
                Targets {
                    classes: c.classes,
                    qualities: c.qualities,
                    descriptors: std::array::from_fn(|k| (d[k] - meta.descriptor_mean[k]) / meta.descriptor_std[k]),
                    library: NO_LIBRARY,
                }
            })
            .collect(),
    };
    let scores: Scores = score(&loaded.model, &examples, meta, &voter, &device)?;
    let libraries: Vec<String> =
        idx.iter().map(|&i| dataset.notes[i].record.bank.clone().unwrap_or_default()).collect();
    let library_probe = if libraries.iter().any(|l| *l != libraries[0]) {
        library_probe(&scores.embeddings, &libraries, 0)
    } else {
        None
    };
    let mut metrics = scores.metrics();
    if has_descriptors {
        for (name, r2) in Descriptors::NAMES.iter().zip(scores.r2) {
            metrics.insert(format!("r2_{name}"), r2);
        }
    } else {
        metrics.remove("r2_descriptors");
    }
    let confusion = Confusion::new(0, meta.primary_classes().to_vec(), scores.confused);
    let per_class_recall = meta.primary_classes().iter().cloned().zip(confusion.recall()).collect();
    Ok(EvalReport {
        model: model_path.display().to_string(),
        dataset: opts.dataset.display().to_string(),
        split: opts.split.as_str().into(),
        chain: opts.chain.as_ref().map(|(p, _)| p.display().to_string()),
        chain_seed: opts.chain.as_ref().map(|(_, s)| *s),
        shift_votes: voter.votes(),
        notes: examples.len(),
        metrics,
        per_class_recall,
        confusion,
        library_probe,
    })
}
