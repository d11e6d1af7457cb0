//! `timbrescope embed`: every note's fused and per-view embeddings, with labels, as one .npz.

use std::path::PathBuf;

use clap::Args;
use timbrescope::learn::assessment::eval::EvalOptions;
use timbrescope::learn::explanation::embed::embed;

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

#[derive(Args)]
pub struct NearestArgs {
    #[command(flatten)]
    source: ModelSplit,
    /// The note (its `note_str`) to find a neighbour for.
    #[arg(long)]
    note: String,
    /// The class the neighbour must have (default: the class the model hears the note as).
    #[arg(long)]
    class: Option<String>,
    #[arg(long)]
    threads: Option<usize>,
}

/// `timbrescope nearest`: the training note of a class nearest a note in the model's embedding.
pub fn run_nearest(args: NearestArgs) -> anyhow::Result<()> {
    let opts = args.source.options(args.threads)?;
    let progress = Progress::new("embedding");
    let query_split = embed(&opts, &|d, t| progress.update(d, t))?;
    let train_opts = EvalOptions { split: timbrescope::data::dataset::Split::Train, ..opts };
    let train = embed(&train_opts, &|d, t| progress.update(d, t))?;
    progress.finish();
    let row = query_split.meta.notes.iter().position(|n| *n == args.note).ok_or_else(|| {
        anyhow::anyhow!(
            "--note {:?} is not in the {} split of {}",
            args.note,
            query_split.meta.split,
            query_split.meta.dataset
        )
    })?;
    let classes = &train.meta.classes;
    let class = match &args.class {
        Some(name) => classes
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| anyhow::anyhow!("--class {name:?}: the model's classes are {}", classes.join(", ")))?,
        None => query_split.predicted[row] as usize,
    };
    let (nearest, distance) =
        timbrescope::learn::explanation::embed::nearest_of_class(&train, query_split.fused.row(row), class, &args.note)
            .ok_or_else(|| anyhow::anyhow!("the training split has no note of {}", classes[class]))?;
    let out = serde_json::json!({
        "note": args.note,
        "label": classes[query_split.label[row] as usize],
        "heard_as": classes[query_split.predicted[row] as usize],
        "class": classes[class],
        "nearest": train.meta.notes[nearest],
        "distance": distance,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
