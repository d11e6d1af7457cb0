//! Where the model looks, live: integrated gradients of the running prediction's winner over
//! the stretch it heard, on the live views' grid, computed on a thread of its own (a few hundred
//! milliseconds each, so it follows the stream as fast as it can and never holds a prediction).

use std::sync::mpsc::Receiver;
use std::time::Instant;

use crate::audio::ANALYSIS_RATE_HZ;
use crate::dsp::{CqtConfig, FrequencyAxis, Scale, Spectrogram, StftConfig, View};
use crate::learn::explanation::saliency::explain;
use crate::learn::{ModelSource, Predictor};

/// One explanation, on the live views' grid.
#[derive(Clone, Debug)]
pub struct LiveSaliency {
    /// Stream time of the explained stretch's end.
    pub at_secs: f64,
    /// The global view column of the overlays' first column.
    pub first_column: u64,
    /// STFT and CQT overlays (values in [-1, 1]), as many frames as the stretch has.
    pub stft: Spectrogram,
    pub cqt: Spectrogram,
    pub class_name: String,
    pub millis: f64,
}

/// What the prediction thread asks to explain: the samples it heard, where they start in the
/// stream, and the winner.
pub struct SaliencyRequest {
    pub samples: Vec<f32>,
    pub start_sample: u64,
    pub class: Option<usize>,
}

/// A grid the shape of the views of `len` samples: what the overlays are spread onto.
fn grid(view: View, len: usize) -> Spectrogram {
    let (stft, cqt) = (StftConfig::default(), CqtConfig::default());
    let (bins, axis) = match view {
        View::Stft => (stft.bins(), FrequencyAxis::Linear { n_fft: stft.n_fft }),
        View::Cqt => (cqt.n_bins, FrequencyAxis::Log { fmin_hz: cqt.fmin_hz, bins_per_octave: cqt.bins_per_octave }),
    };
    Spectrogram {
        bins,
        frames: stft.frames(len),
        values: Vec::new(),
        hop_len: stft.hop_len,
        sample_rate_hz: ANALYSIS_RATE_HZ,
        axis,
        scale: Scale::Db,
    }
}

/// Explains each request with a model of its own, loaded on the first one, and hands each
/// explanation (or why there is none) to `publish`. A model that cannot be opened ends it.
pub fn saliency_loop(
    model: ModelSource,
    requests: Receiver<SaliencyRequest>,
    mut publish: impl FnMut(Result<LiveSaliency, String>),
) {
    let mut predictor: Option<Predictor> = None;
    for r in requests {
        let p = match predictor.as_mut() {
            Some(p) => p,
            None => match Predictor::open(&model) {
                Ok(p) => predictor.insert(p),
                Err(e) => {
                    publish(Err(e.to_string()));
                    return;
                }
            },
        };
        let start = Instant::now();
        let e = match explain(p, &r.samples, r.class) {
            Ok(e) => e,
            Err(e) => {
                publish(Err(e.to_string()));
                continue;
            }
        };
        let scale = e.display_scale();
        let stft = e.overlay(View::Stft, &grid(View::Stft, r.samples.len()), scale);
        let cqt = e.overlay(View::Cqt, &grid(View::Cqt, r.samples.len()), scale);
        let hop = StftConfig::default().hop_len as u64;
        let saliency = LiveSaliency {
            at_secs: (r.start_sample + r.samples.len() as u64) as f64 / f64::from(ANALYSIS_RATE_HZ),
            first_column: (r.start_sample + hop / 2) / hop,
            stft,
            cqt,
            class_name: e.class_name.clone(),
            millis: start.elapsed().as_secs_f64() * 1e3,
        };
        publish(Ok(saliency));
    }
}
