//! One step and one validation of each stage: the contrastive loss over STFT-CQT pairs, and the
//! multi-task loss over instrument, family, pitch and velocity heads.

use std::collections::BTreeMap;

use candle_core::Tensor;
use rayon::prelude::*;

use super::draw::{MtlBatch, Rows};
use super::{TrainEvent, Trainer};
use crate::learn::error::LearnError;
use crate::learn::network::loss::{accuracy, mixed_one_hot, nt_xent, retrieval_accuracy};
use crate::learn::network::optim::AdamW;
use crate::learn::network::stage::TrainStage;
use crate::learn::notes::batch::{Targets, mix, to_tensors};
use crate::learn::scoring::confusion::Confusion;
use crate::learn::scoring::probe::library_probe;
use crate::learn::scoring::score::{MaskTargets, PolyTargets, SoftTargets, mtl_loss, score};
use crate::learn::scoring::vote::Voter;
use crate::learn::training::run::MetricRecord;

impl Trainer<'_> {
    pub(super) fn ssl_step(
        &self,
        rows: &Rows,
        temperature: f64,
        optimizer: &mut AdamW,
    ) -> Result<BTreeMap<String, f64>, LearnError> {
        let rows: Vec<(&[f32], &[f32])> = rows.iter().map(|(s, c)| (s.as_slice(), c.as_slice())).collect();
        let x = to_tensors(&self.data.train.shape, &rows, &self.opts.device)?;
        let (zs, zc) = self.model.project_views(&x.stft, &x.cqt)?;
        let loss = nt_xent(&zs, &zc, temperature)?;
        optimizer.apply(&loss.backward()?)?;
        Ok(BTreeMap::from([
            ("loss".into(), f64::from(loss.to_scalar::<f32>()?)),
            ("retrieval_acc".into(), retrieval_accuracy(&zs, &zc)?),
        ]))
    }

    pub(super) fn ssl_valid(&self, epoch: usize, step: usize) -> Result<MetricRecord, LearnError> {
        let valid = &self.data.valid;
        let batch = self.opts.config.ssl.batch.min(valid.len()).max(2);
        let (mut loss, mut acc, mut n) = (0.0, 0.0, 0usize);
        // Scored at the temperature training ends with, so epochs compare on one scale.
        let temperature = self.opts.config.ssl.temperature_end;
        for chunk in (0..valid.len()).collect::<Vec<_>>().chunks(batch).filter(|c| c.len() >= 2) {
            let inputs = chunk.par_iter().map(|&i| valid.clean(i)).collect::<Result<Vec<_>, _>>()?;
            let rows: Vec<(&[f32], &[f32])> = inputs.iter().map(|x| (x.stft.as_slice(), x.cqt.as_slice())).collect();
            let x = to_tensors(&valid.shape, &rows, &self.opts.device)?;
            let (zs, zc) = self.model.project_views(&x.stft, &x.cqt)?;
            loss += f64::from(nt_xent(&zs, &zc, temperature)?.to_scalar::<f32>()?) * chunk.len() as f64;
            acc += retrieval_accuracy(&zs, &zc)? * chunk.len() as f64;
            n += chunk.len();
        }
        let n = n.max(1) as f64;
        Ok(MetricRecord {
            stage: TrainStage::Ssl,
            split: "valid".into(),
            step,
            epoch,
            wall_secs: self.wall(),
            values: BTreeMap::from([
                ("loss".into(), loss / n),
                ("retrieval_acc".into(), acc / n),
                ("temperature".into(), temperature),
            ]),
        })
    }

    pub(super) fn mtl_step(
        &self,
        drawn: &MtlBatch,
        optimizer: &mut AdamW,
    ) -> Result<BTreeMap<String, f64>, LearnError> {
        let config = &self.opts.config.mtl;
        let shape = self.data.train.shape;
        let (ta, tb, lambda) = (&drawn.ta, &drawn.tb, drawn.lambda);
        let rows: Vec<(&[f32], &[f32])> = drawn.rows.iter().map(|(s, c)| (s.as_slice(), c.as_slice())).collect();
        let x = to_tensors(&shape, &rows, &self.opts.device)?;
        let classes = &self.data.meta.spec.classes;
        // The single notes: the mixtures after them have no single label.
        let n = ta.len();
        let lambdas = vec![lambda; n];
        let soft = |get: &dyn Fn(&Targets) -> u16, k: usize| -> candle_core::Result<Tensor> {
            let a: Vec<u16> = ta.iter().map(get).collect();
            let b: Vec<u16> = tb.iter().map(get).collect();
            Tensor::from_vec(mixed_one_hot(&a, &b, &lambdas, k), (n, k), &self.opts.device)
        };
        let desc: Vec<f32> = ta.iter().zip(tb).flat_map(|(a, b)| mix(&a.descriptors, &b.descriptors, lambda)).collect();
        // Each quality present in a mixed pair with the weight of the notes that have it.
        let quality = |t: &Targets, q: usize| if t.qualities >> q & 1 == 1 { 1.0f32 } else { 0.0 };
        let qualities: Vec<f32> = ta
            .iter()
            .zip(tb)
            .flat_map(|(a, b)| {
                (0..classes.qualities).map(move |q| lambda * quality(a, q) + (1.0 - lambda) * quality(b, q))
            })
            .collect();
        let targets = SoftTargets {
            classes: (0..classes.heads.len())
                .map(|h| soft(&|t| t.classes[h], classes.heads[h].1))
                .collect::<candle_core::Result<_>>()?,
            qualities: if classes.qualities > 0 {
                Some(Tensor::from_vec(qualities, (n, classes.qualities), &self.opts.device)?)
            } else {
                None
            },
            descriptors: Tensor::from_vec(desc, (n, 5), &self.opts.device)?,
            library: if classes.library > 0 { Some(soft(&|t| u16::from(t.library), classes.library)?) } else { None },
            polyphony: self.poly_targets(drawn)?,
        };
        let (out, loss) = mtl_loss(&self.model, &x, &targets, &config.loss_weights, config.library_adversary.as_ref())?;
        optimizer.apply(&loss.total.backward()?)?;
        let primary: Vec<u16> = ta.iter().map(|t| t.classes[0]).collect();
        let scalar = |x: &Tensor| x.to_scalar::<f32>().map(f64::from);
        let mut values = BTreeMap::from([
            ("loss".into(), scalar(&loss.total)?),
            (format!("acc_{}", classes.heads[0].0), accuracy(&out.classes[0].narrow(0, 0, n)?, &primary)?),
        ]);
        for (name, part) in &loss.parts {
            values.insert(format!("loss_{name}"), scalar(part)?);
        }
        if let Some(l) = &loss.library {
            values.insert("loss_library".into(), scalar(l)?);
        }
        Ok(values)
    }

    /// The multi-label targets of every row (a single note's classes, both notes' for a mixed
    /// pair at their weights, every source's for a mixture) and the mixtures' masks.
    fn poly_targets(&self, drawn: &MtlBatch) -> Result<Option<PolyTargets>, LearnError> {
        let Some(config) = &self.opts.config.polyphony else { return Ok(None) };
        let classes = &self.data.meta.spec.classes;
        let device = &self.opts.device;
        let multi = if classes.multi_label.is_empty() {
            None
        } else {
            let labels = classes.multi_labels();
            let mut rows = vec![0f32; drawn.rows.len() * labels];
            let set = |row: &mut [f32], t: &Targets, weight: f32| {
                let mut offset = 0;
                for &h in &classes.multi_label {
                    let k = offset + usize::from(t.classes[h]);
                    row[k] = (row[k] + weight).min(1.0);
                    offset += classes.heads[h].1;
                }
            };
            let mut chunks = rows.chunks_exact_mut(labels);
            for ((a, b), row) in drawn.ta.iter().zip(&drawn.tb).zip(&mut chunks) {
                set(row, a, drawn.lambda);
                set(row, b, 1.0 - drawn.lambda);
            }
            for (m, row) in drawn.mixtures.iter().zip(&mut chunks) {
                m.sources.iter().for_each(|t| set(row, t, 1.0));
            }
            Some(Tensor::from_vec(rows, (drawn.rows.len(), labels), device)?)
        };
        let masks = if classes.masks && !drawn.mixtures.is_empty() {
            let shape = self.data.train.shape;
            let (mut rows, mut which, mut masks, mut weights) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (j, m) in drawn.mixtures.iter().enumerate() {
                for (t, mask) in m.sources.iter().zip(&m.masks) {
                    rows.push((drawn.ta.len() + j) as u32);
                    which.push(u32::from(t.classes[0]));
                    masks.extend_from_slice(mask);
                    weights.extend_from_slice(&m.weights);
                }
            }
            let dims = (rows.len(), shape.frames, shape.stft_bins);
            Some(MaskTargets {
                rows,
                classes: which,
                masks: Tensor::from_vec(masks, dims, device)?,
                weights: Tensor::from_vec(weights, dims, device)?,
            })
        } else {
            None
        };
        Ok(Some(PolyTargets { multi, label_weight: config.label_weight, masks, mask_weight: config.mask_weight }))
    }

    pub(super) fn mtl_valid(
        &self,
        epoch: usize,
        step: usize,
        on_event: &mut dyn FnMut(TrainEvent),
    ) -> Result<MetricRecord, LearnError> {
        let valid = &self.data.valid;
        let scores = score(&self.model, valid, &self.data.meta, &Voter::none(), &self.opts.device)?;
        let mut values = scores.metrics();
        values.insert("loss".into(), scores.primary_loss);
        // The library-leak probe on the validation notes of every training library.
        let libraries = &self.data.meta.libraries;
        if libraries.len() >= 2 {
            let names: Vec<String> = valid
                .targets
                .iter()
                .map(|t| libraries.get(usize::from(t.library)).cloned().unwrap_or_default())
                .collect();
            if let Some(probe) = library_probe(&scores.embeddings, &names, self.opts.config.seed ^ epoch as u64) {
                values.insert("probe_library".into(), probe.accuracy);
                values.insert("probe_chance".into(), probe.chance);
            }
        }
        let confusion = Confusion::new(epoch, self.data.meta.primary_classes().to_vec(), scores.confused);
        self.run.write_json(&self.run.confusion_path(epoch), &confusion)?;
        on_event(TrainEvent::Confusion(confusion));
        Ok(MetricRecord { stage: TrainStage::Mtl, split: "valid".into(), step, epoch, wall_secs: self.wall(), values })
    }
}
