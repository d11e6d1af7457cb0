//! Drawing a step's batch: contrastive pairs (partners from another library when asked) or
//! mixed multi-task examples, each example with its own generator so batches are the same on any
//! number of threads.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::learn::error::LearnError;
use crate::learn::notes::batch::{Examples, Targets, mix, mixup_lambda, spec_augment};
use crate::learn::notes::polyphony::{PolyphonyConfig, draw_mixture};
use crate::learn::training::config::{MtlConfig, Positives, SslConfig};

/// Batches drawn ahead of the step that uses them.
pub(super) const PREFETCH_BATCHES: usize = 2;

/// Each example's STFT and CQT inputs.
pub(super) type Rows = Vec<(Vec<f32>, Vec<f32>)>;

/// A batch drawn for a step: the contrastive pairs, or the multi-task inputs and targets.
pub(super) enum Drawn {
    Ssl(Rows),
    Mtl(MtlBatch),
}

impl Drawn {
    pub(super) fn len(&self) -> usize {
        match self {
            Drawn::Ssl(rows) => rows.len(),
            Drawn::Mtl(b) => b.rows.len(),
        }
    }
}

/// Single notes first (`ta`, `tb` and `lambda` are theirs), then the mixtures.
pub(super) struct MtlBatch {
    pub rows: Rows,
    pub ta: Vec<Targets>,
    pub tb: Vec<Targets>,
    pub lambda: f32,
    pub mixtures: Vec<MixtureTargets>,
}

/// What a mixture row is trained towards: each source's targets and mask, and the mask cells'
/// weights.
pub(super) struct MixtureTargets {
    pub sources: Vec<Targets>,
    pub masks: Vec<Vec<f32>>,
    pub weights: Vec<f32>,
}

/// A contrastive batch: each note's STFT beside its partner's CQT, one side of some pairs
/// degraded, so the embedding learns to ignore the degradation too.
pub(super) fn draw_ssl(
    train: &Examples,
    partners: &[Vec<Vec<usize>>],
    config: &SslConfig,
    chunk: &[usize],
    rng: &mut ChaCha8Rng,
) -> Result<Rows, LearnError> {
    let p = config.degraded_pairs;
    let across = config.positives == Positives::OtherLibrary;
    example_rngs(chunk, rng)
        .map(|(i, mut rng)| {
            // The CQT side comes from the partner: the note itself, or its instrument in
            // another library.
            let j = if across { draw_partner(partners, &train.targets[i], i, &mut rng) } else { i };
            Ok(if rng.random_bool(0.5) {
                (train.draw(i, p, &mut rng)?.stft, train.clean(j)?.cqt)
            } else {
                (train.clean(i)?.stft, train.draw(j, p, &mut rng)?.cqt)
            })
        })
        .collect()
}

/// A multi-task batch: each note drawn (perhaps degraded and shifted), mixed with a partner from
/// the same batch, masked, with the targets of both; with polyphony, the batch's last share of
/// notes each start a mixture instead.
pub(super) fn draw_mtl(
    train: &Examples,
    config: &MtlConfig,
    polyphony: Option<(&PolyphonyConfig, &[Vec<usize>])>,
    chunk: &[usize],
    rng: &mut ChaCha8Rng,
) -> Result<MtlBatch, LearnError> {
    let shape = train.shape;
    let m = polyphony.map_or(0, |(p, _)| p.mixtures_in(chunk.len()));
    let (chunk, firsts) = chunk.split_at(chunk.len() - m);
    let lambda = mixup_lambda(config.mixup_alpha, rng);
    let partners: Vec<usize> = {
        let mut p: Vec<usize> = chunk.to_vec();
        rand::seq::SliceRandom::shuffle(p.as_mut_slice(), rng);
        p
    };
    // With the targets of what was drawn: a pitch shift moves some of them.
    let drawn: Vec<_> = example_rngs(chunk, rng)
        .zip(partners.par_iter())
        .map(|((a, mut rng), &b)| {
            let (xa, t_a) = train.draw_shifted(a, config.degraded_fraction, &mut rng)?;
            let (xb, t_b) = train.draw_shifted(b, config.degraded_fraction, &mut rng)?;
            let (mut s, mut c) = if lambda < 1.0 {
                (mix(&xa.stft, &xb.stft, lambda), mix(&xa.cqt, &xb.cqt, lambda))
            } else {
                (xa.stft, xa.cqt)
            };
            spec_augment(&mut s, &mut c, &shape, &config.spec_augment, &mut rng);
            Ok::<_, LearnError>(((s, c), t_a, t_b))
        })
        .collect::<Result<_, _>>()?;
    let mut batch = MtlBatch {
        rows: Vec::with_capacity(drawn.len() + m),
        ta: Vec::new(),
        tb: Vec::new(),
        lambda,
        mixtures: Vec::new(),
    };
    for (row, a, b) in drawn {
        batch.rows.push(row);
        batch.ta.push(a);
        batch.tb.push(b);
    }
    if let Some((poly, classes)) = polyphony {
        let mixtures: Vec<_> = example_rngs(firsts, rng)
            .map(|(first, mut rng)| {
                let d = draw_mixture(train, classes, first, poly, config.degraded_fraction, &mut rng)?;
                let (mut s, mut c) = (d.inputs.stft, d.inputs.cqt);
                spec_augment(&mut s, &mut c, &shape, &config.spec_augment, &mut rng);
                Ok::<_, LearnError>(((s, c), MixtureTargets { sources: d.sources, masks: d.masks, weights: d.weights }))
            })
            .collect::<Result<_, _>>()?;
        for (row, targets) in mixtures {
            batch.rows.push(row);
            batch.mixtures.push(targets);
        }
    }
    Ok(batch)
}

/// Note indices by instrument, then by library (notes without one count as one library).
pub(super) fn partner_index(targets: &[Targets]) -> Vec<Vec<Vec<usize>>> {
    let mut index: Vec<Vec<Vec<usize>>> = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let (inst, lib) = (t.primary(), usize::from(t.library.min(254)));
        if index.len() <= inst {
            index.resize(inst + 1, Vec::new());
        }
        if index[inst].len() <= lib {
            index[inst].resize(lib + 1, Vec::new());
        }
        index[inst][lib].push(i);
    }
    index
}

/// A note of the same instrument from another library, any pitch; another note of the same
/// library when the instrument has no other; the note itself when it is alone.
fn draw_partner(index: &[Vec<Vec<usize>>], t: &Targets, own: usize, rng: &mut ChaCha8Rng) -> usize {
    let by_library = &index[t.primary()];
    let own_library = usize::from(t.library.min(254));
    let others: Vec<&Vec<usize>> =
        by_library.iter().enumerate().filter(|(l, v)| *l != own_library && !v.is_empty()).map(|(_, v)| v).collect();
    let pool = if others.is_empty() { &by_library[own_library] } else { others[rng.random_range(0..others.len())] };
    let j = pool[rng.random_range(0..pool.len())];
    if j == own && pool.len() > 1 {
        pool[(pool.iter().position(|&k| k == own).unwrap_or(0) + 1) % pool.len()]
    } else {
        j
    }
}

/// Each example of a batch with its own generator, seeded from the step's in batch order: the
/// examples are drawn in parallel (their degradations cost about as much as the step itself)
/// and still give the same batch whatever the number of threads.
fn example_rngs<'a>(
    chunk: &'a [usize],
    rng: &mut ChaCha8Rng,
) -> impl IndexedParallelIterator<Item = (usize, ChaCha8Rng)> + 'a {
    let seeds: Vec<u64> = chunk.iter().map(|_| rng.random()).collect();
    chunk.par_iter().zip(seeds).map(|(&i, seed)| (i, ChaCha8Rng::seed_from_u64(seed)))
}
