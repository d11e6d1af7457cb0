//! The live degradation worker: one named thread that keeps a chain runner (so a slider on a
//! late stage recomputes only from there), always works on the newest request, and sends back
//! the degraded clip with its views and its Δ views against the clean clip.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use super::analysis::Analysis;
use crate::audio::Clip;
use crate::degrade::chain::Applied;
use crate::degrade::{ChainRunner, Stage};
use crate::dsp::Spectrogram;
use crate::features::Analyzer;

/// The Δ views compare levels down to this far below the clean clip's loudest value (the
/// default colour range of the views).
pub const DELTA_FLOOR_DB: f32 = 80.0;

struct Request {
    ticket: u64,
    clean: Arc<Analysis>,
    stages: Vec<Stage>,
}

/// A degraded clip as the views show it and the speakers play it.
pub struct DegradedView {
    pub ticket: u64,
    /// What is heard: one channel, or the two ears of a binaural room.
    pub channels: Vec<Arc<[f32]>>,
    /// The mid signal (what a model hears) and its STFT and CQT in dB.
    pub analysis: Analysis,
    /// Degraded minus clean, in dB.
    pub delta_stft: Spectrogram,
    pub delta_cqt: Spectrogram,
    pub applied: Vec<Applied>,
    /// Time spent in the chain, and in the chain plus both views and Δs.
    pub chain_ms: f64,
    pub total_ms: f64,
}

pub enum DegradeEvent {
    Ready(Arc<DegradedView>),
    Failed { ticket: u64, message: String },
}

pub struct DegradeWorker {
    requests: Option<Sender<Request>>,
    events: Receiver<DegradeEvent>,
    next_ticket: u64,
}

impl DegradeWorker {
    /// Starts the worker thread; `notify` is called after every event (e.g. to request a repaint).
    pub fn new(notify: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (req_tx, req_rx) = channel::<Request>();
        let (ev_tx, ev_rx) = channel();
        let spawned = std::thread::Builder::new().name("degrade".into()).spawn(move || {
            // Both ears: the B side of the A/B switch is listened to; the views show the mid.
            let mut runner = ChainRunner::with_ears();
            let mut analyzer = Analyzer::default();
            while let Ok(mut request) = req_rx.recv() {
                // Only the newest request matters: a slider sends many while it moves.
                while let Ok(newer) = req_rx.try_recv() {
                    request = newer;
                }
                let ticket = request.ticket;
                let event = match process(request, &mut runner, &mut analyzer) {
                    Ok(view) => DegradeEvent::Ready(Arc::new(view)),
                    Err(message) => DegradeEvent::Failed { ticket, message },
                };
                if ev_tx.send(event).is_err() {
                    break;
                }
                notify();
            }
        });
        let requests = match spawned {
            Ok(_) => Some(req_tx),
            Err(e) => {
                log::error!("could not start the degradation worker: {e}");
                None
            }
        };
        Self { requests, events: ev_rx, next_ticket: 0 }
    }

    /// Asks for `clean` through `stages`; answers arrive through [`DegradeWorker::poll`].
    pub fn request(&mut self, clean: Arc<Analysis>, stages: Vec<Stage>) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        if let Some(tx) = &self.requests {
            let _ = tx.send(Request { ticket, clean, stages });
        }
        ticket
    }

    pub fn poll(&self) -> Vec<DegradeEvent> {
        self.events.try_iter().collect()
    }
}

fn process(request: Request, runner: &mut ChainRunner, analyzer: &mut Analyzer) -> Result<DegradedView, String> {
    let start = Instant::now();
    let clean = &request.clean;
    let clip = &clean.clip;
    let degraded = runner.run(&clip.samples, clip.sample_rate_hz, &request.stages).map_err(|e| e.to_string())?;
    let chain_ms = start.elapsed().as_secs_f64() * 1e3;
    let mid = Clip::new(format!("{} (degraded)", clip.name), degraded.mid(), clip.sample_rate_hz);
    let analysis = Analysis::compute(mid, analyzer)?;
    // Differences between levels both far below the clean clip's peak mean nothing to the eye.
    let floor = clean.max_db - DELTA_FLOOR_DB;
    let delta = |a: &Spectrogram, b: &Spectrogram| {
        a.difference(b, floor).ok_or("the degraded views do not match the clean ones")
    };
    let delta_stft = delta(&analysis.stft, &clean.stft)?;
    let delta_cqt = delta(&analysis.cqt, &clean.cqt)?;
    // One channel is the mid itself: share it rather than keep a second copy.
    let channels = if degraded.channels.len() == 1 {
        vec![analysis.clip.samples.clone()]
    } else {
        degraded.channels.into_iter().map(Arc::from).collect()
    };
    Ok(DegradedView {
        ticket: request.ticket,
        channels,
        analysis,
        delta_stft,
        delta_cqt,
        applied: degraded.applied,
        chain_ms,
        total_ms: start.elapsed().as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::ANALYSIS_RATE_HZ;

    #[test]
    fn the_worker_answers_with_views_and_deltas() {
        let samples: Vec<f32> = (0..16_000).map(|i| 0.3 * (i as f32 * 0.02).sin()).collect();
        let clean =
            Arc::new(Analysis::compute(Clip::new("t", samples, ANALYSIS_RATE_HZ), &mut Analyzer::default()).unwrap());
        let (tx, rx) = channel();
        let tx = std::sync::Mutex::new(tx);
        let mut worker = DegradeWorker::new(Arc::new(move || {
            let _ = tx.lock().unwrap().send(());
        }));
        let stages = vec![Stage::HighShelf { freq_hz: 1000.0, gain_db: 12.0 }];
        let ticket = worker.request(clean.clone(), stages);
        rx.recv_timeout(std::time::Duration::from_secs(30)).expect("an answer");
        let events = worker.poll();
        let Some(DegradeEvent::Ready(view)) = events.into_iter().next() else { panic!("no view") };
        assert_eq!(view.ticket, ticket);
        assert_eq!(view.delta_stft.values.len(), clean.stft.values.len());
        // The tone (0.02 rad/sample, 51 Hz) sits on the shelf's flat low side: Δ near 0 dB there.
        let bin = (0.02 / std::f32::consts::TAU * 1024.0).round() as usize;
        let frame = view.delta_stft.frames / 2;
        assert!(view.delta_stft.get(bin, frame).abs() < 0.5, "{}", view.delta_stft.get(bin, frame));
    }
}
