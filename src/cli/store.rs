//! `store build`: every note of a data set analysed once into the feature store that training,
//! evaluation and the library probe read.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use timbrescope::data::dataset::Dataset;
use timbrescope::learn::TrainConfig;
use timbrescope::learn::notes::store::{BuildOptions, StoreSettings, build};

use super::progress::{Progress, threads};

#[derive(Subcommand)]
pub enum StoreVerb {
    /// Analyse the notes not yet in the store (all of them the first time; the rest after an
    /// interrupted build, or audio changed since).
    Build(BuildArgs),
}

#[derive(Args)]
pub struct BuildArgs {
    /// Data set folder (examples.json and audio/).
    #[arg(long)]
    dataset: PathBuf,
    /// The training config whose inputs the store is for (its `[input] time_pool`); the shipped
    /// default config when left out.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(verb: StoreVerb) -> anyhow::Result<()> {
    match verb {
        StoreVerb::Build(args) => {
            let config = match &args.config {
                Some(path) => TrainConfig::load(path)?,
                None => TrainConfig::shipped_default(),
            };
            let dataset = Dataset::open(&args.dataset)?;
            let settings = StoreSettings::for_input(&config.input);
            let options = BuildOptions { threads: threads(args.threads)?, ..Default::default() };
            let progress = Progress::new("store");
            let report = build(&dataset, &settings, &options, &|d, t| progress.update(d, t))
                .with_context(|| format!("cannot build the feature store of {}", args.dataset.display()));
            progress.finish();
            let report = report?;
            let state = match report.built {
                0 => "already up to date".to_string(),
                n if n == report.shards => format!("built {n} shard{}", if n == 1 { "" } else { "s" }),
                n => format!("built {n} of {} shards ({} replaced)", report.shards, report.replaced),
            };
            eprintln!(
                "{} notes: {state} in {} ({:.1} MB, {:.1} s)",
                report.notes,
                report.dir.display(),
                report.bytes as f64 / 1e6,
                report.elapsed_secs
            );
            for old in &report.removed_old {
                eprintln!("removed {}: a store in an older format", old.display());
            }
            Ok(())
        }
    }
}
