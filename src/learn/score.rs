//! The multi-task loss of a batch, and every task's scores over a set of examples.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use super::LearnError;
use super::batch::{Examples, Targets};
use super::inputs::NoteInputs;
use super::loss::soft_cross_entropy;
use super::model::Model;
use super::modelfile::ModelMeta;
use super::run::ConfusedNote;
use super::vote::{Voter, argmax};

/// Evaluation batches: as large as memory comfortably allows, no gradients kept.
const EVAL_BATCH: usize = 256;

/// A batch's targets as rows of class probabilities (one-hot, or mixed by Mixup) and
/// standardised descriptors.
pub struct SoftTargets {
    pub instrument: Tensor,
    pub family: Tensor,
    pub pitch_class: Tensor,
    pub velocity: Tensor,
    pub descriptors: Tensor,
    /// The notes' libraries, for the adversarial head (None without one).
    pub library: Option<Tensor>,
}

/// The multi-task loss of one batch in training mode: `[total, instrument, family, pitch class,
/// velocity, descriptors]`, with the heads' outputs, and the library adversary's loss when the
/// model has its head and the targets their libraries (it is in the total).
pub fn mtl_loss(
    model: &Model,
    x: &super::batch::BatchInputs,
    targets: &SoftTargets,
    w: &super::config::LossWeights,
    adversary: Option<&super::config::LibraryAdversary>,
) -> candle_core::Result<(super::model::Outputs, [Tensor; 6], Option<Tensor>)> {
    let e = model.embed(&x.stft, &x.cqt, true)?;
    let out = model.heads(&e)?;
    let l_inst = soft_cross_entropy(&out.instrument, &targets.instrument)?;
    let l_fam = soft_cross_entropy(&out.family, &targets.family)?;
    let l_pc = soft_cross_entropy(&out.pitch_class, &targets.pitch_class)?;
    let l_vel = soft_cross_entropy(&out.velocity, &targets.velocity)?;
    let l_desc = candle_nn::loss::mse(&out.descriptors, &targets.descriptors)?;
    let total = ((((&l_inst * w.instrument)? + (&l_fam * w.family)?)?
        + ((&l_pc * w.pitch_class)? + (&l_vel * w.velocity)?)?)?
        + (&l_desc * w.descriptors)?)?;
    let (total, l_lib) = match (adversary, &targets.library) {
        (Some(a), Some(library)) => match model.library_logits(&e, a.reversal)? {
            Some(logits) => {
                let l_lib = soft_cross_entropy(&logits, library)?;
                ((total + (&l_lib * a.weight)?)?, Some(l_lib))
            }
            None => (total, None),
        },
        _ => (total, None),
    };
    Ok((out, [total, l_inst, l_fam, l_pc, l_vel, l_desc], l_lib))
}

/// Every task's predictions over a set of examples, and their scores.
pub struct Scores {
    pub notes: usize,
    pub correct: [usize; 4],
    pub r2: [f64; 5],
    pub instrument_loss: f64,
    pub confused: Vec<ConfusedNote>,
    /// Predicted descriptors in their own units, and the truth.
    pub descriptors: Vec<([f32; 5], [f32; 5])>,
    /// Each example's embedding (of its unshifted input), in order.
    pub embeddings: Vec<Vec<f32>>,
}

impl Scores {
    pub const TASKS: [&'static str; 4] = ["instrument", "family", "pitch_class", "velocity"];

    pub fn accuracy(&self, task: usize) -> f64 {
        self.correct[task] as f64 / self.notes.max(1) as f64
    }

    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut m: BTreeMap<String, f64> =
            Self::TASKS.iter().enumerate().map(|(k, name)| (format!("acc_{name}"), self.accuracy(k))).collect();
        m.insert("r2_descriptors".into(), self.r2.iter().sum::<f64>() / 5.0);
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
    let mut s = Scores {
        notes: 0,
        correct: [0; 4],
        r2: [0.0; 5],
        instrument_loss: 0.0,
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
            loss_sum -= f64::from(p.instrument[j][usize::from(t.instrument)].max(f32::MIN_POSITIVE).ln());
        }
        let heads = [&p.instrument, &p.family, &p.pitch_class, &p.velocity];
        for (k, rows) in heads.iter().enumerate() {
            for (j, (row, t)) in rows.iter().zip(&targets).enumerate() {
                let predicted = argmax(row);
                let truth = [t.instrument, t.family, t.pitch_class, t.velocity][k];
                if predicted == usize::from(truth) {
                    s.correct[k] += 1;
                }
                if k == 0 {
                    s.confused.push(ConfusedNote {
                        note: examples.notes[chunk[j]].clone(),
                        truth: usize::from(truth),
                        predicted,
                    });
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
    s.r2 = super::loss::r_squared(&pred, &truth);
    s.instrument_loss = loss_sum / s.notes.max(1) as f64;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::batch::BatchInputs;
    use crate::learn::config::{Backbone, TrainConfig};
    use crate::learn::loss::nt_xent;
    use crate::learn::model::{Classes, ModelSpec, build};
    use rand::SeedableRng as _;

    fn small_spec(backbone: Backbone) -> ModelSpec {
        let mut config = TrainConfig::parse(include_str!("../../models/default.toml"), "default.toml").unwrap();
        let m = &mut config.model;
        (m.backbone, m.width, m.fused, m.rnn_hidden, m.projection, m.dropout) = (backbone, 16, 24, 8, 8, 0.0);
        let classes = Classes { instrument: 4, family: 3, pitch_class: 5, velocity: 2, descriptors: 5, library: 3 };
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
                instrument: one_hot(b, c.instrument),
                family: one_hot(b, c.family),
                pitch_class: one_hot(b, c.pitch_class),
                velocity: one_hot(b, c.velocity),
                descriptors: random(&mut rng, &[b, c.descriptors]),
                library: Some(one_hot(b, c.library)),
            };
            let config = TrainConfig::parse(include_str!("../../models/default.toml"), "default.toml").unwrap();
            let adversary = crate::learn::config::LibraryAdversary { weight: 0.5, reversal: 1.0 };
            let (_, losses, l_lib) =
                mtl_loss(&model, &x, &targets, &config.mtl.loss_weights, Some(&adversary)).unwrap();
            assert!(l_lib.is_some(), "the library head takes part");
            let grads = losses[0].backward().unwrap();
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
