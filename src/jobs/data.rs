//! Data set work off the UI thread: opening a folder, the per-instrument grid, mixture files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Analysis;
use super::worker::{Context, Job, Worker};
use crate::audio::load::load_clip;
use crate::data::dataset::{Dataset, EXAMPLES_JSON, NoteRecord, audio_path, read_examples};
use crate::data::expressive::Expression;
use crate::data::expressive::copy::EXPRESSION_KEY;
use crate::data::mixture::{MixtureFile, read_npz};
use crate::dsp::{FrequencyAxis, Scale, Spectrogram, StftConfig, View};
use crate::features::Analyzer;
use crate::learn::explanation::activity::PredictedMasks;

/// One cell of the instrument grid: the taxonomy's instrument and its note at the asked pitch.
pub struct GridCell {
    pub instrument: usize,
    /// None when the instrument has no note at that pitch, velocity and bank.
    pub note: Option<usize>,
    pub spectrogram: Option<Spectrogram>,
}

/// What the grid shows: one view for every instrument at the same pitch.
#[derive(Clone, Debug, PartialEq)]
pub struct GridRequest {
    pub view: View,
    pub pitch: u8,
    pub velocity: u8,
    pub bank: Option<String>,
}

/// A mixture file with its views ready to upload: the mixture's STFT in dB and each soft mask.
pub struct MixtureView {
    pub path: PathBuf,
    pub file: MixtureFile,
    pub mixture_db: Spectrogram,
    pub masks: Vec<Spectrogram>,
}

/// What the data worker is asked to do; each kind travels in its own lane, so opening a data
/// set never waits for a grid.
pub enum DataRequest {
    OpenDataset(PathBuf),
    Grid {
        dataset: Arc<Dataset>,
        request: GridRequest,
    },
    Mixture(PathBuf),
    /// A note's played version from the played copy at `copy` (`dataset played`).
    Played {
        copy: PathBuf,
        note: String,
    },
}

impl DataRequest {
    pub const OPEN_LANE: usize = 0;
    pub const GRID_LANE: usize = 1;
    pub const MIXTURE_LANE: usize = 2;
    pub const PLAYED_LANE: usize = 3;
}

/// A note's played version, analysed, with how it was played.
pub struct PlayedNote {
    pub note: String,
    pub copy: PathBuf,
    /// The drawn expression in words (empty when the record does not say).
    pub expression: String,
    pub analysis: Arc<Analysis>,
}

pub enum DataEvent {
    DatasetOpened(Arc<Dataset>),
    Grid { request: GridRequest, cells: Vec<GridCell> },
    Mixture(Arc<MixtureView>),
    Played(Arc<PlayedNote>),
}

/// Data set work: opening a folder, the instrument grid, mixture files, played notes.
#[derive(Default)]
pub struct DataJob {
    /// The played copy's records, read once per copy.
    played: Option<(PathBuf, BTreeMap<String, NoteRecord>)>,
}

/// The played copy beside a data set, as `scripts/played.sh` names it: `DIR-played`.
pub fn played_copy_of(root: &Path) -> PathBuf {
    let mut name = root.file_name().unwrap_or_default().to_os_string();
    name.push("-played");
    root.with_file_name(name)
}

impl Job for DataJob {
    type Request = DataRequest;
    type Event = DataEvent;
    const LANES: usize = 4;

    fn lane(request: &DataRequest) -> usize {
        match request {
            DataRequest::OpenDataset(_) => DataRequest::OPEN_LANE,
            DataRequest::Grid { .. } => DataRequest::GRID_LANE,
            DataRequest::Mixture(_) => DataRequest::MIXTURE_LANE,
            DataRequest::Played { .. } => DataRequest::PLAYED_LANE,
        }
    }

    fn run(&mut self, request: DataRequest, ctx: &Context<'_, DataEvent>) -> Result<(), String> {
        match request {
            DataRequest::OpenDataset(root) => {
                let dataset = Dataset::open(&root).map_err(|e| e.to_string())?;
                ctx.report(DataEvent::DatasetOpened(Arc::new(dataset)));
            }
            DataRequest::Grid { dataset, request } => {
                if let Some(cells) = grid_cells(&dataset, &request, &|| ctx.cancelled()) {
                    ctx.report(DataEvent::Grid { request, cells });
                }
            }
            DataRequest::Mixture(path) => ctx.report(DataEvent::Mixture(Arc::new(mixture_view(path)?))),
            DataRequest::Played { copy, note } => {
                if self.played.as_ref().is_none_or(|(c, _)| *c != copy) {
                    let records = read_examples(&copy.join(EXAMPLES_JSON)).map_err(|e| e.to_string())?;
                    self.played = Some((copy.clone(), records));
                }
                let records = &self.played.as_ref().expect("just read").1;
                let expression = records
                    .get(&note)
                    .and_then(|r| r.extra.get(EXPRESSION_KEY))
                    .and_then(|v| serde_json::from_value::<Expression>(v.clone()).ok())
                    .map_or_else(String::new, |e| e.describe());
                let clip = load_clip(&audio_path(&copy, &note)).map_err(|e| e.to_string())?;
                let analysis = Arc::new(Analysis::compute(clip, &mut Analyzer::default())?);
                ctx.report(DataEvent::Played(Arc::new(PlayedNote { note, copy, expression, analysis })));
            }
        }
        Ok(())
    }
}

/// The data set views' worker.
pub type DataJobs = Worker<DataJob>;

/// The note of every instrument at the request's pitch, velocity and bank, with its view in dB;
/// None once `cancelled` turns true.
pub fn grid_cells(dataset: &Dataset, request: &GridRequest, cancelled: &dyn Fn() -> bool) -> Option<Vec<GridCell>> {
    let mut analyzer = Analyzer::default();
    (0..dataset.taxonomy.instruments.len())
        .map(|instrument| {
            if cancelled() {
                return None;
            }
            let note = dataset.notes.iter().position(|n| {
                n.labels.instrument == Some(instrument as u8)
                    && n.record.pitch == request.pitch
                    && n.record.velocity == request.velocity
                    && request.bank.as_ref().is_none_or(|b| n.record.bank.as_ref() == Some(b))
            });
            let spectrogram = note.and_then(|i| match dataset.load_audio(&dataset.notes[i]) {
                Ok(samples) => Some(analyzer.compute(request.view, &samples, Scale::Db)),
                Err(e) => {
                    log::warn!("{e}");
                    None
                }
            });
            Some(GridCell { instrument, note, spectrogram })
        })
        .collect()
}

/// A `[bins, frames]` array (a mixture file's layout) as a frame-major spectrogram.
fn bin_major_view(bin_major: &[f32], bins: usize, frames: usize, config: &StftConfig, scale: Scale) -> Spectrogram {
    let mut values = vec![0.0; bins * frames];
    for b in 0..bins {
        for f in 0..frames {
            values[f * bins + b] = bin_major[b * frames + f];
        }
    }
    let spec = Spectrogram {
        bins,
        frames,
        values,
        hop_len: config.hop_len,
        sample_rate_hz: config.sample_rate_hz,
        axis: FrequencyAxis::Linear { n_fft: config.n_fft },
        scale: Scale::Linear,
    };
    if scale == Scale::Db { spec.into_db() } else { spec }
}

/// Each source's predicted mask spread over the mixture's STFT grid, and its absolute difference
/// from the ideal one, as views.
pub fn predicted_mask_views(view: &MixtureView, masks: &PredictedMasks) -> Vec<[Spectrogram; 2]> {
    let file = &view.file;
    let config = StftConfig { sample_rate_hz: file.sample_rate_hz, ..StftConfig::default() };
    let plane = file.bins * file.frames;
    (0..masks.masks.len().min(file.masks.len() / plane.max(1)))
        .map(|k| {
            let predicted = masks.on_grid(k, file.bins, file.frames, config.hop_len);
            let ideal = &file.masks[k * plane..(k + 1) * plane];
            let difference: Vec<f32> = predicted.iter().zip(ideal).map(|(p, i)| (p - i).abs()).collect();
            [
                bin_major_view(&predicted, file.bins, file.frames, &config, Scale::Linear),
                bin_major_view(&difference, file.bins, file.frames, &config, Scale::Linear),
            ]
        })
        .collect()
}

/// Reads a mixture .npz and turns its arrays into frame-major spectrograms for the views.
pub fn mixture_view(path: PathBuf) -> Result<MixtureView, String> {
    let file = read_npz(&path).map_err(|e| e.to_string())?;
    let config = StftConfig { sample_rate_hz: file.sample_rate_hz, ..StftConfig::default() };
    if file.bins != config.bins() {
        return Err(format!("{}: {} STFT bins, the views expect {}", path.display(), file.bins, config.bins()));
    }
    let to_spectrogram =
        |bin_major: &[f32], scale: Scale| bin_major_view(bin_major, file.bins, file.frames, &config, scale);
    let plane = file.bins * file.frames;
    let mixture_db = to_spectrogram(&file.mix_mag, Scale::Db);
    let masks = file.masks.chunks_exact(plane).map(|m| to_spectrogram(m, Scale::Linear)).collect();
    Ok(MixtureView { path, file, mixture_db, masks })
}
