//! Real recording and playback through ALSA, with no sound card: a private `.asoundrc` makes the
//! default capture device ALSA's `file` plugin reading a raw tone (`infile`) in front of the
//! `null` PCM, and the default playback device a `file` plugin writing what it is given to a raw
//! file, again in front of `null`. The binary runs as a subprocess with HOME pointing there.
//!
//! The capture file holds exactly what cpal opens the default device with (its documented
//! preference: stereo, f32, 48 kHz), so the `plug` in front has nothing to convert and cpal
//! reads the file plugin directly. A converting plug would read the file plugin through mmap,
//! and alsa-lib's file plugin then reads ahead of what the plug consumes: frames get lost
//! (measured: a 440 Hz tone came out with a phase jump every few periods, peaking at 460 Hz).
//! Playback has no such problem, so there the plug converts to 16-bit mono on the way out.

mod common;

use std::f64::consts::TAU;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{dominant_frequency, tone_amplitude};
use timbrescope::audio::{Clip, load_clip, save_wav};

/// Rate of both raw files.
const RAW_RATE_HZ: u32 = 48_000;

fn asoundrc(dir: &Path) -> String {
    format!(
        r#"pcm.!default {{
    type asym
    capture.pcm "tone_in"
    playback.pcm "raw_out"
}}
pcm.tone_in {{
    type plug
    slave {{
        pcm {{
            type file
            slave.pcm "null"
            file "/dev/null"
            infile "{dir}/tone.raw"
            format "raw"
        }}
        format FLOAT_LE
        rate {RAW_RATE_HZ}
        channels 2
    }}
}}
pcm.raw_out {{
    type plug
    slave {{
        pcm {{
            type file
            slave.pcm "null"
            file "{dir}/played.raw"
            format "raw"
        }}
        format S16_LE
        rate {RAW_RATE_HZ}
        channels 1
    }}
}}
"#,
        dir = dir.display()
    )
}

/// A temporary HOME holding the `.asoundrc` and 5 s of interleaved f32 stereo at 48 kHz: a
/// 440 Hz tone of amplitude 0.5 on the left, silence on the right.
fn alsa_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let tone: Vec<u8> = (0..5 * RAW_RATE_HZ)
        .flat_map(|n| [(0.5 * (TAU * 440.0 * n as f64 / RAW_RATE_HZ as f64).sin()) as f32, 0.0])
        .flat_map(f32::to_le_bytes)
        .collect();
    fs::write(home.path().join("tone.raw"), tone).unwrap();
    fs::write(home.path().join(".asoundrc"), asoundrc(home.path())).unwrap();
    home
}

fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timbrescope"))
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        // Nothing else may redirect alsa-lib away from the private configuration.
        .env_remove("ALSA_CONFIG_PATH")
        .env_remove("ALSA_CARD")
        .env_remove("ALSA_PCM_CARD")
        .env_remove("ALSA_PCM_DEVICE")
        .output()
        .unwrap()
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn record_one_second_from_the_alsa_file_plugin() {
    let home = alsa_home();
    let out = run(home.path(), &["record", "--seconds", "1", "--out", "take.wav"]);
    assert!(out.status.success(), "{}", describe(&out));
    let take = load_clip(&home.path().join("take.wav")).unwrap();
    assert_eq!(take.sample_rate_hz, 16_000);
    // The take is cut to the requested length in device frames, then resampled: exact to a sample.
    assert!((take.samples.len() as i64 - 16_000).abs() <= 1, "{} samples", take.samples.len());
    let f = dominant_frequency(&take.samples, 16_000.0);
    // 1 Hz: the tone is exactly 440 Hz and the 1 s take resolves it far better than that.
    assert!((f - 440.0).abs() < 1.0, "dominant {f} Hz");
    // 0.5 on the left, silence on the right: the mean of the channels is 0.25 (a sum, or the
    // left channel alone, would give 0.5). Resampling 48 -> 16 kHz keeps it to 0.1 dB. Skip
    // 10 ms at the start, where the tone starts abruptly.
    let a = tone_amplitude(&take.samples[160..], 16_000.0, 440.0);
    assert!((20.0 * (a / 0.25).log10()).abs() < 0.1, "amplitude {a}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("recorded 1.00 s"), "{stdout}");
}

#[test]
fn live_listening_from_the_alsa_file_plugin() {
    let home = alsa_home();
    let out = run(home.path(), &["live", "--headless", "--no-model", "--secs", "2", "--report", "live.json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let json: serde_json::Value = serde_json::from_slice(&fs::read(home.path().join("live.json")).unwrap()).unwrap();
    assert!(json["stream_secs"].as_f64().unwrap() >= 2.0);
    // The 440 Hz tone, resampled 48 -> 16 kHz as it arrives, in STFT bin 28 and CQT bin 360 (A4)
    // in every column of its first 1.5 s looked at. The file plugin delivers many times faster
    // than real time (seconds in a fraction of one), so its ring overflows once the take runs
    // past a few seconds; blocks dropped are counted there, not asserted (tests/live.rs holds a
    // real-time stream to none).
    let peaks: Vec<_> =
        json["peaks"].as_array().unwrap().iter().filter(|p| p["secs"].as_f64().unwrap() <= 1.5).collect();
    assert_eq!(peaks.len(), 4, "{json}");
    for p in &peaks[1..] {
        assert_eq!((p["stft_bin"].as_u64(), p["cqt_bin"].as_u64()), (Some(28), Some(360)), "{p}");
    }
}

#[test]
fn play_a_clip_to_the_alsa_file_plugin() {
    let home = alsa_home();
    // 0.3 s of 660 Hz at 16 kHz, 0.4 amplitude.
    let samples: Vec<f32> = (0..4800).map(|n| (0.4 * (TAU * 660.0 * n as f64 / 16_000.0).sin()) as f32).collect();
    let clip_path = home.path().join("short.wav");
    save_wav(&clip_path, &Clip::new("short", samples, 16_000)).unwrap();
    let out = run(home.path(), &["play", "short.wav"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("played short.wav"), "{}", describe(&out));

    // What reached the device: the tone, resampled to 48 kHz, then silence. The output is not
    // paced by a clock, so silence keeps coming until the stream closes; only the start matters.
    let raw = fs::read(home.path().join("played.raw")).unwrap();
    let played: Vec<f32> = raw.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32_768.0).collect();
    let clip_len = 3 * 4800;
    assert!(played.len() > clip_len, "only {} samples played", played.len());
    let tone = &played[480..clip_len - 480];
    let f = dominant_frequency(tone, RAW_RATE_HZ as f64);
    assert!((f - 660.0).abs() < 1.0, "played {f} Hz");
    let a = tone_amplitude(tone, RAW_RATE_HZ as f64, 660.0);
    // 0.1 dB: every conversion on the way (resampling, f32 -> S16, stereo -> mono) is exact to
    // far better than that for a mid-band tone.
    assert!((20.0 * (a / 0.4).log10()).abs() < 0.1, "played amplitude {a}");
    let after = &played[clip_len + 480..(clip_len + 48_000).min(played.len())];
    let tail_peak = after.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(tail_peak < 1e-3, "sound after the clip ended: peak {tail_peak}");
}

#[test]
fn devices_lists_the_configured_pcms_and_a_wrong_name_is_explained() {
    let home = alsa_home();
    let out = run(home.path(), &["devices"]);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("input devices:") && stdout.contains("output devices:"), "{stdout}");
    assert!(stdout.contains("tone_in"), "{stdout}");

    // Recording from a named device works as from the default one.
    let out = run(home.path(), &["record", "--seconds", "0.5", "--device", "tone_in", "--out", "named.wav"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(load_clip(&home.path().join("named.wav")).unwrap().samples.len(), 8_000);

    let out = run(home.path(), &["record", "--seconds", "1", "--device", "no-such-mic", "--out", "x.wav"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no audio input device named \"no-such-mic\""), "{stderr}");
    assert!(stderr.contains("tone_in"), "the message lists the available devices: {stderr}");
    assert!(!home.path().join("x.wav").exists());
}

#[test]
fn play_without_a_usable_output_device_fails_clearly() {
    let home = alsa_home();
    // The default device points at a sound card that does not exist.
    fs::write(home.path().join(".asoundrc"), "pcm.!default { type hw card 7 }\nctl.!default { type hw card 7 }\n")
        .unwrap();
    save_wav(&home.path().join("c.wav"), &Clip::new("c", vec![0.0; 1600], 16_000)).unwrap();
    let out = run(home.path(), &["play", "c.wav"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no audio output device found"), "{stderr}");
    assert!(stderr.contains("c.wav"), "{stderr}");
}
