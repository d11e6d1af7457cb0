//! Long fuzzing runs of every reader of a user's file, and the seeds they start from.
//!
//! ```sh
//! cargo run --example fuzz -- [--execs 1000000] [--secs S] [--threads 2] [--hang-secs 10] [TARGET ...]
//! cargo run --example fuzz -- corpus    # rewrites the seeds this program makes
//! cargo run --example fuzz -- replay TARGET FILE    # one input, panics unhidden
//! ```
//!
//! Prints a table of executions, refusals and panics per target; exits with an error when any
//! input panicked (saved under target/fuzz/crashes/). See fuzz/README.md.

#[path = "../tests/common/gus.rs"]
#[allow(dead_code)]
mod gus;
#[path = "../fuzz/harness.rs"]
mod harness;
#[path = "../tests/common/sf2.rs"]
#[allow(dead_code)]
mod sf2;

use std::path::{Path, PathBuf};

use harness::{Budget, LimitedAllocator, TARGETS, Watchdog};

#[global_allocator]
static ALLOCATOR: LimitedAllocator = LimitedAllocator;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1).peekable();
    match args.peek().map(String::as_str) {
        Some("corpus") => return write_corpus(&root),
        Some("replay") => {
            // `replay TARGET FILE`: one input, with the panic's message and backtrace.
            let (target, file) = (args.nth(1).unwrap_or_default(), args.next().unwrap_or_default());
            let target = harness::target(&target).ok_or_else(|| anyhow::anyhow!("targets: {}", target_names()))?;
            let dir = tempfile::tempdir()?;
            let mut scratch = harness::Scratch { dir: dir.path().to_owned(), exec: 0 };
            let result = (target.run)(&std::fs::read(&file)?, &mut scratch);
            println!("{file}: {result:?}");
            return Ok(());
        }
        _ => {}
    }
    let (mut execs, mut secs, mut threads, mut hang_secs) = (1_000_000u64, f64::INFINITY, 2usize, harness::HANG_SECS);
    let mut names = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| anyhow::anyhow!("{name} needs a value"));
        match arg.as_str() {
            "--execs" => execs = value("--execs")?.parse()?,
            "--secs" => secs = value("--secs")?.parse()?,
            "--threads" => threads = value("--threads")?.parse::<usize>()?.max(1),
            "--hang-secs" => hang_secs = value("--hang-secs")?.parse()?,
            name => {
                anyhow::ensure!(harness::target(name).is_some(), "no target {name:?}; targets: {}", target_names());
                names.push(name.to_owned());
            }
        }
    }
    if names.is_empty() {
        names = TARGETS.iter().map(|t| t.name.to_owned()).collect();
    }
    let out = root.join("target/fuzz");
    harness::quiet_panics();
    let dog = Watchdog::start(hang_secs);
    println!("| target | executions | refused | panics | executions/s | slowest execution |");
    println!("|---|---|---|---|---|---|");
    let mut panics = 0;
    for name in &names {
        let target = harness::target(name).expect("checked above");
        let seeds: Vec<Vec<u8>> = harness::corpus(&root, name).into_iter().map(|(_, bytes)| bytes).collect();
        let per_thread = Budget { execs: execs.div_ceil(threads as u64), secs };
        let parts: Vec<harness::Stats> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (seeds, out, dog) = (&seeds, &out, &dog);
                    scope.spawn(move || harness::fuzz(target, seeds, per_thread, t as u64 + 1, out, dog))
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("a fuzzing worker")).collect()
        });
        let mut total = harness::Stats::default();
        for part in parts {
            total.execs += part.execs;
            total.refused += part.refused;
            total.panics += part.panics;
            total.secs = total.secs.max(part.secs);
            total.slowest_ms = total.slowest_ms.max(part.slowest_ms);
            total.panic_messages.extend(part.panic_messages);
        }
        println!("{}", harness::report_line(name, &total));
        for message in &total.panic_messages {
            eprintln!("  panic in {name}: {message}");
        }
        harness::flush();
        panics += total.panics;
    }
    dog.stop();
    anyhow::ensure!(panics == 0, "{panics} inputs panicked; they are in {}", out.join("crashes").display());
    Ok(())
}

fn target_names() -> String {
    TARGETS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// Writes the seeds made from this crate's own writers and test builders. The compressed audio
/// seeds come from fuzz/make_audio_seeds.py (encoders this crate does not have).
fn write_corpus(root: &Path) -> anyhow::Result<()> {
    let corpus = root.join("fuzz/corpus");
    let put = |target: &str, name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        Ok(())
    };
    // WAV: every layout the loader reads in bulk, one hound reads sample by sample, and more
    // channels than two (hound writes those as WAVE_FORMAT_EXTENSIBLE).
    for (name, channels, rate, bits, float) in [
        ("pcm16_mono_16k.wav", 1, 16_000, 16, false),
        ("pcm8_mono_8k.wav", 1, 8_000, 8, false),
        ("pcm24_stereo_44k.wav", 2, 44_100, 24, false),
        ("pcm32_stereo_48k.wav", 2, 48_000, 32, false),
        ("float32_mono_22k.wav", 1, 22_050, 32, true),
        ("pcm16_6ch_48k.wav", 6, 48_000, 16, false),
    ] {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut bytes, spec)?;
        for i in 0..400 * channels as usize {
            let x = (i as f64 * 0.05).sin() * 0.5;
            if float {
                writer.write_sample(x as f32)?;
            } else {
                writer.write_sample((x * ((1i64 << (bits - 1)) - 1) as f64) as i32)?;
            }
        }
        writer.finalize()?;
        put("wav", name, &bytes.into_inner())?;
    }
    // SoundFont: two presets of the tests' tiny bank.
    let presets = [
        sf2::TinyPreset { program: 0, name: "Sine", key_lo: 0, key_hi: 127, harmonics: vec![1.0] },
        sf2::TinyPreset { program: 40, name: "Buzz", key_lo: 40, key_hi: 90, harmonics: vec![1.0, 0.5, 0.3] },
    ];
    put("sf2", "tiny.sf2", &sf2::tiny_sf2(&presets))?;
    // GUS patches: one looped sample with an envelope, one plain.
    put(
        "gus_patch",
        "looped.pat",
        &timbrescope::data::gus::patch::write(&[gus::sine_sample(
            0.5,
            0x1c,
            [60, 30, 20, 63, 63, 63],
            [250, 200, 180, 10, 5, 0],
        )]),
    )?;
    put(
        "gus_patch",
        "plain.pat",
        &timbrescope::data::gus::patch::write(&[gus::sine_sample(0.8, 0, [63; 6], [255, 255, 255, 0, 0, 0])]),
    )?;
    // Chains: each shipped chain as TOML and as JSON.
    for (name, text) in timbrescope::degrade::shipped::CHAINS {
        let file = name.replace('/', "_");
        put("chain_toml", &format!("{file}.toml"), text.as_bytes())?;
        let spec: timbrescope::degrade::ChainSpec = toml::from_str(text)?;
        put("chain_json", &format!("{file}.json"), serde_json::to_string_pretty(&spec)?.as_bytes())?;
    }
    // examples.json: NSynth's own records, and this crate's (with bank, split and descriptors).
    put("examples_json", "nsynth.json", &std::fs::read(root.join("tests/fixtures/nsynth/examples.json"))?)?;
    put("examples_json", "synth.json", SYNTH_EXAMPLES.as_bytes())?;
    // A model: the shipped one's metadata on the smallest network it describes.
    put("model", "tiny.safetensors", &tiny_model()?)?;
    // A mixture of two tones.
    put("mixture_npz", "two_tones.npz", &tiny_mixture()?)?;
    println!("seeds written under {}", corpus.display());
    Ok(())
}

fn tiny_model() -> anyhow::Result<Vec<u8>> {
    use candle_core::{DType, Device};
    use candle_nn::{VarBuilder, VarMap};
    use timbrescope::learn::network::model::Model;
    use timbrescope::learn::network::modelfile;
    let shipped = modelfile::load_shipped(&Device::Cpu)?;
    let mut meta = shipped.meta.clone();
    let m = &mut meta.spec.model;
    (m.width, m.fused, m.rnn_hidden) = (4, 4, 2);
    let varmap = VarMap::new();
    Model::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu), &meta.spec)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tiny.safetensors");
    modelfile::save(&path, &meta, &varmap, &[])?;
    Ok(std::fs::read(path)?)
}

fn tiny_mixture() -> anyhow::Result<Vec<u8>> {
    use timbrescope::data::mixture::{Mixture, write_npz};
    use timbrescope::dsp::{Stft, StftConfig};
    let tone =
        |f: f32| -> Vec<f32> { (0..512).map(|i| (i as f32 * f / 16_000.0 * std::f32::consts::TAU).sin()).collect() };
    let (a, b) = (tone(440.0), tone(660.0));
    let mut stft = Stft::new(StftConfig { n_fft: 64, hop_len: 32, ..StftConfig::default() })?;
    let mixture = Mixture::build(&[&a, &b], &[0.5, 0.5], 16_000, &mut stft, 1e-8)?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("two_tones.npz");
    write_npz(&path, &mixture, &serde_json::json!({ "sources": ["a", "b"] }))?;
    Ok(std::fs::read(path)?)
}

const SYNTH_EXAMPLES: &str = r#"{
  "guitar_acoustic_fluidr3_024-052-100": {
    "note": 0,
    "note_str": "guitar_acoustic_fluidr3_024-052-100",
    "instrument": 24,
    "instrument_str": "guitar_acoustic_fluidr3_024",
    "pitch": 52,
    "velocity": 100,
    "sample_rate": 16000,
    "instrument_family": 3,
    "instrument_family_str": "guitar",
    "instrument_source": 0,
    "instrument_source_str": "acoustic",
    "qualities": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "qualities_str": [],
    "instrument16": 6,
    "family8": 6,
    "bank": "fluidr3",
    "split": "train",
    "descriptors": { "centroid_hz": 900.5, "spread_hz": 1200.0, "flatness": 0.01, "zcr": 0.05, "hbr_db": 20.0 }
  },
  "violin_bowed_fluidr3_040-069-075": {
    "note": 1,
    "note_str": "violin_bowed_fluidr3_040-069-075",
    "instrument": 40,
    "instrument_str": "violin_bowed_fluidr3_040",
    "pitch": 69,
    "velocity": 75,
    "sample_rate": 16000,
    "instrument_family": 10,
    "instrument_family_str": "string",
    "instrument_source": 0,
    "instrument_source_str": "acoustic",
    "qualities": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    "qualities_str": [],
    "instrument16": 13,
    "family8": 3,
    "bank": "fluidr3",
    "split": "test",
    "descriptors": { "centroid_hz": 1500.0, "spread_hz": 1300.0, "flatness": 0.02, "zcr": 0.08, "hbr_db": 18.0 }
  }
}
"#;
