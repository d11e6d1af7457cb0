//! Evaluation of a model file on a split, optionally through a degradation chain: every task's
//! metric, the descriptors' R², and the instrument confusion matrix.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::data::dataset::{Dataset, Note, Split};
use crate::data::schema::{NoteClasses, SchemaKind};
use crate::degrade::ChainSpec;
use crate::dsp::descriptors::Descriptors;
use crate::learn::error::LearnError;
use crate::learn::network::modelfile::{self, LoadedModel};
use crate::learn::notes::augment::input_frames;
use crate::learn::notes::batch::{Examples, NO_LIBRARY, NoteSource, Targets};
use crate::learn::notes::inputs::{InputShape, labelled};
use crate::learn::notes::store::{BuildOptions, Store, StoreSettings, build, dataset_views};
use crate::learn::scoring::confusion::Confusion;
use crate::learn::scoring::probe::{ProbeReport, library_probe};
use crate::learn::scoring::score::{Scores, score};
use crate::learn::scoring::vote::Voter;

pub struct EvalOptions {
    pub model: PathBuf,
    pub dataset: PathBuf,
    pub split: Split,
    /// A degradation chain file and its seed: each note is degraded with hash(seed, note_str).
    pub chain: Option<(PathBuf, u64)>,
    /// Pitch-shift votes instead of the model's own (`learn::scoring::vote`).
    pub shift_votes: Option<u32>,
    pub threads: usize,
    /// Where in each note the model starts listening.
    pub from: NoteStart,
    /// Analyse each clean note from its audio instead of reading the feature store, whose values
    /// are kept in 0.5-dB steps: what those steps cost, measured.
    pub from_audio: bool,
}

/// Where an evaluated note starts: at its onset, as rendered and cut, or at the middle of its
/// sounding part (a real note's measured length, or NSynth's 3-s hold), as a window cut from a
/// recording may.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteStart {
    #[default]
    Onset,
    Middle,
}

/// How long a rendered note is held before its release (NSynth's protocol).
const NSYNTH_HOLD_SECS: f64 = 3.0;
/// Classes with fewer notes than this are reported but left out of the class-balanced mean.
pub const MIN_BALANCED_NOTES: usize = 8;

impl EvalOptions {
    /// A split evaluated clean with the model's own votes, on every core.
    pub fn new(model: impl Into<PathBuf>, dataset: impl Into<PathBuf>, split: Split) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            model: model.into(),
            dataset: dataset.into(),
            split,
            chain: None,
            shift_votes: None,
            threads,
            from: NoteStart::Onset,
            from_audio: false,
        }
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
    /// Where each note started.
    #[serde(default)]
    pub from: NoteStart,
    /// The clean notes were analysed from their audio, not read from the feature store.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub from_audio: bool,
    pub notes: usize,
    /// `acc_<head>` for each head of the model's labels (`acc_instrument`, `acc_family`, ...),
    /// `f1_<quality>` and `f1_qualities` with NSynth's, `r2_<descriptor>` and `r2_descriptors`;
    /// `balanced_<primary>`, the mean recall of the classes with at least
    /// [`MIN_BALANCED_NOTES`] notes; and where the split holds instruments outside the model's
    /// classes, `acc_family_unseen` over them and `unseen_notes`.
    pub metrics: BTreeMap<String, f64>,
    /// Recall of each class of the primary head (the instruments, or NSynth's families).
    pub per_class_recall: BTreeMap<String, Option<f64>>,
    pub confusion: Confusion,
    /// The library-leak probe on the model's embeddings of these notes (`learn::scoring::probe`); None
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

/// The path that names the model inside the binary wherever a model file is asked for.
pub fn shipped_model_path() -> String {
    format!("shipped:{}", modelfile::SHIPPED_MODEL_NAME)
}

/// The model file of a run folder (its best), or the file itself.
pub fn resolve_model(path: &Path) -> PathBuf {
    if path.is_dir() { path.join(crate::learn::training::run::BEST_MODEL) } else { path.to_owned() }
}

pub fn evaluate(opts: &EvalOptions, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<EvalReport, LearnError> {
    let set = EvalSet::open(opts)?;
    let chain = load_chain(opts.chain.as_ref())?;
    let mut report = set.report(chain.as_ref().map(|(c, s)| (c, *s)), opts.threads, progress)?;
    if !set.unseen.is_empty() {
        let unseen = set.unseen_family(chain.as_ref().map(|(c, s)| (c, *s)), opts.threads)?;
        report.metrics.insert("acc_family_unseen".into(), unseen);
        report.metrics.insert("unseen_notes".into(), set.unseen.len() as f64);
    }
    report.chain = opts.chain.as_ref().map(|(p, _)| p.display().to_string());
    Ok(report)
}

/// A run's best model or a model file, `shipped:NAME` being the one inside the binary (as
/// `shipped:NAME` is a chain inside it), with the path it was read from.
pub fn load_model(path: &Path) -> Result<(PathBuf, LoadedModel), LearnError> {
    let model_path = resolve_model(path);
    let loaded = if model_path == Path::new(&shipped_model_path()) {
        modelfile::load_shipped(&Device::Cpu)?
    } else {
        modelfile::load(&model_path, &Device::Cpu)?
    };
    Ok((model_path, loaded))
}

/// A chain file and its seed, read.
pub fn load_chain(chain: Option<&(PathBuf, u64)>) -> Result<Option<(ChainSpec, u64)>, LearnError> {
    chain
        .map(|(path, seed)| {
            ChainSpec::load(path)
                .map(|spec| (spec, *seed))
                .map_err(|e| LearnError::Config { path: path.display().to_string(), problem: e.to_string() })
        })
        .transpose()
}

/// The data set's instruments are the model's classes, in its order.
pub fn check_taxonomy(
    dataset: &Dataset,
    meta: &crate::learn::network::modelfile::ModelMeta,
    path: &Path,
) -> Result<(), LearnError> {
    if dataset.taxonomy.instruments.iter().map(|i| &i.name).ne(meta.primary_classes().iter()) {
        return Err(LearnError::Dataset {
            path: path.to_owned(),
            problem: "its taxonomy's instruments differ from the ones the model was trained on".into(),
        });
    }
    Ok(())
}

/// A model and the notes of one split it is evaluated on, loaded once and scored under any
/// number of chains (a sweep scores the same notes at every step).
pub struct EvalSet {
    model_path: PathBuf,
    loaded: LoadedModel,
    voter: Voter,
    dataset: Dataset,
    dataset_path: PathBuf,
    split: Split,
    idx: Vec<usize>,
    from: NoteStart,
    from_audio: bool,
    /// Notes of the split whose instrument the model does not know but whose family it does.
    unseen: Vec<usize>,
}

impl EvalSet {
    /// Loads the model and the data set, and checks that the split has notes the model's heads
    /// can be scored on.
    pub fn open(opts: &EvalOptions) -> Result<Self, LearnError> {
        let (model_path, loaded) = load_model(&opts.model)?;
        let meta = &loaded.meta;
        let voter = Voter::new(meta, opts.shift_votes.unwrap_or(meta.shift_votes)).map_err(|problem| {
            match opts.shift_votes {
                Some(_) => LearnError::Config { path: "--shift-votes".into(), problem },
                None => LearnError::Model { path: model_path.clone(), problem },
            }
        })?;
        let dataset = Dataset::open(&opts.dataset)
            .map_err(|e| LearnError::Dataset { path: opts.dataset.clone(), problem: e.to_string() })?;
        // The notes are labelled as the model's heads ask: by the taxonomy it was trained on (an
        // NSynth folder mapped onto it), or by NSynth's own labels.
        let schema = &meta.schema;
        if schema.kind == SchemaKind::Instruments {
            check_taxonomy(&dataset, meta, &opts.dataset)?;
        }
        let idx = labelled(&dataset, opts.split, schema);
        if idx.is_empty() {
            let heads: Vec<&str> = schema.heads.iter().map(|h| h.name.as_str()).collect();
            return Err(LearnError::Dataset {
                path: opts.dataset.clone(),
                problem: format!("its {} split has no notes labelled with {}", opts.split.as_str(), heads.join(", ")),
            });
        }
        let unseen = match schema.kind {
            SchemaKind::Instruments => dataset
                .split_indices(opts.split)
                .into_iter()
                .filter(|&i| dataset.notes[i].labels.instrument.is_none() && dataset.notes[i].labels.family.is_some())
                .collect(),
            SchemaKind::Nsynth => Vec::new(),
        };
        Ok(Self {
            model_path,
            loaded,
            voter,
            dataset,
            dataset_path: opts.dataset.clone(),
            split: opts.split,
            idx,
            from: opts.from,
            from_audio: opts.from_audio,
            unseen,
        })
    }

    pub fn notes(&self) -> usize {
        self.idx.len()
    }

    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    pub fn dataset_path(&self) -> &Path {
        &self.dataset_path
    }

    pub fn split(&self) -> Split {
        self.split
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The data set's indices of the split's notes, in the order they are scored.
    pub fn indices(&self) -> &[usize] {
        &self.idx
    }

    /// The model's primary classes (instruments, or NSynth's families).
    pub fn classes(&self) -> &[String] {
        self.loaded.meta.primary_classes()
    }

    /// The split's notes as the model reads them: from the data set's store (built where
    /// missing) when clean, degraded and analysed as they are read through a chain; analysed
    /// from the audio when clean too with `from_audio`.
    pub fn examples(
        &self,
        chain: Option<(&ChainSpec, u64)>,
        threads: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Examples, LearnError> {
        let meta = &self.loaded.meta;
        let targets = |i: usize| self.dataset.classes(i, &meta.schema).expect("labelled");
        self.examples_of(&self.idx, &targets, chain, threads, progress)
    }

    /// The notes `idx` with the labels `classes` gives each, as [`EvalSet::examples`] reads them.
    fn examples_of(
        &self,
        idx: &[usize],
        classes: &dyn Fn(usize) -> NoteClasses,
        chain: Option<(&ChainSpec, u64)>,
        threads: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Examples, LearnError> {
        let (meta, dataset) = (&self.loaded.meta, &self.dataset);
        let input = meta.spec.input;
        let settings = StoreSettings::for_input(&input);
        let source = match chain {
            None if !self.from_audio => {
                let options = BuildOptions { threads: threads.max(1), ..Default::default() };
                build(dataset, &settings, &options, progress)?;
                NoteSource::Store { store: Arc::new(Store::open(dataset, &settings)?), rows: idx.to_vec() }
            }
            chain => NoteSource::Memory(
                dataset_views(dataset, idx, chain, &input, threads.max(1), progress)
                    .map_err(|problem| LearnError::Dataset { path: self.dataset_path.clone(), problem })?,
            ),
        };
        let g = settings.geometry();
        Ok(Examples {
            shape: InputShape::of(&input, g.stft_bins, g.cqt_bins),
            notes: idx.iter().map(|&i| dataset.notes[i].record.note_str.clone()).collect(),
            clean: source,
            degraded: Vec::new(),
            standardizer: meta.standardizer.clone(),
            input,
            augment: None,
            eq: None,
            shift: None,
            crop: None,
            offsets: match self.from {
                NoteStart::Onset => Vec::new(),
                NoteStart::Middle => {
                    idx.iter().map(|&i| input_frames(sounding_secs(&dataset.notes[i]) / 2.0, &input)).collect()
                }
            },
            played: None,
            targets: idx
                .iter()
                .map(|&i| {
                    let d = dataset.notes[i].labels.descriptors.unwrap_or(meta.descriptor_mean);
                    let c = classes(i);
                    Targets {
                        classes: c.classes,
                        qualities: c.qualities,
                        descriptors: std::array::from_fn(|k| (d[k] - meta.descriptor_mean[k]) / meta.descriptor_std[k]),
                        library: NO_LIBRARY,
                    }
                })
                .collect(),
        })
    }

    /// The family accuracy on the split's notes of instruments the model does not know.
    pub fn unseen_family(&self, chain: Option<(&ChainSpec, u64)>, threads: usize) -> Result<f64, LearnError> {
        let schema = &self.loaded.meta.schema;
        let family = schema.head("family").ok_or_else(|| LearnError::Model {
            path: self.model_path.clone(),
            problem: "it has no family head".into(),
        })?;
        // The instrument head's target is a placeholder: only the family is scored.
        let classes = |i: usize| {
            let note = &self.dataset.notes[i];
            let mut c = schema.classes_of(&note.record, Some(0), note.labels.family).expect("a family");
            c.classes[0] = 0;
            c
        };
        let examples = self.examples_of(&self.unseen, &classes, chain, threads, &|_, _| {})?;
        let scores = self.score(&examples)?;
        Ok(scores.accuracy(family))
    }

    /// Scores the notes as [`EvalSet::examples`] reads them.
    pub fn score(&self, examples: &Examples) -> Result<Scores, LearnError> {
        score(&self.loaded.model, examples, &self.loaded.meta, &self.voter, &Device::Cpu)
    }

    /// Each note's library (its bank; empty when the data set does not say).
    pub fn libraries(&self) -> Vec<String> {
        self.idx.iter().map(|&i| self.dataset.notes[i].record.bank.clone().unwrap_or_default()).collect()
    }

    /// The model as loaded, for what the scores do not hold (each view's embedding).
    pub fn model(&self) -> &LoadedModel {
        &self.loaded
    }

    /// The full report of the notes clean or through `chain` (its `chain` field left unset).
    pub fn report(
        &self,
        chain: Option<(&ChainSpec, u64)>,
        threads: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<EvalReport, LearnError> {
        let meta = &self.loaded.meta;
        let examples = self.examples(chain, threads, progress)?;
        let scores = self.score(&examples)?;
        let libraries = self.libraries();
        let library_probe = if libraries.iter().any(|l| *l != libraries[0]) {
            library_probe(&scores.embeddings, &libraries, 0)
        } else {
            None
        };
        let mut metrics = scores.metrics();
        if self.idx.iter().all(|&i| self.dataset.notes[i].labels.descriptors.is_some()) {
            for (name, r2) in Descriptors::NAMES.iter().zip(scores.r2) {
                metrics.insert(format!("r2_{name}"), r2);
            }
        } else {
            metrics.remove("r2_descriptors");
        }
        let confusion = Confusion::new(0, meta.primary_classes().to_vec(), scores.confused);
        let per_class_recall: BTreeMap<String, Option<f64>> =
            meta.primary_classes().iter().cloned().zip(confusion.recall()).collect();
        let support = confusion.support();
        let counted: Vec<f64> = confusion
            .recall()
            .into_iter()
            .zip(&support)
            .filter(|&(_, &n)| n >= MIN_BALANCED_NOTES)
            .filter_map(|(r, _)| r)
            .collect();
        if !counted.is_empty() {
            let name = &meta.schema.primary().name;
            metrics.insert(format!("balanced_{name}"), counted.iter().sum::<f64>() / counted.len() as f64);
        }
        Ok(EvalReport {
            model: self.model_path.display().to_string(),
            dataset: self.dataset_path.display().to_string(),
            split: self.split.as_str().into(),
            chain: None,
            chain_seed: chain.map(|(_, s)| s),
            shift_votes: self.voter.votes(),
            from: self.from,
            from_audio: self.from_audio,
            notes: examples.len(),
            metrics,
            per_class_recall,
            confusion,
            library_probe,
        })
    }
}

/// How long a note sounds before its release: a cut real note's measured length, or NSynth's
/// hold for a rendered one.
fn sounding_secs(note: &Note) -> f64 {
    note.record.extra.get("length_secs").and_then(serde_json::Value::as_f64).unwrap_or(NSYNTH_HOLD_SECS)
}
