//! `degrade` and `rir`: the target domain from the command line.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use timbrescope::audio::{ANALYSIS_RATE_HZ, load_clip, resample, save_wav_channels};
use timbrescope::degrade::chain::Param;
use timbrescope::degrade::codec::Codec;
use timbrescope::degrade::eq::Eq;
use timbrescope::degrade::noise::NoiseColor;
use timbrescope::degrade::rir::{RirSpec, room_response};
use timbrescope::degrade::{ChainSpec, StageSpec, apply_chain_ears};

#[derive(Args)]
pub struct DegradeArgs {
    /// The clean clip (WAV, FLAC, MP3, Ogg Vorbis).
    input: PathBuf,
    /// Output WAV (32-bit float; two channels after a binaural room).
    #[arg(long)]
    out: PathBuf,
    /// A chain file (TOML, or JSON), or a shipped chain (`shipped:target_domain`); instead of the stage flags.
    #[arg(long, conflicts_with_all = ["reverb_rt60", "noise", "eq", "codec"])]
    chain: Option<PathBuf>,
    /// Room reverberation with this RT60 (seconds).
    #[arg(long, allow_negative_numbers = true)]
    reverb_rt60: Option<f64>,
    /// Spatialise the room through the KEMAR HRIRs (two-channel output).
    #[arg(long, requires = "reverb_rt60")]
    binaural: bool,
    /// Additive noise: white or pink.
    #[arg(long, requires = "snr_db")]
    noise: Option<String>,
    /// Signal-to-noise ratio of --noise, in dB.
    #[arg(long, requires = "noise", allow_negative_numbers = true)]
    snr_db: Option<f64>,
    /// lowshelf:HZ:DB, highshelf:HZ:DB or bandpass:LOW_HZ:HIGH_HZ; repeatable, applied in order.
    #[arg(long, allow_negative_numbers = true)]
    eq: Vec<String>,
    /// mp3:KBPS or opus:KBPS.
    #[arg(long)]
    codec: Option<String>,
    /// Seed of every random draw (rooms, noise, ranges in a chain file).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
pub struct RirArgs {
    /// Reverberation time (seconds).
    #[arg(long, allow_negative_numbers = true)]
    rt60: f64,
    /// Two channels through the KEMAR HRIRs.
    #[arg(long)]
    binaural: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output WAV (32-bit float, 16 kHz).
    #[arg(long)]
    out: PathBuf,
}

/// The stage flags as a chain, in the documented order: reverb, noise, EQ, codec.
fn chain_from_flags(args: &DegradeArgs) -> anyhow::Result<ChainSpec> {
    let mut stage = Vec::new();
    if let Some(rt60) = args.reverb_rt60 {
        stage.push(StageSpec::Reverb { rt60_s: Param::Fixed(rt60), binaural: args.binaural });
    }
    if let (Some(color), Some(snr)) = (&args.noise, args.snr_db) {
        let color = NoiseColor::parse(color).with_context(|| format!("--noise {color:?}: expected white or pink"))?;
        stage.push(StageSpec::Noise { color, snr_db: Param::Fixed(snr) });
    }
    for text in &args.eq {
        let eq = Eq::parse(text).map_err(|e| anyhow::anyhow!("--eq {e}"))?;
        stage.push(match eq {
            Eq::LowShelf { freq_hz, gain_db } => {
                StageSpec::LowShelf { freq_hz: Param::Fixed(freq_hz), gain_db: Param::Fixed(gain_db) }
            }
            Eq::HighShelf { freq_hz, gain_db } => {
                StageSpec::HighShelf { freq_hz: Param::Fixed(freq_hz), gain_db: Param::Fixed(gain_db) }
            }
            Eq::BandPass { low_hz, high_hz } => {
                StageSpec::BandPass { low_hz: Param::Fixed(low_hz), high_hz: Param::Fixed(high_hz) }
            }
        });
    }
    if let Some(text) = &args.codec {
        let (name, kbps) =
            text.split_once(':').with_context(|| format!("--codec {text:?}: expected mp3:KBPS or opus:KBPS"))?;
        let codec = Codec::parse(name).with_context(|| format!("--codec {text:?}: the codec is mp3 or opus"))?;
        let kbps: f64 = kbps.parse().with_context(|| format!("--codec {text:?}: {kbps:?} is not a number"))?;
        let kbps = Param::Fixed(kbps);
        stage.push(if codec == Codec::Mp3 { StageSpec::Mp3 { kbps } } else { StageSpec::Opus { kbps } });
    }
    if stage.is_empty() {
        anyhow::bail!("nothing to do: give --chain FILE or at least one of --reverb-rt60, --noise, --eq, --codec");
    }
    let spec = ChainSpec { stage_probability: None, stage };
    spec.check()?;
    Ok(spec)
}

/// The sample rate and length of a WAV file's header, where it is one.
fn wav_rate_and_len(path: &std::path::Path) -> Option<(u32, usize)> {
    let reader = hound::WavReader::open(path).ok()?;
    Some((reader.spec().sample_rate, reader.duration() as usize))
}

pub fn run(args: DegradeArgs) -> anyhow::Result<()> {
    // Check every parameter before decoding anything.
    let spec = match &args.chain {
        Some(path) => ChainSpec::load(path)?,
        None => chain_from_flags(&args)?,
    };
    let stages = spec.draw(args.seed)?;
    let clip = load_clip(&args.input)?;
    let degraded = apply_chain_ears(&clip.samples, clip.sample_rate_hz, &stages)
        .with_context(|| format!("cannot degrade {}", args.input.display()))?;
    // Stages run at the analysis rate; a WAV at another rate gets its rate and length back.
    let mut channels = degraded.channels;
    let mut rate = clip.sample_rate_hz;
    if let Some((source_rate, source_len)) = wav_rate_and_len(&args.input).filter(|(r, _)| *r != ANALYSIS_RATE_HZ) {
        for ch in &mut channels {
            let mut back = resample(ch, ANALYSIS_RATE_HZ, source_rate)?;
            back.resize(source_len, 0.0);
            *ch = back;
        }
        rate = source_rate;
    }
    save_wav_channels(&args.out, &channels, rate)?;
    let report = serde_json::json!({
        "input": args.input.display().to_string(),
        "out": args.out.display().to_string(),
        "seed": args.seed,
        "stages": degraded.applied,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

pub fn rir(args: RirArgs) -> anyhow::Result<()> {
    let response = room_response(
        &RirSpec { rt60_s: args.rt60, binaural: args.binaural, seed: args.seed, sofa: None },
        ANALYSIS_RATE_HZ,
    )?;
    save_wav_channels(&args.out, &response.channels, response.sample_rate_hz)?;
    let report = serde_json::json!({
        "out": args.out.display().to_string(),
        "rt60_s": args.rt60,
        "measured_t30_s": response.measured_rt60_s,
        "channels": response.channels.len(),
        "samples": response.channels[0].len(),
        "sample_rate_hz": response.sample_rate_hz,
        "room": response.room,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
