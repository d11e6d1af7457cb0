//! Re-renders the embedded demo clips (assets/demo/*.wav) from an SF2 bank with NSynth's protocol.
//!
//! `cargo run --example render_demo_clips -- /usr/share/sounds/sf2/FluidR3_GM.sf2 assets/demo`

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use timbrescope::data::demo::demo_clips;
use timbrescope::data::soundfont::{NoteSpec, SoundFontBank, peak_abs};

const VELOCITY: u8 = 100;
/// Peak level of every written clip: loud, with headroom for degradations that add energy.
const TARGET_PEAK_DBFS: f32 = -3.0;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sf2_path, out_dir] = args.as_slice() else {
        bail!("usage: render_demo_clips BANK.sf2 OUT_DIR");
    };
    let out_dir = PathBuf::from(out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let started = Instant::now();
    let bank = SoundFontBank::load(sf2_path)?;
    println!("loaded {sf2_path} in {:.2} s", started.elapsed().as_secs_f64());

    let spec = NoteSpec::NSYNTH;
    let mut renderer = bank.renderer(spec.sample_rate_hz)?;
    let target_peak = 10_f32.powf(TARGET_PEAK_DBFS / 20.0);
    for clip in demo_clips() {
        let preset = bank.program_name(clip.gm_program).unwrap_or("?").to_owned();
        let started = Instant::now();
        let samples = renderer
            .render_note(clip.gm_program, clip.midi_pitch, VELOCITY, &spec)
            .with_context(|| format!("rendering {}", clip.name))?;
        let render_ms = started.elapsed().as_secs_f64() * 1e3;
        let raw_peak = peak_abs(&samples);
        if raw_peak < 1e-4 {
            bail!("{} rendered silent (peak {raw_peak:e})", clip.name);
        }
        let gain = target_peak / raw_peak;
        let path = out_dir.join(format!("{}.wav", clip.name));
        write_pcm16(&path, &samples, gain, spec.sample_rate_hz)?;
        let bytes = std::fs::metadata(&path)?.len();
        println!(
            "{:<20} program {:>3} ({preset}), pitch {:>3}: raw peak {:6.1} dBFS, {render_ms:.1} ms, {bytes} bytes",
            clip.name,
            clip.gm_program,
            clip.midi_pitch,
            20.0 * raw_peak.log10(),
        );
    }
    Ok(())
}

fn write_pcm16(path: &Path, samples: &[f32], gain: f32, sample_rate_hz: u32) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).with_context(|| format!("creating {}", path.display()))?;
    for &s in samples {
        let scaled = (s * gain * 32_767.0).round().clamp(-32_768.0, 32_767.0);
        writer.write_sample(scaled as i16)?;
    }
    writer.finalize().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
