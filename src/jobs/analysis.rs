//! Loading and analysing clips off the UI thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use crate::audio::{Clip, load_clip};
use crate::dsp::{Scale, Spectrogram, View};
use crate::features::Analyzer;

/// Longest clip the views analyse: 20 minutes of STFT and CQT is about 400 MB of values.
pub const MAX_VIEW_SECS: f64 = 20.0 * 60.0;

/// A clip with its views, all in dB.
pub struct Analysis {
    pub clip: Clip,
    pub stft: Spectrogram,
    pub cqt: Spectrogram,
    /// Loudest value of either view (dB), found once so views need not rescan every frame.
    pub max_db: f32,
    pub elapsed_ms: f64,
}

impl Analysis {
    /// Computes both views now, on the calling thread.
    pub fn compute(clip: Clip, analyzer: &mut Analyzer) -> Result<Self, String> {
        if clip.duration_secs() > MAX_VIEW_SECS {
            return Err(format!(
                "{} is {:.0} s long; the views show clips up to {:.0} s (use `timbrescope features` for longer files)",
                clip.name,
                clip.duration_secs(),
                MAX_VIEW_SECS
            ));
        }
        let start = Instant::now();
        let stft = analyzer.compute(View::Stft, &clip.samples, Scale::Db);
        let cqt = analyzer.compute(View::Cqt, &clip.samples, Scale::Db);
        let max_db = stft.max_value().unwrap_or(0.0).max(cqt.max_value().unwrap_or(0.0));
        Ok(Self { clip, stft, cqt, max_db, elapsed_ms: start.elapsed().as_secs_f64() * 1e3 })
    }

    pub fn view(&self, view: View) -> &Spectrogram {
        match view {
            View::Stft => &self.stft,
            View::Cqt => &self.cqt,
        }
    }
}

/// What a job reports; `ticket` identifies the request so stale answers can be dropped.
pub enum JobEvent {
    Loaded { ticket: u64, clip: Clip },
    Analyzed { ticket: u64, analysis: Arc<Analysis> },
    Failed { ticket: u64, message: String },
}

/// Spawns load/analysis jobs and collects their events.
pub struct AnalysisJobs {
    tx: Sender<JobEvent>,
    rx: Receiver<JobEvent>,
    notify: Arc<dyn Fn() + Send + Sync>,
    next_ticket: u64,
}

impl AnalysisJobs {
    /// `notify` is called after every event (e.g. to request a repaint).
    pub fn new(notify: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = channel();
        Self { tx, rx, notify, next_ticket: 0 }
    }

    /// Loads a file, then analyses it; reports `Loaded` and then `Analyzed` (or `Failed`).
    pub fn load(&mut self, path: PathBuf) -> u64 {
        let ticket = self.ticket();
        self.spawn("load", ticket, move |send| {
            let clip = load_clip(&path).map_err(|e| e.to_string())?;
            send(JobEvent::Loaded { ticket, clip: clip.clone() });
            analyse(ticket, clip)
        });
        ticket
    }

    /// Analyses a clip already in memory.
    pub fn analyse(&mut self, clip: Clip) -> u64 {
        let ticket = self.ticket();
        self.spawn("analysis", ticket, move |_| analyse(ticket, clip));
        ticket
    }

    /// Events that arrived since the last call.
    pub fn poll(&self) -> Vec<JobEvent> {
        self.rx.try_iter().collect()
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn spawn<F>(&self, name: &str, ticket: u64, work: F)
    where
        F: FnOnce(&dyn Fn(JobEvent)) -> Result<JobEvent, String> + Send + 'static,
    {
        let (tx, notify) = (self.tx.clone(), self.notify.clone());
        let spawned = std::thread::Builder::new().name(format!("{name}-{ticket}")).spawn(move || {
            let send = |event| {
                // The receiver is gone only when the app is closing; nothing to report to then.
                let _ = tx.send(event);
                notify();
            };
            match work(&send) {
                Ok(event) => send(event),
                Err(message) => send(JobEvent::Failed { ticket, message }),
            }
        });
        if let Err(e) = spawned {
            let _ = self.tx.send(JobEvent::Failed { ticket, message: format!("could not start a worker thread: {e}") });
        }
    }
}

fn analyse(ticket: u64, clip: Clip) -> Result<JobEvent, String> {
    let analysis = Analysis::compute(clip, &mut Analyzer::default())?;
    Ok(JobEvent::Analyzed { ticket, analysis: Arc::new(analysis) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::ANALYSIS_RATE_HZ;

    #[test]
    fn clips_longer_than_the_view_limit_get_a_clear_error() {
        let secs = MAX_VIEW_SECS as usize + 60;
        let clip = Clip::new("long take", vec![0.0; secs * ANALYSIS_RATE_HZ as usize], ANALYSIS_RATE_HZ);
        let err = Analysis::compute(clip, &mut Analyzer::default()).err().expect("too long for the views");
        assert!(err.contains("long take") && err.contains("1260 s") && err.contains("1200 s"), "{err}");
    }

    #[test]
    fn views_have_the_design_shapes() {
        let clip = Clip::new("tone", vec![0.1; 16_000], ANALYSIS_RATE_HZ);
        let a = Analysis::compute(clip, &mut Analyzer::default()).unwrap();
        assert_eq!((a.stft.bins, a.stft.frames), (513, 63));
        assert_eq!((a.cqt.bins, a.cqt.frames), (761, 63));
        let loudest = a.stft.values.iter().chain(&a.cqt.values).copied().fold(f32::MIN, f32::max);
        assert_eq!(a.max_db, loudest);
    }
}
