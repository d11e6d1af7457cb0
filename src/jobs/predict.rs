//! Live predictions on a named thread: holds the loaded model, works on the newest clip of each
//! kind (clean, degraded) and drops the requests it was too slow for.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use crate::learn::{Prediction, Predictor};

/// Which version of the clip in the views a prediction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    Clean,
    Degraded,
}

enum Request {
    Load(PathBuf),
    Predict { ticket: u64, version: Version, samples: Arc<[f32]> },
}

pub enum PredictEvent {
    Loaded { path: PathBuf, summary: String },
    Ready { ticket: u64, version: Version, prediction: Prediction, millis: f64 },
    Failed(String),
}

pub struct PredictWorker {
    requests: Sender<Request>,
    events: Receiver<PredictEvent>,
    next_ticket: u64,
}

/// Labels per head the panel shows.
pub const TOP: usize = 5;

impl PredictWorker {
    pub fn new(notify: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (req_tx, req_rx) = channel::<Request>();
        let (ev_tx, ev_rx) = channel();
        let spawned = std::thread::Builder::new().name("predict".into()).spawn(move || {
            let mut predictor: Option<Predictor> = None;
            while let Ok(first) = req_rx.recv() {
                // Take everything queued; keep the newest request of each kind.
                let mut load = None;
                let mut latest: [Option<(u64, Arc<[f32]>)>; 2] = [None, None];
                for request in std::iter::once(first).chain(req_rx.try_iter()) {
                    match request {
                        Request::Load(path) => load = Some(path),
                        Request::Predict { ticket, version, samples } => {
                            latest[version as usize] = Some((ticket, samples))
                        }
                    }
                }
                if let Some(path) = load {
                    let event = match Predictor::load(&path) {
                        Ok(p) => {
                            let m = &p.model.meta;
                            let primary = m.schema.primary();
                            let summary = format!(
                                "{} {}, {:?} backbone, trained {} epochs ({})",
                                primary.classes.len(),
                                if primary.name == "family" { "families" } else { "instruments" },
                                m.spec.model.backbone,
                                m.epoch,
                                m.stage
                            );
                            predictor = Some(p);
                            PredictEvent::Loaded { path, summary }
                        }
                        Err(e) => PredictEvent::Failed(e.to_string()),
                    };
                    let _ = ev_tx.send(event);
                    notify();
                }
                let Some(p) = predictor.as_mut() else { continue };
                for (version, slot) in [Version::Clean, Version::Degraded].into_iter().zip(latest) {
                    let Some((ticket, samples)) = slot else { continue };
                    let start = Instant::now();
                    let event = match p.predict(&samples, TOP) {
                        Ok(prediction) => PredictEvent::Ready {
                            ticket,
                            version,
                            prediction,
                            millis: start.elapsed().as_secs_f64() * 1e3,
                        },
                        Err(e) => PredictEvent::Failed(e.to_string()),
                    };
                    let _ = ev_tx.send(event);
                    notify();
                }
            }
        });
        if let Err(e) = spawned {
            log::error!("cannot start the prediction thread: {e}");
        }
        Self { requests: req_tx, events: ev_rx, next_ticket: 0 }
    }

    pub fn load(&self, path: PathBuf) {
        let _ = self.requests.send(Request::Load(path));
    }

    pub fn request(&mut self, version: Version, samples: Arc<[f32]>) -> u64 {
        self.next_ticket += 1;
        let _ = self.requests.send(Request::Predict { ticket: self.next_ticket, version, samples });
        self.next_ticket
    }

    pub fn drain(&self) -> Vec<PredictEvent> {
        self.events.try_iter().collect()
    }
}
