//! Loading and analysing clips off the UI thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::worker::{Context, Job, Worker};
use crate::audio::{Clip, load_clip};
use crate::dsp::pyramid::{DEFAULT_MAX_SAMPLES, MinMaxPyramid};
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
    /// The waveform view's min/max pyramid, built here rather than on the window's thread.
    pub waveform: MinMaxPyramid,
    pub elapsed_ms: f64,
}

impl Analysis {
    /// Computes both views now, on the calling thread.
    pub fn compute(clip: Clip, analyzer: &mut Analyzer) -> Result<Self, String> {
        Ok(Self::compute_unless(clip, analyzer, &|| false)?.expect("never cancelled"))
    }

    /// [`Self::compute`], given up (None) when `cancelled` turns true between the views.
    pub fn compute_unless(
        clip: Clip,
        analyzer: &mut Analyzer,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Option<Self>, String> {
        if clip.duration_secs() > MAX_VIEW_SECS {
            return Err(format!(
                "{} is {:.0} s long; the views show clips up to {:.0} s (use `timbrescope features` for longer files)",
                clip.name,
                clip.duration_secs(),
                MAX_VIEW_SECS
            ));
        }
        if cancelled() {
            return Ok(None);
        }
        let start = Instant::now();
        let stft = analyzer.compute(View::Stft, &clip.samples, Scale::Db);
        if cancelled() {
            return Ok(None);
        }
        let cqt = analyzer.compute(View::Cqt, &clip.samples, Scale::Db);
        let max_db = stft.max_value().unwrap_or(0.0).max(cqt.max_value().unwrap_or(0.0));
        let waveform = MinMaxPyramid::new(&clip.samples, DEFAULT_MAX_SAMPLES);
        Ok(Some(Self { clip, stft, cqt, max_db, waveform, elapsed_ms: start.elapsed().as_secs_f64() * 1e3 }))
    }

    pub fn view(&self, view: View) -> &Spectrogram {
        match view {
            View::Stft => &self.stft,
            View::Cqt => &self.cqt,
        }
    }
}

/// What the analysis worker is asked to do.
pub enum AnalysisRequest {
    /// Load a file, then analyse it.
    Load(PathBuf),
    /// Analyse a clip already in memory.
    Analyse(Clip),
}

pub enum AnalysisEvent {
    Loaded(Clip),
    Analyzed(Arc<Analysis>),
}

/// Loads and analyses clips, keeping its analyser between them. A newer request cancels one in
/// progress between its STFT and its CQT: clicking through long clips never runs several
/// analyses of hundreds of megabytes at once.
pub struct AnalysisJob {
    analyzer: Analyzer,
}

impl AnalysisJob {
    pub fn new() -> Self {
        Self { analyzer: Analyzer::default() }
    }
}

impl Default for AnalysisJob {
    fn default() -> Self {
        Self::new()
    }
}

impl Job for AnalysisJob {
    type Request = AnalysisRequest;
    type Event = AnalysisEvent;

    fn run(&mut self, request: AnalysisRequest, ctx: &Context<'_, AnalysisEvent>) -> Result<(), String> {
        let clip = match request {
            AnalysisRequest::Load(path) => {
                let clip = load_clip(&path).map_err(|e| e.to_string())?;
                ctx.report(AnalysisEvent::Loaded(clip.clone()));
                clip
            }
            AnalysisRequest::Analyse(clip) => clip,
        };
        if let Some(analysis) = Analysis::compute_unless(clip, &mut self.analyzer, &|| ctx.cancelled())? {
            ctx.report(AnalysisEvent::Analyzed(Arc::new(analysis)));
        }
        Ok(())
    }
}

/// The clip views' worker.
pub type AnalysisJobs = Worker<AnalysisJob>;

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
