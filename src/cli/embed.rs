//! `timbrescope embed`: every note's fused and per-view embeddings, with labels, as one .npz.

use std::path::PathBuf;

use clap::Args;
use timbrescope::learn::embed::embed;
use timbrescope::learn::eval::EvalOptions;

use super::learn::ModelSplit;
use super::progress::Progress;

#[derive(Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    source: ModelSplit,
    /// Degrade every note with this chain first (seeded per note, as `eval --chain`).
    #[arg(long)]
    chain: Option<PathBuf>,
    #[arg(long, default_value_t = 0, requires = "chain")]
    seed: u64,
    /// The .npz to write: `fused` [notes, E], `z_stft` and `z_cqt` [notes, P] (float32),
    /// `label` and `predicted` [notes] (int32), and `meta` (JSON: classes, notes, families,
    /// libraries).
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    let opts = EvalOptions { chain: args.chain.map(|c| (c, args.seed)), ..args.source.options(args.threads)? };
    let progress = Progress::new("embedding");
    let embeddings = embed(&opts, &|d, t| progress.update(d, t))?;
    progress.finish();
    embeddings.write(&args.out)?;
    let correct = embeddings.label.iter().zip(&embeddings.predicted).filter(|(a, b)| a == b).count();
    println!(
        "{} notes: fused {}-d, views {}-d, cross-view alignment (mean cosine z_STFT·z_CQT) {:.3}, {} of {} right; wrote {}",
        embeddings.len(),
        embeddings.fused.cols,
        embeddings.z_stft.cols,
        embeddings.cross_view_alignment(),
        correct,
        embeddings.len(),
        args.out.display()
    );
    Ok(())
}
