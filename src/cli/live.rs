//! `timbrescope live`: listen to an input device, or to a file played as if live, in the
//! window's Live mode, or headless for a set time with a report of what was measured.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use timbrescope::live::{LiveConfig, LiveInput, LivePrediction, LiveReport, LiveSession, LiveState};

#[derive(clap::Args)]
pub struct LiveArgs {
    /// Play this clip as if live (in 16-ms blocks at the pace of the clock) instead of a device.
    #[arg(long, conflicts_with = "device")]
    pub file: Option<PathBuf>,
    /// Play the --file again and again.
    #[arg(long = "loop", requires = "file")]
    pub looped: bool,
    /// Input device name as `timbrescope devices` lists it (default input when omitted).
    #[arg(long)]
    pub device: Option<String>,
    /// Model file (.safetensors) for the running prediction, instead of the shipped one.
    #[arg(long, conflicts_with = "no_model")]
    pub model: Option<PathBuf>,
    /// Views only, no running prediction.
    #[arg(long)]
    pub no_model: bool,
    /// Seconds of history kept for scrolling back and keeping as a clip.
    #[arg(long, default_value_t = 120.0)]
    pub history: f64,
    /// No window: listen for --secs (or to the file's end) and write --report.
    #[arg(long)]
    pub headless: bool,
    /// Headless: stop after this many seconds of stream (default: the file's end; a device: 10).
    #[arg(long, requires = "headless")]
    pub secs: Option<f64>,
    /// Headless: where to write the report (JSON); printed when omitted.
    #[arg(long, requires = "headless")]
    pub report: Option<PathBuf>,
    /// Window: close after this many seconds (for timing runs and demos).
    #[arg(long, conflicts_with = "headless")]
    pub quit_after: Option<f64>,
    /// Window: where to write its frame timings (JSON) when it closes.
    #[arg(long, conflicts_with = "headless")]
    pub stats: Option<PathBuf>,
}

impl LiveArgs {
    pub fn input(&self) -> LiveInput {
        match &self.file {
            Some(path) => LiveInput::File { path: path.clone(), looped: self.looped },
            None => LiveInput::Device(self.device.clone()),
        }
    }

    pub fn model(&self) -> Option<timbrescope::learn::ModelSource> {
        use timbrescope::learn::ModelSource;
        (!self.no_model).then(|| self.model.clone().map_or(ModelSource::Shipped, ModelSource::File))
    }

    pub fn config(&self) -> LiveConfig {
        LiveConfig { history_secs: self.history, ..LiveConfig::default() }
    }
}

/// The report keeps the first peaks and the last predictions, so a ten-minute run's stays small.
const MAX_PEAKS: usize = 240;
const MAX_PREDICTIONS: usize = 40;

/// The strongest STFT and CQT rows of the column at `secs`: what a test with a known tone checks.
#[derive(Serialize)]
struct Peak {
    secs: f64,
    stft_bin: usize,
    cqt_bin: usize,
    stft_db: f32,
}

#[derive(Serialize)]
struct HeadlessReport {
    input: String,
    #[serde(flatten)]
    stats: LiveReport,
    ended: Option<String>,
    peaks: Vec<Peak>,
    predictions: Vec<LivePrediction>,
}

pub fn run_headless(args: &LiveArgs) -> anyhow::Result<()> {
    let input = args.input();
    if let Some(secs) = args.secs
        && !(secs.is_finite() && secs > 0.0)
    {
        anyhow::bail!("--secs must be a positive number of seconds, got {secs}");
    }
    let limit = match (&input, args.secs) {
        (_, Some(secs)) => Some(secs),
        (LiveInput::Device(_), None) => Some(10.0),
        (LiveInput::File { looped: true, .. }, None) => anyhow::bail!("--loop plays forever headless: give --secs"),
        (LiveInput::File { .. }, None) => None,
    };
    let mut session = LiveSession::start(input.clone(), args.model(), args.config())
        .map_err(anyhow::Error::msg)
        .context("live listening could not start")?;
    let started = Instant::now();
    let mut last_print = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let state = session.state();
        if let Some(Err(e)) = &state.ended {
            anyhow::bail!("{}: {e}", input.describe());
        }
        let secs = state.secs();
        if state.ended.is_some() || limit.is_some_and(|l| secs >= l) {
            break;
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            eprintln!("{secs:.0} s heard, {} blocks dropped", state.stats.dropped_blocks);
            last_print = Instant::now();
        }
        if started.elapsed().as_secs_f64() > limit.unwrap_or(f64::INFINITY) * 2.0 + 10.0 {
            anyhow::bail!("{}: only {secs:.1} s arrived in {:.0} s", input.describe(), started.elapsed().as_secs_f64());
        }
    }
    // Stopped first, so the analysis thread makes the CQT's provisional columns final.
    session.halt();
    let report = report(&input, &session.state());
    drop(session);
    let text = serde_json::to_string_pretty(&report)? + "\n";
    match &args.report {
        Some(path) => {
            timbrescope::atomic_file::write_atomically(path, |w| std::io::Write::write_all(w, text.as_bytes()))
                .with_context(|| format!("could not write {}", path.display()))?;
            let s = &report.stats;
            println!(
                "{:.1} s heard, {} blocks, {} dropped; block to columns median {:.2} ms; prediction median {} ms; CPU {}% -> {}",
                s.stream_secs,
                s.blocks,
                s.dropped_blocks,
                s.block_to_columns.median_ms.unwrap_or(f64::NAN),
                s.prediction.median_ms.map_or("-".into(), |m| format!("{m:.1}")),
                s.cpu_percent.map_or("-".into(), |c| format!("{c:.0}")),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn report(input: &LiveInput, state: &LiveState) -> HeadlessReport {
    let a = &state.views;
    let hop_secs = a.hop() as f64 / f64::from(a.sample_rate_hz());
    let argmax =
        |col: &[f32]| col.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).map_or((0, f32::NAN), |(i, v)| (i, *v));
    let mut peaks = Vec::new();
    let mut c = a.stft.start();
    while c < a.stft.end() && peaks.len() < MAX_PEAKS {
        if let (Some(s), Some(q)) = (a.stft.column(c), a.cqt.column(c)) {
            let ((stft_bin, stft_db), (cqt_bin, _)) = (argmax(s), argmax(q));
            peaks.push(Peak { secs: c as f64 * hop_secs, stft_bin, cqt_bin, stft_db });
        }
        c += (0.5 / hop_secs).round() as u64;
    }
    HeadlessReport {
        input: input.describe(),
        stats: state.stats.report(state.secs()),
        ended: match &state.ended {
            None => None,
            Some(Ok(())) => Some("the file played to its end".into()),
            Some(Err(e)) => Some(e.clone()),
        },
        peaks,
        predictions: state.predictions.iter().rev().take(MAX_PREDICTIONS).rev().cloned().collect(),
    }
}
