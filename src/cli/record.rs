//! `timbrescope record` and `timbrescope devices`: capture from an input device into a WAV file.

use std::path::PathBuf;

use anyhow::Context;
use timbrescope::audio::{self, capture, save};

#[derive(clap::Args)]
pub struct RecordArgs {
    /// How long to record, in seconds.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Input device name as `timbrescope devices` lists it (default input when omitted).
    #[arg(long)]
    pub device: Option<String>,
    /// Where to write the take (32-bit float mono WAV at 16 kHz).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: RecordArgs) -> anyhow::Result<()> {
    let clip = capture::record_blocking(args.device.as_deref(), args.seconds).context("recording failed")?;
    let peak = clip.samples.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let peak_dbfs = if peak > 1e-6 { 20.0 * peak.log10() } else { -120.0 };
    save::save_wav(&args.out, &clip)?;
    println!(
        "recorded {:.2} s ({} samples at {} Hz), peak {peak_dbfs:.1} dBFS -> {}",
        clip.duration_secs(),
        clip.samples.len(),
        clip.sample_rate_hz,
        args.out.display()
    );
    Ok(())
}

/// Prints input and output device names; having none is reported, not an error.
pub fn list_devices() -> anyhow::Result<()> {
    for (title, names) in [("input", audio::input_devices()?), ("output", audio::output_devices()?)] {
        println!("{title} devices:");
        if names.is_empty() {
            println!("  (none)");
        }
        for name in names {
            println!("  {name}");
        }
    }
    Ok(())
}
