//! Each note's embeddings as a model holds them: the fused embedding its heads read, and each
//! view's projection from the contrastive stage (the seed's z_STFT and z_CQT), with the note's
//! label, family, library and the model's answer, written as one .npz.

use std::path::Path;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::data::npz::{NpzReader, NpzWriter};
use crate::degrade::ChainSpec;
use crate::learn::assessment::eval::{EvalOptions, EvalSet};
use crate::learn::error::LearnError;
use crate::learn::notes::batch::to_tensors;

/// Notes projected per forward pass.
const BATCH: usize = 64;

/// Rows of equal length in one flat buffer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn from_rows(rows: &[Vec<f32>]) -> Self {
        let cols = rows.first().map_or(0, Vec::len);
        Self { rows: rows.len(), cols, data: rows.concat() }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
}

/// What an embedding file says besides its arrays.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingMeta {
    pub model: String,
    pub dataset: String,
    pub split: String,
    pub chain: Option<String>,
    pub chain_seed: Option<u64>,
    /// The primary head's classes (instruments, or NSynth's families); `label` and `predicted`
    /// index them.
    pub classes: Vec<String>,
    /// Each note's `note_str`, in row order.
    pub notes: Vec<String>,
    /// Each note's family name ("" when the data set has none).
    pub families: Vec<String>,
    /// Each note's library (its bank; "" when unknown).
    pub libraries: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Embeddings {
    pub meta: EmbeddingMeta,
    pub label: Vec<i32>,
    pub predicted: Vec<i32>,
    /// `[notes, E]`, what the heads read.
    pub fused: Matrix,
    /// `[notes, P]` each: each view encoded alone and projected, as the contrastive loss sees them.
    pub z_stft: Matrix,
    pub z_cqt: Matrix,
}

impl Embeddings {
    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    /// The mean cosine similarity of each note's STFT and CQT projections: how far "z_STFT ≈
    /// z_CQT" holds (1 when they coincide, about 0 for unrelated directions).
    pub fn cross_view_alignment(&self) -> f64 {
        if self.z_stft.rows == 0 {
            return 0.0;
        }
        let cosine = |a: &[f32], b: &[f32]| {
            let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            if na * nb > 0.0 { dot / (na * nb) } else { 0.0 }
        };
        (0..self.z_stft.rows).map(|i| cosine(self.z_stft.row(i), self.z_cqt.row(i))).sum::<f64>()
            / self.z_stft.rows as f64
    }

    /// Writes `fused`, `z_stft`, `z_cqt` (float32), `label` and `predicted` (int32) and `meta` (a
    /// JSON string) into one .npz, atomically.
    pub fn write(&self, path: &Path) -> Result<(), LearnError> {
        let n = self.len() as u64;
        let meta = serde_json::to_string(&self.meta).expect("the meta always serialises");
        crate::atomic_file::write_atomically(path, |w| {
            let mut npz = NpzWriter::new(w);
            npz.f32("fused", &[n, self.fused.cols as u64], self.fused.data.iter().copied())?;
            npz.f32("z_stft", &[n, self.z_stft.cols as u64], self.z_stft.data.iter().copied())?;
            npz.f32("z_cqt", &[n, self.z_cqt.cols as u64], self.z_cqt.data.iter().copied())?;
            npz.i32("label", &[n], self.label.iter().copied())?;
            npz.i32("predicted", &[n], self.predicted.iter().copied())?;
            npz.text("meta", &meta)?;
            npz.finish()
        })
        .map_err(|source| LearnError::Write { path: path.to_owned(), source })
    }

    /// Reads a file [`Embeddings::write`] wrote, every array's shape checked against the others.
    pub fn read(path: &Path) -> Result<Self, LearnError> {
        let bad = |problem: String| LearnError::Embeddings { path: path.to_owned(), problem };
        let mut npz = NpzReader::open(path).map_err(bad)?;
        let array = |p: crate::data::npz::ArrayProblem| bad(format!("array `{}`: {}", p.array, p.message));
        let (shape, label) = npz.i32("label", &[None]).map_err(array)?;
        let n = shape[0];
        let (_, predicted) = npz.i32("predicted", &[Some(n)]).map_err(array)?;
        let mut matrix = |name: &'static str| -> Result<Matrix, LearnError> {
            let (shape, data) = npz.f32(name, &[Some(n), None], true).map_err(array)?;
            Ok(Matrix { rows: n as usize, cols: shape[1] as usize, data })
        };
        let (fused, z_stft, z_cqt) = (matrix("fused")?, matrix("z_stft")?, matrix("z_cqt")?);
        if z_stft.cols != z_cqt.cols {
            return Err(bad(format!("z_stft has {} columns but z_cqt {}", z_stft.cols, z_cqt.cols)));
        }
        let text = npz.text("meta").map_err(array)?;
        let meta: EmbeddingMeta = serde_json::from_str(&text).map_err(|e| bad(format!("meta: {e}")))?;
        let n = n as usize;
        if [meta.notes.len(), meta.families.len(), meta.libraries.len()].iter().any(|&l| l != n) {
            return Err(bad(format!("meta lists notes, families and libraries for other than its {n} rows")));
        }
        let classes = meta.classes.len() as i32;
        if let Some(v) = label.iter().chain(&predicted).find(|&&v| !(0..classes).contains(&v)) {
            return Err(bad(format!("class index {v} outside the {classes} classes")));
        }
        Ok(Self { meta, label, predicted, fused, z_stft, z_cqt })
    }
}

/// The row of `train` labelled `class` whose fused embedding lies nearest `query` (Euclidean),
/// leaving out the note `exclude`; with its distance. None when no row has that label.
pub fn nearest_of_class(train: &Embeddings, query: &[f32], class: usize, exclude: &str) -> Option<(usize, f32)> {
    (0..train.len())
        .filter(|&i| train.label[i] == class as i32 && train.meta.notes[i] != exclude)
        .map(|i| {
            let d: f32 = train.fused.row(i).iter().zip(query).map(|(a, b)| (a - b) * (a - b)).sum();
            (i, d.sqrt())
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// Embeds the split's notes (clean, or through the chain of `opts`); `progress` hears the notes
/// read, then the notes embedded.
pub fn embed(opts: &EvalOptions, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Embeddings, LearnError> {
    let chain = match &opts.chain {
        None => None,
        Some((path, seed)) => Some((
            ChainSpec::load(path)
                .map_err(|e| LearnError::Config { path: path.display().to_string(), problem: e.to_string() })?,
            *seed,
        )),
    };
    let mut embeddings = embed_through(opts, chain.as_ref().map(|(c, s)| (c, *s)), progress)?;
    embeddings.meta.chain = opts.chain.as_ref().map(|(p, _)| p.display().to_string());
    Ok(embeddings)
}

/// As [`embed`], through a chain given as it is rather than as a file (`opts.chain` unread; the
/// meta names the chain "as given").
pub fn embed_through(
    opts: &EvalOptions,
    chain: Option<(&ChainSpec, u64)>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Embeddings, LearnError> {
    let set = EvalSet::open(opts)?;
    let examples = set.examples(chain, opts.threads, progress)?;
    let scores = set.score(&examples)?;
    let model = &set.model().model;
    let (mut z_stft, mut z_cqt) = (Vec::with_capacity(examples.len()), Vec::with_capacity(examples.len()));
    let n = examples.len();
    for start in (0..n).step_by(BATCH) {
        let inputs = (start..n.min(start + BATCH)).map(|i| examples.clean(i)).collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<(&[f32], &[f32])> = inputs.iter().map(|x| (x.stft.as_slice(), x.cqt.as_slice())).collect();
        let x = to_tensors(&examples.shape, &rows, &Device::Cpu)?;
        let (s, c) = crate::learn::network::runtime::on_workers(|| model.project_views(&x.stft, &x.cqt))?;
        z_stft.extend(s.to_vec2::<f32>()?);
        z_cqt.extend(c.to_vec2::<f32>()?);
        progress(start + inputs.len(), n);
    }
    let dataset = set.dataset();
    let families = set
        .indices()
        .iter()
        .map(|&i| {
            let family = dataset.notes[i].labels.family.map(usize::from);
            family.and_then(|f| dataset.taxonomy.families.get(f)).cloned().unwrap_or_default()
        })
        .collect();
    Ok(Embeddings {
        meta: EmbeddingMeta {
            model: set.model_path().display().to_string(),
            dataset: set.dataset_path().display().to_string(),
            split: set.split().as_str().into(),
            chain: chain.map(|_| "as given".into()),
            chain_seed: chain.map(|(_, s)| s),
            classes: set.classes().to_vec(),
            notes: examples.notes.clone(),
            families,
            libraries: set.libraries(),
        },
        label: scores.confused.iter().map(|c| c.truth as i32).collect(),
        predicted: scores.confused.iter().map(|c| c.predicted as i32).collect(),
        fused: Matrix::from_rows(&scores.embeddings),
        z_stft: Matrix::from_rows(&z_stft),
        z_cqt: Matrix::from_rows(&z_cqt),
    })
}
