//! `dataset synth`: render the taxonomy from SoundFonts into an NSynth-layout data set.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};

use timbrescope::data::degraded::{DegradeDatasetOptions, degrade_dataset};
use timbrescope::data::expressive::copy::{PlayedCopyOptions, played_copy};
use timbrescope::data::real::{CutKind, RealSources, build_real};
use timbrescope::data::synth::{DEFAULT_SILENCE_PEAK, SynthOptions, parse_exclusion, synthesize};
use timbrescope::data::taxonomy::Taxonomy;
use timbrescope::degrade::ChainSpec;

use super::progress::{Progress, threads};

#[derive(Subcommand)]
pub enum DatasetVerb {
    /// Render every instrument of the taxonomy over its pitch range with NSynth's protocol.
    Synth(SynthArgs),
    /// Write the paired target domain: every note through a degradation chain, drawn values kept.
    Degrade(DegradeDatasetArgs),
    /// Cut real played recordings (Debian packages, unpacked under --root) into NSynth notes:
    /// phrases by onset and pitch, single notes whole; test-only sources go to `test_real`.
    Real(RealArgs),
    /// Render a played copy of a rendered data set's train notes: each note again from its
    /// library with vibrato, scoops, swells, staccato to full lengths, legato pairs, breath,
    /// bow and pick noise and an amplifier, drawn per note; train with it as --played DIR.
    Played(PlayedArgs),
}

#[derive(Args)]
pub struct PlayedArgs {
    /// The rendered data set.
    #[arg(long)]
    dataset: PathBuf,
    /// Its libraries, as `dataset synth` was given them (repeat).
    #[arg(long = "soundfont", required = true)]
    soundfonts: Vec<PathBuf>,
    /// Output folder for the played copy.
    #[arg(long)]
    out: PathBuf,
    /// Seed of every note's draw (each note's own comes from it and the note's name).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct RealArgs {
    /// The folder the sources' packages are unpacked in (scripts/real.sh makes it).
    #[arg(long)]
    root: PathBuf,
    /// Output folder (examples.json, audio/, and real_counts.json: notes per source, instrument
    /// and split).
    #[arg(long)]
    out: PathBuf,
    /// A list of sources instead of the shipped assets/real_sources.toml.
    #[arg(long)]
    sources: Option<PathBuf>,
    /// Each note alone then silence (`note`), or the 4 s of the recording from its start
    /// (`window`: the note and what follows it).
    #[arg(long, value_enum, default_value = "note")]
    cut: CutArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CutArg {
    Note,
    Window,
}

#[derive(Args)]
pub struct DegradeDatasetArgs {
    /// The clean data set (examples.json + audio/).
    #[arg(long)]
    dataset: PathBuf,
    /// Output folder for the degraded copy (not the data set itself).
    #[arg(long)]
    out: PathBuf,
    /// Chain file (TOML, or JSON), e.g. assets/chains/target_domain.toml, or a shipped chain: shipped:target_domain.
    #[arg(long)]
    chain: PathBuf,
    /// Seed of every draw; each note's own seed comes from it and the note's name.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct SynthArgs {
    /// Sample library: an SF2 bank, a TiMidity .cfg naming GUS patches (e.g. freepats), or an
    /// STK description (.toml, e.g. assets/stk.toml); repeat for more. The first (or the first --train-banks) is split into train/valid/test, the others
    /// are held out whole.
    #[arg(long = "soundfont", required = true)]
    soundfonts: Vec<PathBuf>,
    /// GM programs never rendered from one library, by its name (the file stem, lower case):
    /// BANK:PROGRAM[,PROGRAM...]; repeatable. E.g. a320u:16,19,57.
    #[arg(long = "exclude", value_parser = parse_exclusion)]
    exclude: Vec<(String, Vec<u8>)>,
    /// How many of the first banks are split by pitch into train/valid/test (the rest are held out).
    #[arg(long, default_value_t = 1)]
    train_banks: usize,
    /// Output folder (examples.json and audio/).
    #[arg(long)]
    out: PathBuf,
    /// Render every Nth pitch of each range.
    #[arg(long, default_value_t = 1)]
    pitch_step: u8,
    /// Comma-separated MIDI velocities (default: the taxonomy's 25,50,75,100,127).
    #[arg(long, value_delimiter = ',')]
    velocities: Option<Vec<u8>>,
    /// Seed of the train/valid/test split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A taxonomy JSON file instead of the shipped assets/taxonomy.json.
    #[arg(long)]
    taxonomy: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(verb: DatasetVerb) -> anyhow::Result<()> {
    match verb {
        DatasetVerb::Synth(args) => synth(args),
        DatasetVerb::Degrade(args) => degrade(args),
        DatasetVerb::Real(args) => real(args),
        DatasetVerb::Played(args) => played(args),
    }
}

fn degrade(args: DegradeDatasetArgs) -> anyhow::Result<()> {
    let options = DegradeDatasetOptions {
        chain: ChainSpec::load(&args.chain)?,
        dataset: args.dataset,
        out: args.out.clone(),
        seed: args.seed,
        threads: threads(args.threads)?,
    };
    let progress = Progress::new("degrading");
    let report = degrade_dataset(&options, &|done, total| progress.update(done, total))
        .with_context(|| format!("cannot write the degraded data set in {}", args.out.display()))?;
    progress.finish();
    summary(&args.out, report.notes, report.clipped, ("degraded", report.written), report.reused, report.elapsed_secs);
    Ok(())
}

/// The closing lines of a verb that writes notes: clipping, then what was done and kept.
fn summary(out: &Path, notes: usize, clipped: usize, (did, done): (&str, usize), reused: usize, secs: f64) {
    if clipped > 0 {
        eprintln!("warning: {clipped} note(s) exceeded full scale and were clipped in 16-bit PCM");
    }
    eprintln!("{notes} notes in {} ({done} {did}, {reused} kept from an earlier run) in {secs:.1} s", out.display());
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let taxonomy = match &args.taxonomy {
        Some(path) => Taxonomy::load(path)?,
        None => Taxonomy::default(),
    };
    let options = SynthOptions {
        soundfonts: args.soundfonts,
        train_banks: args.train_banks,
        out: args.out.clone(),
        pitch_step: args.pitch_step,
        velocities: args.velocities,
        seed: args.seed,
        threads: threads(args.threads)?,
        taxonomy,
        silence_peak: DEFAULT_SILENCE_PEAK,
        exclude: args.exclude.into_iter().collect(),
    };
    let progress = Progress::new("rendering");
    let report = synthesize(&options, &|done, total| progress.update(done, total))
        .with_context(|| format!("cannot build the data set in {}", args.out.display()))?;
    progress.finish();
    if !report.left_out.is_empty() {
        eprintln!("warning: {} planned item(s) left out:", report.left_out.len());
        for item in &report.left_out {
            eprintln!("  {}: {}", item.what, item.reason);
        }
    }
    summary(&args.out, report.notes, report.clipped, ("rendered", report.rendered), report.reused, report.elapsed_secs);
    if report.notes == 0 {
        anyhow::bail!("no note could be rendered");
    }
    Ok(())
}

fn real(args: RealArgs) -> anyhow::Result<()> {
    let sources = match &args.sources {
        Some(path) => RealSources::parse(
            &std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("in {}", path.display()))?,
        None => RealSources::shipped(),
    };
    let progress = Progress::new("cutting");
    let cut = match args.cut {
        CutArg::Note => CutKind::Note,
        CutArg::Window => CutKind::Window,
    };
    let report = build_real(&sources, &args.root, &args.out, &Taxonomy::default(), cut, &|done, total| {
        progress.update(done, total)
    })
    .with_context(|| format!("cannot build the real data set in {}", args.out.display()))?;
    progress.finish();
    for item in &report.left_out {
        eprintln!("left out: {item}");
    }
    for (source, instruments) in &report.counts {
        for (instrument, splits) in instruments {
            let cells: Vec<String> = splits.iter().map(|(s, n)| format!("{s} {n}")).collect();
            eprintln!("{source:>16} {instrument:<48} {}", cells.join(", "));
        }
    }
    eprintln!("{} notes in {}", report.notes, args.out.display());
    Ok(())
}

fn played(args: PlayedArgs) -> anyhow::Result<()> {
    let options = PlayedCopyOptions {
        dataset: args.dataset,
        libraries: args.soundfonts,
        out: args.out.clone(),
        seed: args.seed,
        threads: threads(args.threads)?,
    };
    let progress = Progress::new("playing");
    let report = played_copy(&options, &|done, total| progress.update(done, total))
        .with_context(|| format!("cannot write the played copy in {}", args.out.display()))?;
    progress.finish();
    if report.skipped > 0 {
        eprintln!("warning: {} train note(s) of libraries not given were left out", report.skipped);
    }
    eprintln!("{} notes played in {} in {:.1} s", report.notes, args.out.display(), report.elapsed_secs);
    Ok(())
}
