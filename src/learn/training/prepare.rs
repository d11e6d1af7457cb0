//! Before the first step: the train and valid splits loaded and checked, their feature stores
//! (and the degraded copies') built where missing, the standardiser fitted, with the targets and
//! the model's metadata.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::data::dataset::{Dataset, Split};
use crate::data::schema::{LabelSchema, SchemaKind};
use crate::learn::error::LearnError;
use crate::learn::network::model::{Classes, ModelSpec};
use crate::learn::network::modelfile::{MODEL_FORMAT, ModelMeta};
use crate::learn::notes::augment::{FeatureAugment, FeatureEq, NoiseBank, PitchShift, RandomCrop, RoomBank};
use crate::learn::notes::batch::{Examples, NO_LIBRARY, NoteSource, Targets};
use crate::learn::notes::inputs::{InputConfig, InputShape, Standardizer, labelled};
use crate::learn::notes::moments::Moments;
use crate::learn::notes::store::{BuildOptions, Store, StoreError, StoreSettings, build};
use crate::learn::training::config::{PlayedConfig, TrainConfig};

/// What preparing needs of a run: its config, its data, and how many threads to use.
pub(super) struct PrepareInputs<'a> {
    pub config: &'a TrainConfig,
    pub dataset: &'a Path,
    /// Degraded copies of the data set, same notes.
    pub degraded: &'a [std::path::PathBuf],
    /// The played copy of the train notes.
    pub played: Option<&'a Path>,
    pub threads: usize,
}

/// Hears each long step of preparing: what it is, then how far it has come (done, total).
pub(super) type PrepareProgress<'a> = dyn FnMut(&str, usize, usize) + 'a;

pub(super) struct Prepared {
    pub train: Examples,
    pub valid: Examples,
    pub meta: ModelMeta,
}

fn data_error(path: &Path, problem: impl Into<String>) -> LearnError {
    LearnError::Dataset { path: path.to_owned(), problem: problem.into() }
}

/// Loads, analyses and standardises the train and valid splits (and their degraded copies).
pub(super) fn prepare(opts: &PrepareInputs, on_event: &mut PrepareProgress) -> Result<Prepared, LearnError> {
    let config = opts.config;
    let dataset = Dataset::open(opts.dataset).map_err(|e| data_error(opts.dataset, e.to_string()))?;
    // The heads follow the data set's labels: ours, or NSynth's own for an NSynth folder.
    let schema = dataset.schema(config.mtl.pitch);
    config.mtl.loss_weights.check_against(&schema).map_err(|problem| LearnError::Config {
        path: format!("mtl.loss_weights ({} labels)", schema_name(&schema)),
        problem,
    })?;
    let heads: Vec<&str> = schema.heads.iter().map(|h| h.name.as_str()).collect();
    let train_idx = labelled(&dataset, Split::Train, &schema);
    let valid_idx = labelled(&dataset, Split::Valid, &schema);
    if train_idx.is_empty() {
        return Err(data_error(
            opts.dataset,
            format!("its train split has no notes labelled with {}", heads.join(", ")),
        ));
    }
    if valid_idx.is_empty() {
        return Err(data_error(
            opts.dataset,
            format!("its valid split has no notes labelled with {}", heads.join(", ")),
        ));
    }
    if config.mtl.loss_weights.of("descriptors") > 0.0
        && let Some(&i) = train_idx.iter().find(|&&i| dataset.notes[i].labels.descriptors.is_none())
    {
        return Err(data_error(
            opts.dataset,
            format!(
                "note {} has no timbre descriptors; set mtl.loss_weights.descriptors = 0 to train without them",
                dataset.notes[i].record.note_str
            ),
        ));
    }
    let mut degraded = Vec::with_capacity(opts.degraded.len() + 1);
    for dir in opts.degraded.iter().map(PathBuf::as_path).chain(opts.played) {
        let d = Dataset::open(dir).map_err(|e| data_error(dir, e.to_string()))?;
        let index: HashMap<&str, usize> =
            d.notes.iter().enumerate().map(|(i, n)| (n.record.note_str.as_str(), i)).collect();
        let map = |idx: &[usize]| -> Result<Vec<usize>, LearnError> {
            idx.iter()
                .map(|&i| {
                    let name = &dataset.notes[i].record.note_str;
                    index
                        .get(name.as_str())
                        .copied()
                        .ok_or_else(|| data_error(dir, format!("it lacks note {name} of the clean data set")))
                })
                .collect()
        };
        let mapped = map(&train_idx)?;
        degraded.push((d, mapped));
    }
    let threads = opts.threads.max(1);
    let input = config.input;
    let settings = StoreSettings::for_input(&input);
    let store = open_store(&dataset, &settings, threads, "clean", on_event)?;
    let mut copies = Vec::with_capacity(degraded.len());
    for (k, (d, idx)) in degraded.into_iter().enumerate() {
        let what = match k < opts.degraded.len() {
            true => format!("degraded copy {} of {}", k + 1, opts.degraded.len()),
            false => "played copy".to_string(),
        };
        let store = open_store(&d, &settings, threads, &what, on_event)?;
        copies.push(NoteSource::Store { store, rows: idx });
    }
    // The played copy came last: the note an example starts from, not a degraded version.
    let played = match opts.played {
        Some(_) => {
            let probability = config.played.as_ref().map_or(PlayedConfig::default().probability, |p| p.probability);
            copies.pop().map(|source| (source, probability))
        }
        None => None,
    };
    let standardizer = fit_standardizer(&store, &train_idx, &input, threads, on_event)?;
    let geometry = store.geometry();
    let shape = InputShape::of(&input, geometry.stft_bins, geometry.cqt_bins);
    // Noise and rooms are analysed once, seeded by the run, and applied afresh to every draw.
    let noise = config.feature_noise.as_ref().map(|c| (c.clone(), NoiseBank::new(c.color, &input, config.seed)));
    let rooms = match &config.feature_reverb {
        Some(c) => Some((
            c.clone(),
            RoomBank::new(c, &input, config.seed).map_err(|e| LearnError::Config {
                path: "feature_reverb".into(),
                problem: format!("cannot draw its rooms: {e}"),
            })?,
        )),
        None => None,
    };
    let eq = config.feature_eq.as_ref().map(|c| FeatureEq::new(c.clone(), &standardizer, &input));
    let augment = (noise.is_some() || rooms.is_some()).then_some(FeatureAugment { noise, rooms });

    // Descriptor targets standardised with the training notes' statistics.
    let desc = |i: usize| dataset.notes[i].labels.descriptors.unwrap_or([0.0; 5]);
    let mut mean = [0f32; 5];
    let mut std = [0f32; 5];
    for k in 0..5 {
        let n = train_idx.len() as f64;
        let m = train_idx.iter().map(|&i| f64::from(desc(i)[k])).sum::<f64>() / n;
        let v = train_idx.iter().map(|&i| (f64::from(desc(i)[k]) - m).powi(2)).sum::<f64>() / n;
        mean[k] = m as f32;
        std[k] = v.sqrt().max(1e-6) as f32;
    }
    // The training notes' libraries, in name order: the library head's classes and the probe's.
    let libraries: Vec<String> = {
        let set: std::collections::BTreeSet<&String> =
            train_idx.iter().filter_map(|&i| dataset.notes[i].record.bank.as_ref()).collect();
        set.into_iter().cloned().collect()
    };
    if libraries.len() >= usize::from(NO_LIBRARY) {
        return Err(data_error(opts.dataset, format!("{} libraries in training; at most 254", libraries.len())));
    }
    let library_of = |i: usize| {
        let bank = dataset.notes[i].record.bank.as_ref();
        bank.and_then(|b| libraries.binary_search(b).ok()).map_or(NO_LIBRARY, |k| k as u8)
    };
    let targets = |idx: &[usize]| -> Vec<Targets> {
        idx.iter()
            .map(|&i| {
                let c = dataset.classes(i, &schema).expect("labelled");
                let d = desc(i);
                Targets {
                    classes: c.classes,
                    qualities: c.qualities,
                    descriptors: std::array::from_fn(|k| (d[k] - mean[k]) / std[k]),
                    library: library_of(i),
                }
            })
            .collect()
    };
    let shift = config.pitch_shift.as_ref().map(|c| {
        PitchShift::new(c.clone(), &standardizer, &input, mean, std).with_pitch_head(schema.pitch_head(), schema.pitch)
    });
    let names = |idx: &[usize]| idx.iter().map(|&i| dataset.notes[i].record.note_str.clone()).collect();
    let spec = ModelSpec {
        input,
        model: config.model.clone(),
        stft_bins: shape.stft_bins,
        cqt_bins: shape.cqt_bins,
        classes: Classes {
            heads: schema.heads.iter().map(|h| (h.name.clone(), h.classes.len())).collect(),
            qualities: schema.qualities.len(),
            descriptors: 5,
            // An adversary needs two libraries to tell apart, and every training note's library.
            library: if config.mtl.library_adversary.is_some()
                && libraries.len() >= 2
                && train_idx.iter().all(|&i| library_of(i) != NO_LIBRARY)
            {
                libraries.len()
            } else {
                0
            },
            // The instruments present, and their families when the primary head is not them.
            multi_label: match config.polyphony.as_ref().filter(|p| p.label_weight > 0.0) {
                Some(_) => std::iter::once(0)
                    .chain(schema.heads.iter().skip(1).position(|h| h.name == "family").map(|k| k + 1))
                    .collect(),
                None => Vec::new(),
            },
            masks: config.polyphony.as_ref().is_some_and(|p| p.mask_weight > 0.0),
        },
    };
    let meta = ModelMeta {
        format: MODEL_FORMAT.into(),
        spec,
        standardizer: standardizer.clone(),
        descriptor_mean: mean,
        descriptor_std: std,
        schema: schema.clone(),
        stage: None,
        epoch: 0,
        step: 0,
        shift_votes: config.pitch_shift.as_ref().map_or(0, |c| c.votes),
        libraries: libraries.clone(),
        notes: serde_json::Map::from_iter([
            ("dataset".to_string(), serde_json::json!(opts.dataset.display().to_string())),
            ("config".to_string(), serde_json::json!(config.description)),
            ("train_notes".to_string(), serde_json::json!(train_idx.len())),
        ]),
    };
    Ok(Prepared {
        train: Examples {
            shape,
            notes: names(&train_idx),
            clean: NoteSource::Store { store: store.clone(), rows: train_idx.clone() },
            degraded: copies,
            standardizer: standardizer.clone(),
            input,
            augment,
            eq,
            shift,
            crop: config.crop.clone().map(|c| RandomCrop::new(c, &input)),
            offsets: Vec::new(),
            played,
            targets: targets(&train_idx),
        },
        valid: Examples {
            shape,
            notes: names(&valid_idx),
            clean: NoteSource::Store { store, rows: valid_idx.clone() },
            degraded: Vec::new(),
            standardizer,
            input,
            augment: None,
            eq: None,
            shift: None,
            crop: None,
            offsets: Vec::new(),
            played: None,
            targets: targets(&valid_idx),
        },
        meta,
    })
}

fn schema_name(schema: &LabelSchema) -> &'static str {
    match schema.kind {
        SchemaKind::Instruments => "the taxonomy's",
        SchemaKind::Nsynth => "NSynth's",
    }
}

/// Runs `work` on a scoped thread, passing its progress on as `Preparing` events about `what`.
fn with_progress<R: Send>(
    what: &str,
    on_event: &mut PrepareProgress,
    work: impl FnOnce(&(dyn Fn(usize, usize) + Sync)) -> R + Send,
) -> R {
    let (tx, rx) = std::sync::mpsc::channel::<(usize, usize)>();
    let tx = std::sync::Mutex::new(tx);
    std::thread::scope(|s| {
        let handle = s.spawn(move || {
            work(&|d, t| {
                let _ = tx.lock().map(|tx| tx.send((d, t)));
            })
        });
        let mut last = 0;
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(100)) {
                Ok((d, total)) if d == total || d >= last + total / 50 || d < last => {
                    last = d;
                    on_event(what, d, total);
                }
                Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // A panic in the work is passed on as it was.
        handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Builds what is missing of a data set's store, then opens it.
fn open_store(
    dataset: &Dataset,
    settings: &StoreSettings,
    threads: usize,
    what: &str,
    on_event: &mut PrepareProgress,
) -> Result<Arc<Store>, LearnError> {
    let options = BuildOptions { threads, ..Default::default() };
    let what = format!("feature store ({what})");
    with_progress(&what, on_event, |progress| build(dataset, settings, &options, progress))?;
    Ok(Arc::new(Store::open(dataset, settings)?))
}

/// The per-bin statistics of the training notes: of every raw frame, as the store summed them
/// while building, or with the floor configured, of the floored time-pooled views, which one
/// pass over the training notes gathers. That pass (about 30 s at 230,000 notes) is kept in the
/// store's folder, named by the floor and the notes, so the next run with them reads it.
fn fit_standardizer(
    store: &Store,
    train_idx: &[usize],
    input: &InputConfig,
    threads: usize,
    on_event: &mut PrepareProgress,
) -> Result<Standardizer, LearnError> {
    let Some(floor) = input.noise_floor else {
        let (s, c) = store.raw_moments(Some(Split::Train));
        return Ok(Standardizer::from_moments(s, c));
    };
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(serde_json::to_string(&floor).expect("the floor serialises").as_bytes());
    train_idx.iter().for_each(|&i| hasher.update(&(i as u64).to_le_bytes()));
    let cached = store.dir().join(format!("floored-{:016x}.json", hasher.digest()));
    if let Some((s, c)) = std::fs::read(&cached)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<(Moments, Moments)>(&bytes).ok())
        .filter(|(s, c)| s.bins() == store.geometry().stft_bins && c.bins() == store.geometry().cqt_bins)
    {
        return Ok(Standardizer::from_moments(&s, &c));
    }
    let g = store.geometry();
    let done = AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| LearnError::Config { path: "threads".into(), problem: e.to_string() })?;
    let (s, c) = with_progress("statistics of the training notes", on_event, |progress| {
        pool.install(|| {
            train_idx
                .par_iter()
                .try_fold(
                    || (Moments::new(g.stft_bins), Moments::new(g.cqt_bins)),
                    |(mut s, mut c), &i| {
                        let front = store.read_floored(i, &floor)?;
                        s.merge(&Moments::of(&front.stft, front.stft_bins));
                        c.merge(&Moments::of(&front.cqt, front.cqt_bins));
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, train_idx.len());
                        Ok::<_, StoreError>((s, c))
                    },
                )
                .try_reduce(
                    || (Moments::new(g.stft_bins), Moments::new(g.cqt_bins)),
                    |(mut s, mut c), (s2, c2)| {
                        s.merge(&s2);
                        c.merge(&c2);
                        Ok((s, c))
                    },
                )
        })
    })?;
    // A cache: a store folder that cannot be written to still trains.
    let text = serde_json::to_vec(&(&s, &c)).expect("moments serialise");
    if let Err(e) = crate::atomic_file::write_atomically(&cached, |w| w.write_all(&text)) {
        log::warn!("cannot keep the training notes' statistics in {}: {e}", cached.display());
    }
    Ok(Standardizer::from_moments(&s, &c))
}
