//! `mix`: polyphonic mixtures with ideal-ratio soft masks, one compressed .npz each.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::mixing::{MixOptions, make_mixtures};

use super::progress::{Progress, threads};

#[derive(Args)]
pub struct MixArgs {
    /// Data set folder (examples.json and audio/).
    #[arg(long)]
    dataset: PathBuf,
    /// Output folder for mix_NNNNNN.npz.
    #[arg(long)]
    out: PathBuf,
    /// How many mixtures.
    #[arg(long)]
    count: usize,
    /// Sources per mixture: N or MIN..MAX.
    #[arg(long, default_value = "2..3", value_parser = parse_range)]
    sources: RangeInclusive<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Draw notes from this split only: train, valid, test or test_bank (default: all).
    #[arg(long, value_parser = parse_split)]
    split: Option<Split>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_range(s: &str) -> Result<RangeInclusive<usize>, String> {
    let bad = || format!("expected N or MIN..MAX (e.g. 2..3), got {s:?}");
    match s.split_once("..") {
        Some((lo, hi)) => {
            let lo: usize = lo.trim().parse().map_err(|_| bad())?;
            let hi: usize = hi.trim_start_matches('=').trim().parse().map_err(|_| bad())?;
            Ok(lo..=hi)
        }
        None => s.trim().parse().map(|n| n..=n).map_err(|_| bad()),
    }
}

fn parse_split(s: &str) -> Result<Split, String> {
    Split::parse(s).ok_or_else(|| format!("expected train, valid, test or test_bank, got {s:?}"))
}

pub fn run(args: MixArgs) -> anyhow::Result<()> {
    let dataset = Dataset::open(&args.dataset)?;
    let options = MixOptions {
        out: args.out.clone(),
        count: args.count,
        sources: args.sources,
        seed: args.seed,
        split: args.split,
        threads: threads(args.threads)?,
    };
    let progress = Progress::new("mixing");
    let written = make_mixtures(&dataset, &options, &|d, t| progress.update(d, t))
        .with_context(|| format!("cannot write mixtures to {}", args.out.display()))?;
    progress.finish();
    eprintln!("{written} mixtures in {}", args.out.display());
    Ok(())
}

/// An audio file, or a mixture `.npz` written by `mix` (its summed waveform): what `predict`
/// and `explain` hear.
pub fn load_clip_or_mixture(path: &std::path::Path) -> anyhow::Result<timbrescope::audio::Clip> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz")) {
        let file = timbrescope::data::mixture::read_npz(path)?;
        let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        anyhow::ensure!(
            file.sample_rate_hz == timbrescope::audio::ANALYSIS_RATE_HZ,
            "{}: a mixture at {} Hz; the model hears {} Hz",
            path.display(),
            file.sample_rate_hz,
            timbrescope::audio::ANALYSIS_RATE_HZ
        );
        return Ok(timbrescope::audio::Clip::new(name, file.mixture, file.sample_rate_hz));
    }
    Ok(timbrescope::audio::load_clip(path)?)
}
