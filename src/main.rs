//! `timbrescope`: with no verb the workbench opens; every verb is the same capability, headless.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "timbrescope", version, about = "Workbench for robust musical-instrument recognition")]
struct Args {
    #[command(subcommand)]
    verb: Option<Verb>,
    /// Clip to open in the workbench (WAV, FLAC, MP3, Ogg Vorbis).
    clip: Option<std::path::PathBuf>,
    /// Data set folder to open in the workbench's browser.
    #[arg(long)]
    dataset: Option<std::path::PathBuf>,
    /// Show the instrument grid at this MIDI pitch once the data set is open.
    #[arg(long, requires = "dataset", value_parser = clap::value_parser!(u8).range(0..=127))]
    grid: Option<u8>,
    /// Mixture .npz (from `timbrescope mix`) to open in the workbench's mixture view.
    #[arg(long)]
    mixture: Option<std::path::PathBuf>,
    /// Degradation chain (TOML or JSON) to load into the workbench's panel and apply.
    #[arg(long)]
    chain: Option<std::path::PathBuf>,
    /// Training run folder to watch in the training tab (repeatable), e.g. one training on a GPU server.
    #[arg(long = "run")]
    runs: Vec<std::path::PathBuf>,
    /// Model file (.safetensors) for the prediction panel, instead of the shipped one.
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Leave-one-library-out report (from `timbrescope lolo`) to open in the training tab.
    #[arg(long)]
    lolo: Option<std::path::PathBuf>,
    /// Embeddings (from `timbrescope embed`) to open in the embedding map; a second one is the
    /// same notes degraded, shown paired with the first.
    #[arg(long, num_args = 1..=2)]
    embeddings: Vec<std::path::PathBuf>,
    /// A note of the --dataset to open beside its nearest training note of the class it is heard
    /// as, in the --model's embedding (the shipped model's without it); B switches between them.
    #[arg(long, requires = "dataset")]
    nearest: Option<String>,
    /// A note of the --dataset to open once it is loaded, as a click in the browser does (with
    /// its played version on the B side when DIR-played holds one).
    #[arg(long, requires = "dataset", conflicts_with = "nearest")]
    note: Option<String>,
    /// Show the saliency over the views (where the model finds its evidence).
    #[arg(long)]
    saliency: bool,
    /// Robustness sweep report (from `eval --sweep`) to plot in the training tab (repeatable: overlaid).
    #[arg(long = "sweep")]
    sweeps: Vec<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Verb {
    /// Render a view of a clip offscreen through the workbench's shaders into a PNG.
    #[cfg(feature = "render")]
    Render(cli::render::RenderArgs),
    /// Export STFT or CQT features as float32 .npy [bins, frames].
    Features(cli::features::FeaturesArgs),
    /// Build data sets: `dataset synth` renders the taxonomy from SoundFonts in NSynth's layout.
    #[command(subcommand)]
    Dataset(cli::dataset::DatasetVerb),
    /// The feature store training and evaluation read: `store build`.
    #[command(subcommand)]
    Store(cli::store::StoreVerb),
    /// The five timbre descriptors of a note (centroid, spread, flatness, ZCR, harmonic-to-background ratio) as JSON.
    Describe(cli::describe::DescribeArgs),
    /// Degrade a clip: room, noise, EQ, codec (stage flags or a chain file), seeded.
    Degrade(cli::degrade::DegradeArgs),
    /// Write a room impulse response with a given RT60 (mono, or binaural through HRIRs).
    Rir(cli::degrade::RirArgs),
    /// Polyphonic mixtures with ideal-ratio soft masks, one .npz each.
    Mix(cli::mix::MixArgs),
    /// Train a model: contrastive STFT/CQT pretraining, then multi-task learning, into a run folder.
    Train(cli::learn::TrainArgs),
    /// Evaluate a model on a split (optionally degraded): every task's metric and the confusion matrix.
    Eval(cli::learn::EvalArgs),
    /// Each note's fused and per-view embeddings, labels and the model's answers, as one .npz.
    Embed(cli::embed::EmbedArgs),
    /// The training note of a class (default: the one a note is heard as) nearest a note in a model's embedding, as JSON.
    Nearest(cli::embed::NearestArgs),
    /// Where a model finds its evidence for a class: integrated gradients over a clip's STFT or CQT, as .npy.
    Explain(cli::explain::ExplainArgs),
    /// Gather leave-one-library-out folds (each FOLDS/<library>/test_bank.json) into one report.
    Lolo(cli::learn::LoloArgs),
    /// A model's top predictions for a clip, per head, as JSON.
    Predict(cli::learn::PredictArgs),
    /// Listen live to an input device or a file played as if live: scrolling views and the
    /// model's running answer in the window, or headless with a timing report.
    Live(cli::live::LiveArgs),
    /// Record from an input device into a WAV file.
    #[cfg(feature = "audio-io")]
    Record(cli::record::RecordArgs),
    /// Play a clip on the default output device.
    #[cfg(feature = "audio-io")]
    Play(cli::play::PlayArgs),
    /// List audio input and output devices.
    #[cfg(feature = "audio-io")]
    Devices,
}

fn main() -> ExitCode {
    // SAFETY: the first statement of main: no other thread exists yet.
    unsafe { timbrescope::learn::network::runtime::park_candle_helpers() };
    // Unnamed, rayon's workers would take the name of whichever thread first uses them (the
    // batch producer's, in training), and show under it in profiles.
    let _ = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("worker-{i}")).build_global();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        // sofar warns about optional attributes the KEMAR file leaves out; nothing to act on.
        .filter_module("sofar", log::LevelFilter::Error)
        .init();
    let args = Args::parse();
    let result = match args.verb {
        #[cfg(feature = "gui")]
        None => cli::gui::run(cli::gui::Start {
            clip: args.clip,
            dataset: args.dataset,
            mixture: args.mixture,
            grid_pitch: args.grid,
            chain: args.chain,
            runs: args.runs,
            model: args.model,
            lolo: args.lolo,
            embeddings: args.embeddings,
            sweeps: args.sweeps,
            saliency: args.saliency,
            nearest: args.nearest,
            note: args.note,
        }),
        #[cfg(not(feature = "gui"))]
        None => Err(anyhow::anyhow!(
            "this timbrescope was built without its window (the `gui` feature); give a verb (see --help)"
        )),
        #[cfg(feature = "render")]
        Some(Verb::Render(a)) => cli::render::run(a),
        Some(Verb::Features(a)) => cli::features::run(a),
        Some(Verb::Dataset(v)) => cli::dataset::run(v),
        Some(Verb::Store(v)) => cli::store::run(v),
        Some(Verb::Describe(a)) => cli::describe::run(a),
        Some(Verb::Mix(a)) => cli::mix::run(a),
        Some(Verb::Degrade(a)) => cli::degrade::run(a),
        Some(Verb::Rir(a)) => cli::degrade::rir(a),
        Some(Verb::Train(a)) => cli::learn::run_train(a),
        Some(Verb::Eval(a)) => cli::learn::run_eval(a),
        Some(Verb::Embed(a)) => cli::embed::run(a),
        Some(Verb::Explain(a)) => cli::explain::run(a),
        Some(Verb::Nearest(a)) => cli::embed::run_nearest(a),
        Some(Verb::Lolo(a)) => cli::learn::run_lolo(a),
        Some(Verb::Predict(a)) => cli::learn::run_predict(a),
        Some(Verb::Live(a)) if a.headless => cli::live::run_headless(&a),
        #[cfg(feature = "gui")]
        Some(Verb::Live(a)) => cli::gui::run_live(a),
        #[cfg(not(feature = "gui"))]
        Some(Verb::Live(_)) => Err(anyhow::anyhow!("this timbrescope was built without its window: use --headless")),
        #[cfg(feature = "audio-io")]
        Some(Verb::Record(a)) => cli::record::run(a),
        #[cfg(feature = "audio-io")]
        Some(Verb::Play(a)) => cli::play::run(a),
        #[cfg(feature = "audio-io")]
        Some(Verb::Devices) => cli::record::list_devices(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
