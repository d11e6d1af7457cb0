//! `cache build`: STFT and CQT of every note of a data set, stored once for training.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use timbrescope::data::cache::{FeatureConfig, build};
use timbrescope::data::dataset::Dataset;

use super::progress::{Progress, threads};

#[derive(Subcommand)]
pub enum CacheVerb {
    /// Compute and store the features of every note (skipped when an up-to-date cache exists).
    Build(BuildArgs),
}

#[derive(Args)]
pub struct BuildArgs {
    /// Data set folder (examples.json and audio/).
    #[arg(long)]
    dataset: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(verb: CacheVerb) -> anyhow::Result<()> {
    match verb {
        CacheVerb::Build(args) => {
            let dataset = Dataset::open(&args.dataset)?;
            let progress = Progress::new("features");
            let report =
                build(&dataset, &FeatureConfig::default(), threads(args.threads)?, &|d, t| progress.update(d, t))
                    .with_context(|| format!("cannot build the feature cache of {}", args.dataset.display()))?;
            progress.finish();
            let verb = if report.built { "built" } else { "already up to date" };
            eprintln!("{} clips: {verb} in {} ({:.1} s)", report.clips, report.dir.display(), report.elapsed_secs);
            Ok(())
        }
    }
}
