//! Data set work off the UI thread: opening a folder, the per-instrument grid, mixture files.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use crate::data::dataset::Dataset;
use crate::data::mixture::{MixtureFile, read_npz};
use crate::dsp::{FrequencyAxis, Scale, Spectrogram, StftConfig, View};
use crate::features::Analyzer;

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

pub enum DataEvent {
    DatasetOpened(Result<Arc<Dataset>, String>),
    Grid { ticket: u64, request: GridRequest, cells: Vec<GridCell> },
    Mixture { ticket: u64, result: Result<Arc<MixtureView>, String> },
}

/// Spawns one named thread per request; results come back through one channel.
pub struct DataJobs {
    tx: Sender<DataEvent>,
    rx: Receiver<DataEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
    next_ticket: u64,
}

impl DataJobs {
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = channel();
        Self { tx, rx, wake, next_ticket: 0 }
    }

    fn spawn(&self, name: &str, work: impl FnOnce() -> DataEvent + Send + 'static) {
        let (tx, wake) = (self.tx.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            let _ = tx.send(work());
            wake();
        });
        if let Err(e) = spawned {
            log::error!("cannot start the {name} thread: {e}");
        }
    }

    pub fn open_dataset(&self, root: PathBuf) {
        self.spawn("dataset-open", move || {
            DataEvent::DatasetOpened(Dataset::open(&root).map(Arc::new).map_err(|e| e.to_string()))
        });
    }

    pub fn grid(&mut self, dataset: Arc<Dataset>, request: GridRequest) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.spawn("dataset-grid", move || {
            let cells = grid_cells(&dataset, &request);
            DataEvent::Grid { ticket, request, cells }
        });
        ticket
    }

    pub fn mixture(&mut self, path: PathBuf) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.spawn("mixture-open", move || DataEvent::Mixture { ticket, result: mixture_view(path).map(Arc::new) });
        ticket
    }

    pub fn poll(&self) -> Vec<DataEvent> {
        self.rx.try_iter().collect()
    }
}

/// The note of every instrument at the request's pitch, velocity and bank, with its view in dB.
pub fn grid_cells(dataset: &Dataset, request: &GridRequest) -> Vec<GridCell> {
    let mut analyzer = Analyzer::default();
    (0..dataset.taxonomy.instruments.len())
        .map(|instrument| {
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
            GridCell { instrument, note, spectrogram }
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
    let to_spectrogram = |bin_major: &[f32], scale: Scale| {
        let (bins, frames) = (file.bins, file.frames);
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
    };
    let plane = file.bins * file.frames;
    let mixture_db = to_spectrogram(&file.mix_mag, Scale::Db);
    let masks = file.masks.chunks_exact(plane).map(|m| to_spectrogram(m, Scale::Linear)).collect();
    Ok(MixtureView { path, file, mixture_db, masks })
}
