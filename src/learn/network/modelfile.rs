//! Model files and checkpoints: safetensors whose metadata carries everything needed to use the
//! weights alone (architecture, input statistics, class names), written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomically;
use crate::data::schema::{ClassHead, LabelSchema, PitchLabels, SchemaKind};
use crate::data::taxonomy::PITCH_CLASSES;
use crate::dsp::{CqtConfig, StftConfig};
use crate::learn::error::LearnError;
use crate::learn::network::model::{Model, ModelSpec};
use crate::learn::network::stage::TrainStage;
use crate::learn::notes::inputs::{CACHE_FRAMES, Standardizer};

pub const MODEL_FORMAT: &str = "timbrescope-model-1";
const META_KEY: &str = "timbrescope";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "MetaFile")]
pub struct ModelMeta {
    pub format: String,
    pub spec: ModelSpec,
    pub standardizer: Standardizer,
    /// Mean and standard deviation of each descriptor over the training notes (targets are standardised).
    pub descriptor_mean: [f32; 5],
    pub descriptor_std: [f32; 5],
    /// The labels the heads answer: their names and their classes' names.
    pub schema: LabelSchema,
    /// Where the weights are in training: the stage (None before training starts), finished
    /// epochs, optimiser steps.
    pub stage: Option<TrainStage>,
    pub epoch: usize,
    pub step: usize,
    /// Predictions average over the input shifted by up to this many semitones either way
    /// (`learn::scoring::vote`).
    pub shift_votes: u32,
    /// The sample libraries of the training notes, in label order (the library head's classes
    /// and the probe's).
    pub libraries: Vec<String>,
    /// Free-form provenance: data set, config description, scores.
    pub notes: serde_json::Map<String, serde_json::Value>,
}

/// The metadata as files hold it: today's, or from before label schemas (the taxonomy's
/// instruments, families and velocities), votes or libraries.
#[derive(Deserialize)]
struct MetaFile {
    format: String,
    spec: ModelSpec,
    standardizer: Standardizer,
    descriptor_mean: [f32; 5],
    descriptor_std: [f32; 5],
    #[serde(default)]
    schema: Option<LabelSchema>,
    #[serde(default)]
    instruments: Vec<String>,
    #[serde(default)]
    families: Vec<String>,
    #[serde(default)]
    velocities: Vec<u8>,
    #[serde(deserialize_with = "crate::learn::network::stage::empty_as_none")]
    stage: Option<TrainStage>,
    epoch: usize,
    step: usize,
    #[serde(default)]
    shift_votes: u32,
    #[serde(default)]
    libraries: Vec<String>,
    #[serde(default)]
    notes: serde_json::Map<String, serde_json::Value>,
}

impl From<MetaFile> for ModelMeta {
    fn from(f: MetaFile) -> Self {
        let schema = f.schema.unwrap_or_else(|| {
            let names = |v: &[String]| v.to_vec();
            LabelSchema {
                kind: SchemaKind::Instruments,
                heads: vec![
                    ClassHead { name: "instrument".into(), classes: names(&f.instruments) },
                    ClassHead { name: "family".into(), classes: names(&f.families) },
                    ClassHead {
                        name: "pitch_class".into(),
                        classes: PITCH_CLASSES.iter().map(|c| c.to_string()).collect(),
                    },
                    ClassHead {
                        name: "velocity".into(),
                        classes: f.velocities.iter().map(|v| v.to_string()).collect(),
                    },
                ],
                pitch: PitchLabels::Class,
                qualities: Vec::new(),
                velocities: f.velocities.clone(),
            }
        });
        ModelMeta {
            format: f.format,
            spec: f.spec,
            standardizer: f.standardizer,
            descriptor_mean: f.descriptor_mean,
            descriptor_std: f.descriptor_std,
            schema,
            stage: f.stage,
            epoch: f.epoch,
            step: f.step,
            shift_votes: f.shift_votes,
            libraries: f.libraries,
            notes: f.notes,
        }
    }
}

impl ModelMeta {
    /// The primary head's class names (the taxonomy's instruments for ours, NSynth's families).
    pub fn primary_classes(&self) -> &[String] {
        &self.schema.primary().classes
    }
}

/// Writes the model's parameters (and any extra tensors, e.g. optimiser moments) with `meta`.
pub fn save(path: &Path, meta: &ModelMeta, varmap: &VarMap, extra: &[(String, Tensor)]) -> Result<(), LearnError> {
    let data = varmap.data().lock().expect("the var map is not poisoned");
    let mut tensors: Vec<(String, Tensor)> = data.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    drop(data);
    tensors.extend(extra.iter().cloned());
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let info = HashMap::from([(META_KEY.to_string(), serde_json::to_string(meta).expect("metadata serialises"))]);
    let bytes = safetensors::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), Some(info))
        .map_err(|e| LearnError::Model { path: path.to_owned(), problem: e.to_string() })?;
    write_atomically(path, |w| std::io::Write::write_all(w, &bytes))
        .map_err(|source| LearnError::Write { path: path.to_owned(), source })
}

/// Reads a model file or checkpoint: its metadata and every tensor.
pub fn read(path: &Path, device: &Device) -> Result<(ModelMeta, HashMap<String, Tensor>), LearnError> {
    let bytes = std::fs::read(path).map_err(|source| LearnError::Read { path: path.to_owned(), source })?;
    read_bytes(&bytes, path, device)
}

/// [`read`] of a model file's bytes; `path` names it in errors.
pub fn read_bytes(
    bytes: &[u8],
    path: &Path,
    device: &Device,
) -> Result<(ModelMeta, HashMap<String, Tensor>), LearnError> {
    let bad = |problem: String| LearnError::Model { path: path.to_owned(), problem };
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let text = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(META_KEY))
        .ok_or_else(|| bad("no timbrescope metadata: not a model written by timbrescope".into()))?;
    let meta: ModelMeta = serde_json::from_str(text).map_err(|e| bad(format!("unreadable metadata ({e})")))?;
    if meta.format != MODEL_FORMAT {
        return Err(bad(format!("format {:?}, this version reads {MODEL_FORMAT:?}", meta.format)));
    }
    check_inputs(&meta).map_err(|problem| bad(format!("the metadata's inputs do not fit together: {problem}")))?;
    let tensors = candle_core::safetensors::load_buffer(bytes, device).map_err(|e| bad(e.to_string()))?;
    Ok((meta, tensors))
}

/// Copies the tensors into a model of architecture `spec`: every parameter must be there with
/// its shape, or the file is of another architecture.
/// The input statistics and pooling describe the views this version computes, and the network
/// takes what they give: otherwise finishing an input would index past the statistics.
fn check_inputs(meta: &ModelMeta) -> Result<(), String> {
    let (s, input) = (&meta.standardizer, &meta.spec.input);
    let views = [
        ("STFT", &s.stft_mean, &s.stft_std, StftConfig::default().bins(), input.stft_pool, meta.spec.stft_bins),
        ("CQT", &s.cqt_mean, &s.cqt_std, CqtConfig::default().n_bins, input.cqt_pool, meta.spec.cqt_bins),
    ];
    for (view, mean, std, raw, pool, bins) in views {
        if mean.len() != raw || std.len() != raw {
            return Err(format!("{view} statistics of {} and {} bins, for a view of {raw}", mean.len(), std.len()));
        }
        if mean.iter().chain(std.iter()).any(|v| !v.is_finite()) {
            return Err(format!("non-finite {view} statistics"));
        }
        // Pitch shifts interpolate between two pooled bins, so there must be two.
        if pool == 0 || raw / pool < 2 || raw / pool != bins {
            return Err(format!("{view} pooled by {pool} from {raw} bins, for a network of {bins}"));
        }
    }
    if input.time_pool == 0 || CACHE_FRAMES / input.time_pool == 0 {
        return Err(format!("time pooling by {} of {CACHE_FRAMES} frames", input.time_pool));
    }
    // The heads the network has are the ones the labels name, and one of them asks the pitch
    // (voting over pitch shifts moves its answer).
    let named: Vec<(&str, usize)> = meta.schema.heads.iter().map(|h| (h.name.as_str(), h.classes.len())).collect();
    let built: Vec<(&str, usize)> = meta.spec.classes.heads.iter().map(|(name, n)| (name.as_str(), *n)).collect();
    if named != built {
        return Err(format!("labels for heads {named:?}, a network with heads {built:?}"));
    }
    if !meta.schema.heads.iter().any(|h| h.name == "pitch_class" || h.name == "pitch") {
        return Err("no pitch head".into());
    }
    Ok(())
}

pub fn fill(varmap: &VarMap, tensors: &HashMap<String, Tensor>, path: &Path) -> Result<(), LearnError> {
    let data = varmap.data().lock().expect("the var map is not poisoned");
    for (name, var) in data.iter() {
        let other = |problem: String| LearnError::Architecture { path: path.to_owned(), problem };
        let t = tensors.get(name).ok_or_else(|| other(format!("it has no parameter {name}")))?;
        if t.dims() != var.dims() {
            return Err(other(format!("{name} is {:?} there, {:?} here", t.dims(), var.dims())));
        }
        var.set(&t.to_dtype(DType::F32).map_err(|e| other(e.to_string()))?).map_err(|e| other(e.to_string()))?;
    }
    Ok(())
}

/// A model ready to run, with what it needs to prepare its inputs and name its outputs.
pub struct LoadedModel {
    pub path: PathBuf,
    pub meta: ModelMeta,
    pub varmap: VarMap,
    pub model: Model,
}

pub fn load(path: &Path, device: &Device) -> Result<LoadedModel, LearnError> {
    let (meta, tensors) = read(path, device)?;
    assemble(path, meta, tensors, device)
}

/// The model shipped inside the binary (`models/timbrescope-small.safetensors` at build time),
/// so an installed binary predicts without the source tree.
pub fn load_shipped(device: &Device) -> Result<LoadedModel, LearnError> {
    let path = Path::new(SHIPPED_MODEL_NAME);
    let (meta, tensors) = read_bytes(SHIPPED_MODEL, path, device)?;
    assemble(path, meta, tensors, device)
}

pub const SHIPPED_MODEL_NAME: &str = "timbrescope-small.safetensors";
static SHIPPED_MODEL: &[u8] = include_bytes!("../../../models/timbrescope-small.safetensors");

fn assemble(
    path: &Path,
    meta: ModelMeta,
    tensors: HashMap<String, Tensor>,
    device: &Device,
) -> Result<LoadedModel, LearnError> {
    let varmap = VarMap::new();
    let model = Model::new(VarBuilder::from_varmap(&varmap, DType::F32, device), &meta.spec)
        .map_err(|e| LearnError::Architecture { path: path.to_owned(), problem: e.to_string() })?;
    fill(&varmap, &tensors, path)?;
    Ok(LoadedModel { path: path.to_owned(), meta, varmap, model })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzzing seed's tiny model (current metadata, with its label schema) with one
    /// same-length edit in its metadata.
    fn edited(from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/model/tiny.safetensors");
        let mut bytes = std::fs::read(seed).unwrap();
        let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).expect("the text is in the metadata");
        bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
        bytes
    }

    #[test]
    fn metadata_that_does_not_fit_the_network_is_refused_by_name() {
        // Found by fuzzing: a renamed pitch head made the voter panic. (Statistics of the wrong
        // length, the other finding, are replayed from fuzz/regressions/model.)
        let path = Path::new("edited.safetensors");
        let problem = |bytes: Vec<u8>| match read_bytes(&bytes, path, &Device::Cpu) {
            Err(LearnError::Model { problem, .. }) => problem,
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted"),
        };
        let renamed = problem(edited("name\\\":\\\"pitch_class", "name\\\":\\\"pitch_clasz"));
        assert!(renamed.contains("labels for heads") && renamed.contains("pitch_clasz"), "{renamed}");
        // Unedited, it reads.
        assert!(read_bytes(&edited("pitch_class", "pitch_class"), path, &Device::Cpu).is_ok());
    }
}
