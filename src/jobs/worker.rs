//! One background worker for every kind of job: a named thread with its own state, fed typed
//! requests through a bounded latest-wins mailbox, reporting typed events. A newer request in a
//! lane replaces the one waiting there and cancels the one in progress; a job that fails or
//! panics ends in a `Failed` report, and a worker thread that is gone is reported once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Condvar, Mutex};

/// Events a worker may hold for the UI before its job waits for the UI to take them.
const EVENT_CAPACITY: usize = 256;

/// What a worker does with each request.
pub trait Job: Send + 'static {
    type Request: Send + 'static;
    type Event: Send + 'static;

    /// How many lanes requests travel in; requests of one lane supersede each other.
    const LANES: usize = 1;

    /// The lane of a request, below [`Self::LANES`]. Lower lanes are served first.
    fn lane(_request: &Self::Request) -> usize {
        0
    }

    /// Whether an event may be dropped when the UI has not taken the events before it (a
    /// progress tick whose successor says as much): a job never waits on a hidden window for
    /// those. Other events wait for room.
    fn droppable(_event: &Self::Event) -> bool {
        false
    }

    /// Works on one request, reporting as it goes; returns soon after `ctx.cancelled()` turns
    /// true. An error ends in a `Failed` report.
    fn run(&mut self, request: Self::Request, ctx: &Context<'_, Self::Event>) -> Result<(), String>;
}

/// What a worker reports about the request with `ticket`.
#[derive(Debug)]
pub enum Report<E> {
    Event {
        ticket: u64,
        event: E,
    },
    /// The request's job ran to its end.
    Done {
        ticket: u64,
    },
    /// The job returned an error or panicked.
    Failed {
        ticket: u64,
        message: String,
    },
    /// The worker thread could not start or is gone; nothing more will come.
    Stopped {
        message: String,
    },
}

/// A running job's view of its worker.
pub struct Context<'a, E> {
    ticket: u64,
    cancel: &'a AtomicBool,
    send: &'a (dyn Fn(Report<E>, bool) + Sync),
    droppable: fn(&E) -> bool,
}

impl<E> Context<'_, E> {
    pub fn ticket(&self) -> u64 {
        self.ticket
    }

    /// True once a newer request of the same lane arrived or the work was cancelled.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The flag behind [`Self::cancelled`], for work that takes one (training).
    pub fn cancel_flag(&self) -> &AtomicBool {
        self.cancel
    }

    pub fn report(&self, event: E) {
        let droppable = (self.droppable)(&event);
        (self.send)(Report::Event { ticket: self.ticket, event }, droppable);
    }
}

struct Lane<R> {
    waiting: Option<(u64, R)>,
    /// The cancel flag of the job in progress in this lane.
    running: Option<Arc<AtomicBool>>,
}

struct Mailbox<R> {
    lanes: Mutex<(Vec<Lane<R>>, bool)>,
    ready: Condvar,
}

impl<R> Mailbox<R> {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Lane<R>>, bool)> {
        // A panic never happens while the lock is held (jobs run outside it).
        self.lanes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The UI side of a worker. It remembers the newest ticket of each lane, and [`Self::poll`]
/// passes on only that request's reports: what a superseded request still sent is dropped.
pub struct Worker<J: Job> {
    mailbox: Arc<Mailbox<J::Request>>,
    events: Option<Receiver<Report<J::Event>>>,
    start_error: Option<String>,
    next_ticket: u64,
    /// Per lane, the newest request's ticket until it is done or failed.
    awaited: Vec<Option<u64>>,
}

impl<J: Job> Worker<J> {
    /// Starts the thread `name` with the state `make()` gives; after a panic the state is made
    /// afresh. `notify` is called after every report (e.g. to request a repaint).
    pub fn start(name: &str, make: impl Fn() -> J + Send + 'static, notify: Arc<dyn Fn() + Send + Sync>) -> Self {
        let lanes = (0..J::LANES).map(|_| Lane { waiting: None, running: None }).collect();
        let mailbox = Arc::new(Mailbox { lanes: Mutex::new((lanes, false)), ready: Condvar::new() });
        let (tx, rx) = sync_channel(EVENT_CAPACITY);
        let inbox = mailbox.clone();
        let spawned =
            std::thread::Builder::new().name(name.into()).spawn(move || serve(&inbox, make, &tx, notify.as_ref()));
        match spawned {
            Ok(_) => {
                Self { mailbox, events: Some(rx), start_error: None, next_ticket: 0, awaited: vec![None; J::LANES] }
            }
            Err(e) => Self {
                mailbox,
                events: None,
                start_error: Some(format!("cannot start the {name} thread: {e}")),
                next_ticket: 0,
                awaited: vec![None; J::LANES],
            },
        }
    }

    /// Queues a request, replacing the one waiting in its lane and cancelling the one in
    /// progress there; returns its ticket.
    pub fn submit(&mut self, request: J::Request) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        let lane = J::lane(&request).min(J::LANES - 1);
        self.awaited[lane] = Some(ticket);
        let mut guard = self.mailbox.lock();
        let slot = &mut guard.0[lane];
        if let Some(flag) = &slot.running {
            flag.store(true, Ordering::Relaxed);
        }
        slot.waiting = Some((ticket, request));
        drop(guard);
        self.mailbox.ready.notify_one();
        ticket
    }

    /// Whether a lane's newest request is still waiting or in progress.
    pub fn is_busy(&self, lane: usize) -> bool {
        self.awaited.get(lane).is_some_and(Option::is_some)
    }

    /// Whether any lane is busy.
    pub fn is_any_busy(&self) -> bool {
        self.awaited.iter().any(Option::is_some)
    }

    /// Drops every waiting request and cancels the jobs in progress, whose ends are still
    /// reported.
    pub fn cancel(&mut self) {
        let mut guard = self.mailbox.lock();
        for (lane, awaited) in guard.0.iter_mut().zip(&mut self.awaited) {
            if let Some((ticket, _)) = lane.waiting.take()
                && *awaited == Some(ticket)
            {
                *awaited = None;
            }
            if let Some(flag) = &lane.running {
                flag.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Reports of the newest requests that arrived since the last call; `Stopped` once when
    /// the thread is gone.
    pub fn poll(&mut self) -> Vec<Report<J::Event>> {
        if let Some(message) = self.start_error.take() {
            self.awaited.iter_mut().for_each(|a| *a = None);
            return vec![Report::Stopped { message }];
        }
        let Some(rx) = &self.events else { return Vec::new() };
        let mut out = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(report) => {
                    let ticket = match &report {
                        Report::Event { ticket, .. } | Report::Done { ticket } | Report::Failed { ticket, .. } => {
                            *ticket
                        }
                        Report::Stopped { .. } => unreachable!("only poll reports a stop"),
                    };
                    let Some(lane) = self.awaited.iter().position(|a| *a == Some(ticket)) else { continue };
                    if matches!(report, Report::Done { .. } | Report::Failed { .. }) {
                        self.awaited[lane] = None;
                    }
                    out.push(report);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.events = None;
                    self.awaited.iter_mut().for_each(|a| *a = None);
                    out.push(Report::Stopped { message: "the worker thread stopped".into() });
                    break;
                }
            }
        }
        out
    }
}

impl<J: Job> Drop for Worker<J> {
    fn drop(&mut self) {
        self.cancel();
        self.mailbox.lock().1 = true;
        self.mailbox.ready.notify_one();
    }
}

/// The worker thread: takes the waiting request of the lowest lane, runs it, reports.
fn serve<J: Job>(
    mailbox: &Mailbox<J::Request>,
    make: impl Fn() -> J,
    tx: &SyncSender<Report<J::Event>>,
    notify: &(dyn Fn() + Send + Sync),
) {
    let gone = AtomicBool::new(false);
    let send = |report: Report<J::Event>, droppable: bool| {
        let sent = if droppable {
            match tx.try_send(report) {
                Ok(()) | Err(std::sync::mpsc::TrySendError::Full(_)) => Ok(()),
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => Err(()),
            }
        } else {
            tx.send(report).map_err(|_| ())
        };
        if sent.is_err() {
            gone.store(true, Ordering::Relaxed);
        }
        notify();
    };
    let mut job = make();
    loop {
        let (ticket, lane, request, cancel) = {
            let mut guard = mailbox.lock();
            loop {
                if guard.1 {
                    return;
                }
                if let Some(lane) = guard.0.iter().position(|l| l.waiting.is_some()) {
                    let (ticket, request) = guard.0[lane].waiting.take().expect("a waiting request");
                    let cancel = Arc::new(AtomicBool::new(false));
                    guard.0[lane].running = Some(cancel.clone());
                    break (ticket, lane, request, cancel);
                }
                guard = mailbox.ready.wait(guard).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        let ctx = Context { ticket, cancel: &cancel, send: &send, droppable: J::droppable };
        let outcome = catch_unwind(AssertUnwindSafe(|| job.run(request, &ctx)));
        mailbox.lock().0[lane].running = None;
        match outcome {
            Ok(Ok(())) => send(Report::Done { ticket }, false),
            Ok(Err(message)) => send(Report::Failed { ticket, message }, false),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                send(Report::Failed { ticket, message: format!("the job failed unexpectedly ({what})") }, false);
                // What the job held may be half-changed: start again from a fresh state.
                job = make();
            }
        }
        if gone.load(Ordering::Relaxed) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// Squares numbers; panics on 13; waits on 99 until cancelled.
    struct Square;

    impl Job for Square {
        type Request = u32;
        type Event = u32;

        fn run(&mut self, n: u32, ctx: &Context<'_, u32>) -> Result<(), String> {
            match n {
                13 => panic!("unlucky"),
                7 => Err("seven is refused".into()),
                99 => {
                    while !ctx.cancelled() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Ok(())
                }
                n => {
                    ctx.report(n * n);
                    Ok(())
                }
            }
        }
    }

    fn until<J: Job>(worker: &mut Worker<J>, mut done: impl FnMut(&Report<J::Event>) -> bool) -> Vec<Report<J::Event>> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            for report in worker.poll() {
                let stop = done(&report);
                seen.push(report);
                if stop {
                    return seen;
                }
            }
            assert!(start.elapsed() < Duration::from_secs(10), "no end");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_panicking_job_ends_in_a_failure_and_the_worker_goes_on() {
        let mut worker = Worker::start("square", || Square, Arc::new(|| {}));
        let t = worker.submit(13);
        let seen = until(&mut worker, |r| matches!(r, Report::Failed { .. }));
        let Some(Report::Failed { ticket, message }) = seen.last() else { unreachable!() };
        assert_eq!(*ticket, t);
        assert!(message.contains("unlucky"), "{message}");
        let t = worker.submit(7);
        let seen = until(&mut worker, |r| matches!(r, Report::Failed { .. }));
        assert!(
            matches!(seen.last(), Some(Report::Failed { ticket, message }) if *ticket == t && message.contains("seven"))
        );
        let t = worker.submit(4);
        let seen = until(&mut worker, |r| matches!(r, Report::Done { .. }));
        assert!(
            matches!(seen[..], [Report::Event { ticket: a, event: 16 }, Report::Done { ticket: b }] if a == t && b == t)
        );
    }

    #[test]
    fn a_newer_request_cancels_the_one_in_progress_and_replaces_the_waiting_one() {
        let mut worker = Worker::start("square", || Square, Arc::new(|| {}));
        // 99 runs until cancelled: 3 can only run (one thread) once it has returned.
        worker.submit(99);
        // Let it start, then queue two: the first is replaced before it runs.
        std::thread::sleep(Duration::from_millis(50));
        worker.submit(2);
        let last = worker.submit(3);
        let seen = until(&mut worker, |r| matches!(r, Report::Done { ticket } if *ticket == last));
        // Only the newest request's reports come through: the cancelled long job's end is
        // dropped, and the request for 2 never ran.
        assert!(
            matches!(seen[..], [Report::Event { ticket: a, event: 9 }, Report::Done { ticket: b }] if a == last && b == last)
        );
        assert!(!worker.is_busy(0));
    }

    #[test]
    fn droppable_events_never_hold_a_job_up_while_nobody_polls() {
        static FINISHED: AtomicBool = AtomicBool::new(false);
        struct Ticks;
        impl Job for Ticks {
            type Request = u32;
            type Event = u32;
            fn droppable(_: &u32) -> bool {
                true
            }
            fn run(&mut self, n: u32, ctx: &Context<'_, u32>) -> Result<(), String> {
                (0..n).for_each(|k| ctx.report(k));
                FINISHED.store(true, Ordering::Relaxed);
                Ok(())
            }
        }
        let mut worker = Worker::start("ticks", || Ticks, Arc::new(|| {}));
        worker.submit(10 * EVENT_CAPACITY as u32);
        let start = Instant::now();
        while !FINISHED.load(Ordering::Relaxed) {
            assert!(start.elapsed() < Duration::from_secs(10), "the job waited for room");
            std::thread::sleep(Duration::from_millis(1));
        }
        let seen = until(&mut worker, |r| matches!(r, Report::Done { .. }));
        // The first ticks filled the queue; the rest were dropped; the end still came.
        assert_eq!(seen.len(), EVENT_CAPACITY + 1);
    }

    #[test]
    fn a_worker_that_is_gone_is_reported_once() {
        struct Exit;
        impl Job for Exit {
            type Request = ();
            type Event = ();
            fn run(&mut self, (): (), _: &Context<'_, ()>) -> Result<(), String> {
                Ok(())
            }
        }
        // Close the mailbox as dropping the worker does: the thread ends, and polling sees it.
        let mut worker = Worker::start("exit", || Exit, Arc::new(|| {}));
        worker.mailbox.lock().1 = true;
        worker.mailbox.ready.notify_one();
        let seen = until(&mut worker, |r| matches!(r, Report::Stopped { .. }));
        assert_eq!(seen.len(), 1);
        assert!(worker.poll().is_empty(), "reported once");
    }
}
