//! Training on a named background thread: events through a channel, cancellation by a flag
//! checked at every step, and the run's outcome as the last event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, channel};

use crate::learn::{TrainEvent, TrainOptions, train};

pub enum TrainJobEvent {
    Progress(TrainEvent),
    /// The run ended: `Ok` when every epoch ran, or the reason it stopped.
    Ended(Result<(), String>),
}

pub struct TrainJob {
    cancel: Arc<AtomicBool>,
    events: Receiver<TrainJobEvent>,
    finished: bool,
}

impl TrainJob {
    /// Starts training; `notify` is called after every event (e.g. to request a repaint).
    pub fn start(options: TrainOptions, notify: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<Self> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = channel();
        let flag = cancel.clone();
        std::thread::Builder::new().name("train".into()).spawn(move || {
            let result = train(&options, &flag, &mut |event| {
                let _ = tx.send(TrainJobEvent::Progress(event));
                notify();
            });
            let _ = tx.send(TrainJobEvent::Ended(result.map(|_| ()).map_err(|e| e.to_string())));
            notify();
        })?;
        Ok(Self { cancel, events: rx, finished: false })
    }

    /// Asks the job to stop after the step in progress.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Every event since the last call.
    pub fn drain(&mut self) -> Vec<TrainJobEvent> {
        let events: Vec<TrainJobEvent> = self.events.try_iter().collect();
        if events.iter().any(|e| matches!(e, TrainJobEvent::Ended(_))) {
            self.finished = true;
        }
        events
    }
}

impl Drop for TrainJob {
    fn drop(&mut self) {
        // A closed window stops its run at the next step; the checkpoint of the last epoch stays.
        self.cancel();
    }
}
