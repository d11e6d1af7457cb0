//! Training on the worker thread "train": events through the worker's reports, cancellation by
//! the flag the training loop checks at every step, and the run's outcome as the last event. A
//! panic in training ends the run with an error like any other failure.

use std::sync::Arc;

use super::worker::{Context, Job, Report, Worker};
use crate::learn::{TrainEvent, TrainOptions, train};

pub enum TrainJobEvent {
    Progress(TrainEvent),
    /// The run ended: `Ok` when every epoch ran, or the reason it stopped.
    Ended(Result<(), String>),
}

/// Each request is a whole run.
#[derive(Default)]
pub struct TrainRunner;

impl Job for TrainRunner {
    type Request = TrainOptions;
    type Event = TrainEvent;

    // The panel reads the run folder's metrics too; a tick missed while the window is hidden
    // is made good by the next one.
    fn droppable(event: &TrainEvent) -> bool {
        matches!(event, TrainEvent::Step { .. } | TrainEvent::Preparing { .. })
    }

    fn run(&mut self, options: TrainOptions, ctx: &Context<'_, TrainEvent>) -> Result<(), String> {
        train(&options, ctx.cancel_flag(), &mut |event| ctx.report(event)).map(|_| ()).map_err(|e| e.to_string())
    }
}

pub struct TrainJob {
    worker: Worker<TrainRunner>,
}

impl TrainJob {
    /// Starts training; `notify` is called after every event (e.g. to request a repaint).
    pub fn start(options: TrainOptions, notify: Arc<dyn Fn() + Send + Sync>) -> Self {
        let mut worker = Worker::start("train", TrainRunner::default, notify);
        worker.submit(options);
        Self { worker }
    }

    /// Asks the run to stop after the step in progress; its end is still reported.
    pub fn cancel(&mut self) {
        self.worker.cancel();
    }

    pub fn is_finished(&self) -> bool {
        !self.worker.is_any_busy()
    }

    /// Every event since the last call.
    pub fn drain(&mut self) -> Vec<TrainJobEvent> {
        self.worker
            .poll()
            .into_iter()
            .map(|report| match report {
                Report::Event { event, .. } => TrainJobEvent::Progress(event),
                Report::Done { .. } => TrainJobEvent::Ended(Ok(())),
                Report::Failed { message, .. } | Report::Stopped { message } => TrainJobEvent::Ended(Err(message)),
            })
            .collect()
    }
}

impl Drop for TrainJob {
    fn drop(&mut self) {
        // A closed window stops its run at the next step; the checkpoint of the last epoch stays.
        self.cancel();
    }
}
