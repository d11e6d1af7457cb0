//! `features`: STFT or CQT as float32 .npy [bins, frames], for one clip or a whole folder.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use timbrescope::dsp::{Scale, View};
use timbrescope::features::{Analyzer, export_file, export_folder};

#[derive(Clone, Copy, ValueEnum)]
pub enum ViewArg {
    Stft,
    Cqt,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ScaleArg {
    Db,
    Linear,
}

#[derive(Args)]
pub struct FeaturesArgs {
    /// A clip, or a folder of clips (searched recursively).
    input: PathBuf,
    #[arg(long, value_enum)]
    view: ViewArg,
    #[arg(long, value_enum, default_value_t = ScaleArg::Db)]
    scale: ScaleArg,
    /// An .npy file, or a folder when the input is a folder.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads for folder mode (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: FeaturesArgs) -> anyhow::Result<()> {
    let view = match args.view {
        ViewArg::Stft => View::Stft,
        ViewArg::Cqt => View::Cqt,
    };
    let scale = match args.scale {
        ScaleArg::Db => Scale::Db,
        ScaleArg::Linear => Scale::Linear,
    };
    if !args.input.is_dir() {
        return Ok(export_file(&args.input, &args.out, view, scale, &mut Analyzer::default())?);
    }
    let threads = match args.threads {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    std::fs::create_dir_all(&args.out).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.out.display()))?;
    let progress = |done: usize, total: usize| {
        let width = 30;
        let filled = done * width / total.max(1);
        eprint!("\r[{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled));
        let _ = std::io::stderr().flush();
    };
    let report = export_folder(&args.input, &args.out, view, scale, threads, &progress)?;
    eprintln!();
    for (path, error) in &report.failed {
        eprintln!("skipped {}: {error}", path.display());
    }
    eprintln!("wrote {} files to {} ({} skipped)", report.written, args.out.display(), report.failed.len());
    if report.written == 0 && !report.failed.is_empty() {
        anyhow::bail!("no clip in {} could be read", args.input.display());
    }
    Ok(())
}
