//! The live degradation worker: one named thread that keeps a chain runner (so a slider on a
//! late stage recomputes only from there), always works on the newest request, and sends back
//! the degraded clip with its views and its Δ views against the clean clip.

use std::sync::Arc;
use std::time::Instant;

use super::analysis::Analysis;
use super::worker::{Context, Job, Worker};
use crate::audio::Clip;
use crate::degrade::chain::Applied;
use crate::degrade::{ChainRunner, Stage};
use crate::dsp::Spectrogram;
use crate::features::Analyzer;

/// The Δ views compare levels down to this far below the clean clip's loudest value (the
/// default colour range of the views).
pub const DELTA_FLOOR_DB: f32 = 80.0;

/// A clip and the chain to render it through.
pub struct DegradeRequest {
    pub clean: Arc<Analysis>,
    pub stages: Vec<Stage>,
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

/// Renders clips through a chain, keeping its chain runner (so a slider on a late stage
/// recomputes only from there) and its analyser between requests.
pub struct DegradeJob {
    runner: ChainRunner,
    analyzer: Analyzer,
}

impl DegradeJob {
    pub fn new() -> Self {
        // Both ears: the B side of the A/B switch is listened to; the views show the mid.
        Self { runner: ChainRunner::with_ears(), analyzer: Analyzer::default() }
    }
}

impl Default for DegradeJob {
    fn default() -> Self {
        Self::new()
    }
}

impl Job for DegradeJob {
    type Request = DegradeRequest;
    type Event = Arc<DegradedView>;

    fn run(&mut self, request: DegradeRequest, ctx: &Context<'_, Arc<DegradedView>>) -> Result<(), String> {
        let view = process(ctx.ticket(), request, &mut self.runner, &mut self.analyzer)?;
        ctx.report(Arc::new(view));
        Ok(())
    }
}

/// The live degradation worker: a slider sends many requests while it moves, and only the
/// newest is rendered.
pub type DegradeWorker = Worker<DegradeJob>;

fn process(
    ticket: u64,
    request: DegradeRequest,
    runner: &mut ChainRunner,
    analyzer: &mut Analyzer,
) -> Result<DegradedView, String> {
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
        ticket,
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
    use std::sync::mpsc::channel;

    use super::*;
    use crate::audio::ANALYSIS_RATE_HZ;
    use crate::jobs::Report;

    #[test]
    fn the_worker_answers_with_views_and_deltas() {
        let samples: Vec<f32> = (0..16_000).map(|i| 0.3 * (i as f32 * 0.02).sin()).collect();
        let clean =
            Arc::new(Analysis::compute(Clip::new("t", samples, ANALYSIS_RATE_HZ), &mut Analyzer::default()).unwrap());
        let (tx, rx) = channel();
        let tx = std::sync::Mutex::new(tx);
        let mut worker = DegradeWorker::start(
            "degrade",
            DegradeJob::new,
            Arc::new(move || {
                let _ = tx.lock().unwrap().send(());
            }),
        );
        let stages = vec![Stage::HighShelf { freq_hz: 1000.0, gain_db: 12.0 }];
        let ticket = worker.submit(DegradeRequest { clean: clean.clone(), stages });
        rx.recv_timeout(std::time::Duration::from_secs(30)).expect("an answer");
        let reports = worker.poll();
        let Some(Report::Event { event: view, .. }) = reports.into_iter().next() else { panic!("no view") };
        assert_eq!(view.ticket, ticket);
        assert_eq!(view.delta_stft.values.len(), clean.stft.values.len());
        // The tone (0.02 rad/sample, 51 Hz) sits on the shelf's flat low side: Δ near 0 dB there.
        let bin = (0.02 / std::f32::consts::TAU * 1024.0).round() as usize;
        let frame = view.delta_stft.frames / 2;
        assert!(view.delta_stft.get(bin, frame).abs() < 0.5, "{}", view.delta_stft.get(bin, frame));
    }
}
