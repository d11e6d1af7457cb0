//! The multi-task loss of a batch, and every task's scores over a set of examples.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::data::schema::LabelSchema;
use crate::learn::error::LearnError;
use crate::learn::network::loss::soft_cross_entropy;
use crate::learn::network::model::Model;
use crate::learn::network::modelfile::ModelMeta;
use crate::learn::notes::batch::{Examples, Targets};
use crate::learn::notes::inputs::NoteInputs;
use crate::learn::scoring::confusion::ConfusedNote;
use crate::learn::scoring::vote::{Voter, argmax};

/// Evaluation batches: as large as memory comfortably allows, no gradients kept.
const EVAL_BATCH: usize = 256;

/// A batch's targets: each single-label head's rows of class probabilities (one-hot, or mixed
/// by Mixup), the qualities' probabilities, and the standardised descriptors.
pub struct SoftTargets {
    pub classes: Vec<Tensor>,
    /// `[B, qualities]` in [0, 1], for a model with a quality head.
    pub qualities: Option<Tensor>,
    pub descriptors: Tensor,
    /// The notes' libraries, for the adversarial head (None without one).
    pub library: Option<Tensor>,
    /// The multi-label and mask targets of every row, single notes and mixtures.
    pub polyphony: Option<PolyTargets>,
}

/// The rows above are the batch's first (its single notes); these cover every row of it.
pub struct PolyTargets {
    /// `[B, labels]` in [0, 1], for a model with a multi-label head.
    pub multi: Option<Tensor>,
    pub label_weight: f64,
    /// The masks of the mixtures' sources, for a model with a mask head.
    pub masks: Option<MaskTargets>,
    pub mask_weight: f64,
}

/// Source `s` is class `classes[s]` of batch row `rows[s]`; its mask and the cells' weights are
/// `[S, T, stft_bins]`.
pub struct MaskTargets {
    pub rows: Vec<u32>,
    pub classes: Vec<u32>,
    pub masks: Tensor,
    pub weights: Tensor,
}

/// The multi-task loss of a batch: the weighted total, each head's own (named as its head,
/// `qualities`, `descriptors`), and the library adversary's when it takes part (in the total).
pub struct MtlLoss {
    pub total: Tensor,
    pub parts: Vec<(String, Tensor)>,
    pub library: Option<Tensor>,
}

/// The multi-task loss of one batch in training mode, with the heads' outputs.
pub fn mtl_loss(
    model: &Model,
    x: &crate::learn::notes::batch::BatchInputs,
    targets: &SoftTargets,
    w: &crate::learn::scoring::score::LossWeights,
    adversary: Option<&crate::learn::scoring::score::LibraryAdversary>,
) -> candle_core::Result<(crate::learn::network::model::Outputs, MtlLoss)> {
    let (e, frames) = model.embed_frames(&x.stft, &x.cqt, true)?;
    let out = model.heads(&e)?;
    // The single-label targets are the first rows' (the single notes).
    let (notes, rows) = (targets.descriptors.dim(0)?, e.dim(0)?);
    let first = |t: &Tensor| if notes == rows { Ok(t.clone()) } else { t.narrow(0, 0, notes) };
    let mut parts = Vec::new();
    for ((name, _), (logits, target)) in model.spec.classes.heads.iter().zip(out.classes.iter().zip(&targets.classes)) {
        parts.push((name.clone(), soft_cross_entropy(&first(logits)?, target)?, w.of(name)));
    }
    if let (Some(logits), Some(target)) = (&out.qualities, &targets.qualities) {
        parts.push((
            "qualities".into(),
            crate::learn::network::loss::bce_with_logits(&first(logits)?, target)?,
            w.of("qualities"),
        ));
    }
    parts.push((
        "descriptors".into(),
        candle_nn::loss::mse(&first(&out.descriptors)?, &targets.descriptors)?,
        w.of("descriptors"),
    ));
    if let Some(p) = &targets.polyphony {
        if let (Some(logits), Some(target)) = (&out.multi, &p.multi) {
            // Summed over the labels, so an example's labels weigh as much as one single-label
            // head's cross-entropy does: averaged over 24 labels, the mixtures' few positives
            // barely moved the network (2-note mixtures of the train split at mAP 0.63 after 20
            // epochs, single notes at 0.98).
            let labels = logits.dim(1)? as f64;
            let loss = (crate::learn::network::loss::bce_with_logits(logits, target)? * labels)?;
            parts.push(("multi_label".into(), loss, p.label_weight));
        }
        if let Some(m) = &p.masks
            && let Some(head) = model.mask_head()
        {
            let predicted = head.source_masks(&x.stft, &frames, &m.rows, &m.classes)?;
            parts.push((
                "mask".into(),
                crate::learn::network::mask_head::weighted_mse(&predicted, &m.masks, &m.weights)?,
                p.mask_weight,
            ));
        }
    }
    let mut total: Option<Tensor> = None;
    for (_, loss, weight) in &parts {
        let weighted = (loss * *weight)?;
        total = Some(match total {
            Some(t) => (t + weighted)?,
            None => weighted,
        });
    }
    let mut total = total.expect("the descriptors' loss is always there");
    let mut library = None;
    if let (Some(a), Some(target)) = (adversary, &targets.library)
        && let Some(logits) = model.library_logits(&e, a.reversal)?
    {
        let l_lib = soft_cross_entropy(&first(&logits)?, target)?;
        total = (total + (&l_lib * a.weight)?)?;
        library = Some(l_lib);
    }
    let parts = parts.into_iter().map(|(name, loss, _)| (name, loss)).collect();
    Ok((out, MtlLoss { total, parts, library }))
}

/// Every task's predictions over a set of examples, and their scores.
pub struct Scores {
    pub notes: usize,
    /// The single-label heads' names, and how many notes each got right.
    pub heads: Vec<String>,
    pub correct: Vec<usize>,
    /// The qualities' names, and per quality the true positives, false positives and false
    /// negatives at probability 0.5.
    pub qualities: Vec<String>,
    pub quality_counts: Vec<[usize; 3]>,
    pub r2: [f64; 5],
    /// The mean cross-entropy of the primary head.
    pub primary_loss: f64,
    pub confused: Vec<ConfusedNote>,
    /// Predicted descriptors in their own units, and the truth.
    pub descriptors: Vec<([f32; 5], [f32; 5])>,
    /// Each example's embedding (of its unshifted input), in order.
    pub embeddings: Vec<Vec<f32>>,
}

impl Scores {
    pub fn accuracy(&self, head: usize) -> f64 {
        self.correct[head] as f64 / self.notes.max(1) as f64
    }

    /// F1 of each quality: 2 TP / (2 TP + FP + FN), 0 for a quality neither present nor
    /// predicted.
    pub fn f1(&self) -> Vec<f64> {
        self.quality_counts
            .iter()
            .map(|&[tp, fp, fn_]| if tp + fp + fn_ == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64 })
            .collect()
    }

    /// `acc_<head>` for every head, `r2_descriptors`, and with qualities `f1_<quality>` and their
    /// mean, `f1_qualities`.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut m: BTreeMap<String, f64> =
            self.heads.iter().enumerate().map(|(k, name)| (format!("acc_{name}"), self.accuracy(k))).collect();
        m.insert("r2_descriptors".into(), self.r2.iter().sum::<f64>() / 5.0);
        if !self.qualities.is_empty() {
            let f1 = self.f1();
            for (name, f) in self.qualities.iter().zip(&f1) {
                m.insert(format!("f1_{name}"), *f);
            }
            m.insert("f1_qualities".into(), f1.iter().sum::<f64>() / f1.len() as f64);
        }
        m
    }
}

/// Runs the model over examples (clean inputs) in evaluation mode, each prediction the vote of
/// `voter`'s shifted copies.
pub fn score(
    model: &Model,
    examples: &Examples,
    meta: &ModelMeta,
    voter: &Voter,
    device: &Device,
) -> Result<Scores, LearnError> {
    let heads: Vec<String> = meta.schema.heads.iter().map(|h| h.name.clone()).collect();
    let mut s = Scores {
        notes: 0,
        correct: vec![0; heads.len()],
        heads,
        qualities: meta.schema.qualities.clone(),
        quality_counts: vec![[0; 3]; meta.schema.qualities.len()],
        r2: [0.0; 5],
        primary_loss: 0.0,
        confused: Vec::new(),
        descriptors: Vec::new(),
        embeddings: Vec::with_capacity(examples.len()),
    };
    let mut loss_sum = 0.0;
    for chunk in (0..examples.len()).collect::<Vec<_>>().chunks(EVAL_BATCH) {
        let owned = {
            use rayon::prelude::*;
            chunk.par_iter().map(|&i| examples.clean(i)).collect::<Result<Vec<NoteInputs>, _>>()?
        };
        let inputs: Vec<&NoteInputs> = owned.iter().collect();
        let mut p = voter.probabilities(model, &examples.shape, &inputs, device)?;
        s.embeddings.append(&mut p.embedding);
        let targets: Vec<&Targets> = chunk.iter().map(|&i| &examples.targets[i]).collect();
        for (j, t) in targets.iter().enumerate() {
            // The smallest positive f32 keeps a vanishing probability's loss finite.
            loss_sum -= f64::from(p.classes[0][j][t.primary()].max(f32::MIN_POSITIVE).ln());
        }
        for (k, rows) in p.classes.iter().enumerate() {
            for (j, (row, t)) in rows.iter().zip(&targets).enumerate() {
                let predicted = argmax(row);
                let truth = usize::from(t.classes[k]);
                if predicted == truth {
                    s.correct[k] += 1;
                }
                if k == 0 {
                    s.confused.push(ConfusedNote { note: examples.notes[chunk[j]].clone(), truth, predicted });
                }
            }
        }
        for (row, t) in p.qualities.iter().zip(&targets) {
            for (q, (&prob, counts)) in row.iter().zip(&mut s.quality_counts).enumerate() {
                let (truth, said) = (t.qualities >> q & 1 == 1, prob >= 0.5);
                match (truth, said) {
                    (true, true) => counts[0] += 1,
                    (false, true) => counts[1] += 1,
                    (true, false) => counts[2] += 1,
                    (false, false) => {}
                }
            }
        }
        for (d, t) in p.descriptors.iter().zip(&targets) {
            let unit = |v: &[f32]| -> [f32; 5] {
                std::array::from_fn(|k| v[k] * meta.descriptor_std[k] + meta.descriptor_mean[k])
            };
            s.descriptors.push((unit(d), unit(&t.descriptors)));
        }
        s.notes += chunk.len();
    }
    let (pred, truth): (Vec<[f32; 5]>, Vec<[f32; 5]>) = s.descriptors.iter().cloned().unzip();
    s.r2 = crate::learn::network::loss::r_squared(&pred, &truth);
    s.primary_loss = loss_sum / s.notes.max(1) as f64;
    Ok(s)
}

/// A library head behind a gradient reversal: the head learns to tell the training notes'
/// libraries apart while the encoders learn to leave it nothing to tell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryAdversary {
    /// Weight of the head's cross-entropy in the total loss.
    pub weight: f64,
    /// The reversed gradient's scale at the encoders.
    pub reversal: f64,
}

/// `[mtl.loss_weights]`: the weight of each head's loss, by the head's name in the data set's
/// label schema (`instrument`, `family`, `pitch_class`, `velocity`; NSynth's `family`, `source`,
/// `pitch`, `velocity`, `qualities`), and `descriptors`. Training refuses a weight for a head the
/// schema lacks and a head without one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LossWeights(pub BTreeMap<String, f64>);

impl LossWeights {
    /// The weight of a head; 0 for one not named.
    pub fn of(&self, head: &str) -> f64 {
        self.0.get(head).copied().unwrap_or(0.0)
    }

    pub fn set(&mut self, head: &str, weight: f64) {
        self.0.insert(head.to_string(), weight);
    }

    /// Every head of the schema has a weight, and every weight a head.
    pub fn check_against(&self, schema: &LabelSchema) -> Result<(), String> {
        let mut heads: Vec<&str> = schema.heads.iter().map(|h| h.name.as_str()).collect();
        if !schema.qualities.is_empty() {
            heads.push("qualities");
        }
        for name in self.0.keys() {
            if name != "descriptors" && !heads.contains(&name.as_str()) {
                return Err(format!(
                    "mtl.loss_weights.{name}: the data set's labels have no such head; its heads are {}",
                    heads.join(", ")
                ));
            }
        }
        if let Some(missing) = heads.iter().find(|h| !self.0.contains_key(**h)) {
            return Err(format!("mtl.loss_weights has no weight for the data set's head `{missing}`"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::network::loss::nt_xent;
    use crate::learn::network::model::Backbone;
    use crate::learn::network::model::{Classes, ModelSpec, build};
    use crate::learn::notes::batch::BatchInputs;
    use crate::learn::training::config::TrainConfig;
    use rand::SeedableRng as _;

    fn small_spec(backbone: Backbone) -> ModelSpec {
        let mut config = TrainConfig::parse(include_str!("../../../models/default.toml"), "default.toml").unwrap();
        let m = &mut config.model;
        (m.backbone, m.width, m.fused, m.rnn_hidden, m.projection, m.dropout) = (backbone, 16, 24, 8, 8, 0.0);
        let classes = Classes { qualities: 3, ..Classes::fixed(4, 3, 5, 2, 3) };
        ModelSpec { input: config.input, model: config.model, stft_bins: 10, cqt_bins: 12, classes }
    }

    fn random(rng: &mut impl rand::Rng, dims: &[usize]) -> Tensor {
        let v: Vec<f32> = (0..dims.iter().product()).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Tensor::from_vec(v, dims, &Device::Cpu).unwrap()
    }

    fn one_hot(rows: usize, classes: usize) -> Tensor {
        let v: Vec<f32> =
            (0..rows * classes).map(|i| if i % classes == (i / classes) % classes { 1.0 } else { 0.0 }).collect();
        Tensor::from_vec(v, (rows, classes), &Device::Cpu).unwrap()
    }

    /// Names of the parameters whose gradient is missing or all zeros.
    fn without_gradient(
        varmap: &candle_nn::VarMap,
        grads: &candle_core::backprop::GradStore,
        skip: &str,
    ) -> Vec<String> {
        let data = varmap.data().lock().unwrap();
        let mut missing: Vec<String> = data
            .iter()
            .filter(|(name, _)| !name.starts_with(skip))
            .filter(|(_, var)| {
                grads
                    .get(var.as_tensor())
                    .is_none_or(|g| g.abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() == 0.0)
            })
            .map(|(name, _)| name.clone())
            .collect();
        missing.sort();
        missing
    }

    #[test]
    fn every_parameter_learns_in_both_stages() {
        // Gradients that silently stop at a layer norm leave the encoders frozen while the loss
        // still falls through the layers above it; this is the check that catches it.
        for backbone in [Backbone::Crnn, Backbone::Conformer] {
            let spec = small_spec(backbone);
            let (varmap, model) = build(&spec, 3, &Device::Cpu).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let (b, t) = (6, 16);
            let x = BatchInputs { stft: random(&mut rng, &[b, t, 10]), cqt: random(&mut rng, &[b, t, 12]) };
            let c = &spec.classes;
            let targets = SoftTargets {
                classes: c.heads.iter().map(|(_, n)| one_hot(b, *n)).collect(),
                qualities: Some(one_hot(b, c.qualities)),
                descriptors: random(&mut rng, &[b, c.descriptors]),
                polyphony: None,
                library: Some(one_hot(b, c.library)),
            };
            let config = TrainConfig::parse(include_str!("../../../models/default.toml"), "default.toml").unwrap();
            let adversary = crate::learn::scoring::score::LibraryAdversary { weight: 0.5, reversal: 1.0 };
            let mut weights = config.mtl.loss_weights.clone();
            weights.set("qualities", 0.3);
            let (_, loss) = mtl_loss(&model, &x, &targets, &weights, Some(&adversary)).unwrap();
            assert!(loss.library.is_some(), "the library head takes part");
            let grads = loss.total.backward().unwrap();
            assert_eq!(without_gradient(&varmap, &grads, "proj_"), Vec::<String>::new(), "{backbone:?}, multi-task");

            let (zs, zc) = model.project_views(&x.stft, &x.cqt).unwrap();
            let grads = nt_xent(&zs, &zc, 0.5).unwrap().backward().unwrap();
            let missing = without_gradient(&varmap, &grads, "");
            let expected: Vec<&String> = missing
                .iter()
                .filter(|n| n.starts_with("stft.") || n.starts_with("cqt.") || n.starts_with("proj_"))
                .collect();
            assert!(expected.is_empty(), "{backbone:?}, contrastive: {expected:?}");
        }
    }
}
