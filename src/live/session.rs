//! A running live stream: the analysis thread reads the source and computes the views, the
//! prediction thread hears the last 4 s every hop; both write into one shared state that the
//! window (or a headless run) reads, and hold its lock only to copy their results in.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::analyser::{LiveAnalyser, LiveConfig};
use super::chain::LiveChain;
use super::saliency::{LiveSaliency, SaliencyRequest, saliency_loop};
use super::source::{Feed, LiveInput, SourceCounts};
use super::stats::LiveStats;
use super::views::LiveViews;
use crate::audio::ANALYSIS_RATE_HZ;
use crate::degrade::{ChainSpec, Stage};
use crate::learn::notes::inputs::NOTE_SAMPLES;
use crate::learn::{ModelSource, Predictor};

/// Seconds between running predictions.
pub const PREDICTION_HOP_SECS: f64 = 0.25;
/// A window whose peak is under this (dBFS) is not predicted: the model would name noise.
const SILENCE_DBFS: f32 = -60.0;
/// Probability at which the multi-label head counts an instrument present.
pub const PRESENT: f32 = 0.5;
/// A note heard for less than this (a hop) is not predicted alone yet: the window stays on the
/// note before.
const ONSET_MIN_SAMPLES: usize = 4_000;
/// Predictions kept: the history's length at one per hop.
const MAX_PREDICTIONS: usize = 2_000;

/// The model's answer for the 4 s ending at `at_secs`.
#[derive(Clone, Debug, Serialize)]
pub struct LivePrediction {
    /// Stream time of the window's end.
    pub at_secs: f64,
    /// Where the heard stretch starts: the latest onset in the last 4 s, or their start.
    pub from_secs: f64,
    /// Instruments, most probable first (top 3).
    pub top: Vec<(String, f32)>,
    /// With a multi-label head: every instrument at or above [`PRESENT`].
    pub present: Option<Vec<(String, f32)>>,
    /// From the hop's last block arriving to this answer, in ms.
    pub latency_ms: f64,
}

/// What the analysis and prediction threads share with their reader.
pub struct LiveState {
    pub views: LiveViews,
    pub predictions: VecDeque<LivePrediction>,
    /// Peak absolute sample since the reader last took it.
    pub peak: f32,
    pub stats: LiveStats,
    /// Why the stream stopped: a file played to its end (`Ok`), or an error.
    pub ended: Option<Result<(), String>>,
    /// When the newest block pushed into the views arrived (for block-to-pixel timing).
    pub newest_arrival: Option<Instant>,
    /// Predictions made since the stream began (the deque keeps the latest).
    pub predicted: u64,
    /// A new degradation chain for the analysis thread to hear the stream through (`Some(None)`:
    /// back to the clean stream).
    chain_request: Option<Option<(ChainSpec, u64)>>,
    /// The stages the stream is heard through now, if any.
    pub chain: Option<Vec<Stage>>,
    /// Why the last chain asked for could not be used.
    pub chain_error: Option<String>,
    /// Explain each prediction's winner (as fast as the explaining thread goes).
    pub saliency_on: bool,
    /// The latest explanation, and how many have come.
    pub saliency: Option<LiveSaliency>,
    pub saliency_version: u64,
    pub saliency_error: Option<String>,
}

impl LiveState {
    /// The peak level since the last call, in dBFS (-120 for silence).
    pub fn take_level_dbfs(&mut self) -> f32 {
        let peak = std::mem::take(&mut self.peak);
        if peak > 1e-6 { 20.0 * peak.log10() } else { -120.0 }
    }

    /// Stream seconds received.
    pub fn secs(&self) -> f64 {
        self.views.samples.end() as f64 / f64::from(ANALYSIS_RATE_HZ)
    }
}

/// A live stream and its threads; dropping it stops them.
pub struct LiveSession {
    pub input: LiveInput,
    /// The model's instruments, in its order (empty without a model).
    pub classes: Vec<String>,
    state: Arc<Mutex<LiveState>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

struct Window {
    samples: Vec<f32>,
    at_secs: f64,
    arrived: Instant,
}

impl LiveSession {
    /// Starts listening to `input`; with a model, predicting every hop. The source is opened on
    /// the analysis thread, so a device or file error arrives as [`LiveState::ended`].
    pub fn start(input: LiveInput, model: Option<ModelSource>, config: LiveConfig) -> Result<LiveSession, String> {
        let analyser = LiveAnalyser::new(config).map_err(|e| e.to_string())?;
        let predictor = model.as_ref().map(|m| Predictor::open(m).map_err(|e| e.to_string())).transpose()?;
        let classes = predictor
            .as_ref()
            .and_then(|p| p.model.meta.schema.heads.iter().find(|h| h.name == "instrument"))
            .map(|h| h.classes.clone())
            .unwrap_or_default();
        let state = Arc::new(Mutex::new(LiveState {
            views: analyser.views(),
            predictions: VecDeque::new(),
            peak: 0.0,
            stats: LiveStats::new(),
            ended: None,
            newest_arrival: None,
            predicted: 0,
            chain_request: None,
            chain: None,
            chain_error: None,
            saliency_on: false,
            saliency: None,
            saliency_version: 0,
            saliency_error: None,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let windows = match (predictor, model) {
            (Some(predictor), Some(model)) => {
                let (tx, rx) = sync_channel::<Window>(1);
                let (explain_tx, explain_rx) = sync_channel::<SaliencyRequest>(1);
                let st = state.clone();
                threads.push(spawn("live saliency", move || {
                    saliency_loop(model, explain_rx, |answer| {
                        let mut s = lock(&st);
                        match answer {
                            Ok(saliency) => {
                                s.saliency = Some(saliency);
                                s.saliency_version += 1;
                            }
                            Err(e) => s.saliency_error = Some(e),
                        }
                    })
                })?);
                let st = state.clone();
                threads.push(spawn("live prediction", move || predict_loop(predictor, rx, explain_tx, &st))?);
                Some(tx)
            }
            _ => None,
        };
        let (st, flag, source) = (state.clone(), stop.clone(), input.clone());
        threads.push(spawn("live analysis", move || analysis_loop(&source, analyser, &st, &flag, windows))?);
        Ok(LiveSession { input, classes, state, stop, threads })
    }

    /// The shared state, locked; hold it briefly (the analysis thread waits meanwhile).
    pub fn state(&self) -> MutexGuard<'_, LiveState> {
        // A thread that panicked while holding the lock left data a reader can still show.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Explains each prediction's winner from now on (or stops).
    pub fn set_saliency(&self, on: bool) {
        self.state().saliency_on = on;
    }

    /// Hears the stream through `chain` (its values drawn from the seed) from now on, in the
    /// views and the prediction alike; None: the clean stream again.
    pub fn set_chain(&self, chain: Option<(ChainSpec, u64)>) {
        self.state().chain_request = Some(chain);
    }

    /// Stops the threads and waits for them; what was heard stays readable, the CQT's
    /// provisional columns made final.
    pub fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for LiveSession {
    fn drop(&mut self) {
        self.halt();
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, String> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| format!("the {name} thread could not start: {e}"))
}

fn lock(state: &Mutex<LiveState>) -> MutexGuard<'_, LiveState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

fn analysis_loop(
    input: &LiveInput,
    mut analyser: LiveAnalyser,
    state: &Mutex<LiveState>,
    stop: &AtomicBool,
    windows: Option<SyncSender<Window>>,
) {
    let counts = Arc::new(SourceCounts::default());
    let mut feed = match Feed::start(input, counts.clone()) {
        Ok(feed) => feed,
        Err(e) => {
            lock(state).ended = Some(Err(e));
            return;
        }
    };
    let hop = (PREDICTION_HOP_SECS * f64::from(ANALYSIS_RATE_HZ)).round() as u64;
    let mut next_prediction = hop;
    let mut chain: Option<LiveChain> = None;
    let ended = loop {
        if stop.load(Ordering::Relaxed) {
            break None;
        }
        let blocks = match feed.next(Duration::from_millis(20)) {
            Ok(Some(blocks)) => blocks,
            Ok(None) => break Some(Ok(())),
            Err(e) => break Some(Err(e)),
        };
        let cpu = Instant::now();
        // The chain and the transforms run outside the lock: an Opus stage takes milliseconds a
        // chunk, a CQT refresh about two, and the window must not wait on them.
        let request = lock(state).chain_request.take();
        let (mut chain_error, mut chain_changed) = (None, request.is_some());
        if let Some(request) = request {
            // Samples waiting in the old chain go on clean, so the stream loses nothing.
            if let Some(pending) = chain.take().map(LiveChain::into_pending) {
                analyser.push(&pending);
            }
            chain = match request.map(|(spec, seed)| LiveChain::new(&spec, seed, ANALYSIS_RATE_HZ)) {
                None => None,
                Some(Ok(c)) => Some(c),
                Some(Err(e)) => {
                    chain_error = Some(e.to_string());
                    None
                }
            };
        }
        let (mut peak, mut skipped) = (0.0f32, 0);
        for block in &blocks {
            let heard = match chain.as_mut().map(|c| c.push(&block.samples)) {
                None => None,
                Some(Ok(degraded)) => Some(degraded),
                Some(Err(e)) => {
                    chain_error = Some(e.to_string());
                    chain = None;
                    chain_changed = true;
                    None
                }
            };
            peak = block.samples.iter().fold(peak, |p, x| p.max(x.abs()));
            analyser.push(heard.as_deref().unwrap_or(&block.samples));
            let end = analyser.samples.end();
            if end >= next_prediction {
                // The window ends on the latest hop boundary, so answers come at exact hops.
                let at = end - end % hop;
                next_prediction = at + hop;
                if let Some(tx) = &windows {
                    let samples = analyser.samples.read(at as i64 - NOTE_SAMPLES as i64..at as i64);
                    let window =
                        Window { samples, at_secs: at as f64 / f64::from(ANALYSIS_RATE_HZ), arrived: block.arrived };
                    if let Err(TrySendError::Full(_)) = tx.try_send(window) {
                        skipped += 1;
                    }
                }
            }
        }
        let update = analyser.take_update();
        let mut s = lock(state);
        s.views.apply(update);
        let done = Instant::now();
        if let Some(e) = chain_error {
            s.chain_error = Some(e);
        }
        if chain_changed {
            s.chain = chain.as_ref().map(|c| c.stages().to_vec());
        }
        s.peak = s.peak.max(peak);
        s.stats.skipped_predictions += skipped;
        for block in &blocks {
            s.stats.block_latency.push(done.duration_since(block.arrived).as_secs_f64() * 1e3);
        }
        s.newest_arrival = blocks.last().map(|b| b.arrived).or(s.newest_arrival);
        s.stats.blocks = counts.blocks.load(Ordering::Relaxed);
        s.stats.dropped_blocks = counts.dropped_blocks.load(Ordering::Relaxed);
        s.stats.analysis_ms += cpu.elapsed().as_secs_f64() * 1e3;
    };
    // What was heard, every column final: a file played out, or a stream stopped.
    analyser.flush();
    let update = analyser.take_update();
    let mut s = lock(state);
    s.views.apply(update);
    if ended.is_some() {
        s.ended = ended;
    }
}

fn predict_loop(
    mut predictor: Predictor,
    windows: Receiver<Window>,
    explain: SyncSender<SaliencyRequest>,
    state: &Mutex<LiveState>,
) {
    for w in windows {
        let peak = w.samples.iter().fold(0.0f32, |p, x| p.max(x.abs()));
        if peak <= 0.0 || 20.0 * peak.log10() < SILENCE_DBFS {
            continue;
        }
        // The latest note from its onset, when the window holds one that has sounded a hop.
        let from = super::onset::latest_onset(&w.samples, ONSET_MIN_SAMPLES).unwrap_or(0);
        let answer = match predictor.predict(&w.samples[from..], 3) {
            Ok(p) => p,
            Err(e) => {
                lock(state).ended = Some(Err(format!("prediction failed: {e}")));
                return;
            }
        };
        let latency_ms = w.arrived.elapsed().as_secs_f64() * 1e3;
        let top = answer.head("instrument").map(|h| h.top.clone()).unwrap_or_default();
        let present = answer.multi.as_ref().map(|m| m.present(0, PRESENT));
        let class = answer
            .head("instrument")
            .and_then(|h| h.top.first())
            .and_then(|(name, _)| predictor.model.meta.primary_classes().iter().position(|c| c == name));
        let mut s = lock(state);
        if s.saliency_on {
            // What the model heard, less the silence before the stream began.
            let at = (w.at_secs * f64::from(ANALYSIS_RATE_HZ)).round() as u64;
            let heard = &w.samples[from..];
            let heard = &heard[heard.len().saturating_sub(at as usize)..];
            let start_sample = at - heard.len() as u64;
            // Busy explaining the last one: this one goes unexplained.
            let _ = explain.try_send(SaliencyRequest { samples: heard.to_vec(), start_sample, class });
        }
        s.stats.prediction_latency.push(latency_ms);
        let from_secs = w.at_secs - (w.samples.len() - from) as f64 / f64::from(ANALYSIS_RATE_HZ);
        s.predictions.push_back(LivePrediction { at_secs: w.at_secs, from_secs, top, present, latency_ms });
        s.predicted += 1;
        if s.predictions.len() > MAX_PREDICTIONS {
            s.predictions.pop_front();
        }
    }
}
