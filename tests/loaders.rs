//! Loading every supported format into 16 kHz mono clips, rejecting bad input, and saving WAV.

mod common;

use std::f64::consts::TAU;
use std::fs;
use std::path::{Path, PathBuf};

use common::{dominant_frequency, tone_amplitude};
use timbrescope::audio::{
    ANALYSIS_RATE_HZ, AudioError, Clip, load_clip, load_clip_from_bytes, load_clip_native, save_wav, save_wav_pcm16,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// Sample format of a generated WAV.
#[derive(Clone, Copy, Debug)]
enum Format {
    Int(u16),
    Float32,
}

/// Writes a WAV where channel `ch` of frame `n` is `signal(n, ch)` (full scale = 1.0).
fn write_wav(
    path: &Path,
    format: Format,
    channels: u16,
    rate_hz: u32,
    frames: usize,
    signal: impl Fn(usize, u16) -> f64,
) {
    let (bits, sample_format) = match format {
        Format::Int(bits) => (bits, hound::SampleFormat::Int),
        Format::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec { channels, sample_rate: rate_hz, bits_per_sample: bits, sample_format };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..frames {
        for ch in 0..channels {
            let v = signal(n, ch);
            match format {
                Format::Float32 => w.write_sample(v as f32).unwrap(),
                Format::Int(bits) => {
                    let full = (1i64 << (bits - 1)) as f64;
                    let q = (v * full).round().clamp(-full, full - 1.0) as i32;
                    if bits == 8 {
                        w.write_sample(q as i8).unwrap();
                    } else if bits == 16 {
                        w.write_sample(q as i16).unwrap();
                    } else {
                        w.write_sample(q).unwrap();
                    }
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn expected_len(frames: usize, rate_hz: u32) -> i64 {
    (frames as f64 * ANALYSIS_RATE_HZ as f64 / rate_hz as f64).round() as i64
}

/// Checks frequency, amplitude and length of a loaded tone; returns a description of what is
/// wrong, if anything.
fn check_tone(clip: &Clip, freq_hz: f64, amplitude: f64, len: i64, amp_tol_db: f64) -> Option<String> {
    let x = &clip.samples;
    let rate = clip.sample_rate_hz as f64;
    if clip.sample_rate_hz != ANALYSIS_RATE_HZ {
        return Some(format!("rate {}", clip.sample_rate_hz));
    }
    if (x.len() as i64 - len).abs() > 1 {
        return Some(format!("length {} instead of {len}", x.len()));
    }
    // Ignore 10 ms at each end, where the resampler's band limit smears the tone's edges.
    let inner = &x[160..x.len() - 160];
    let found = dominant_frequency(inner, rate);
    // 1 Hz: half the refinement grid is 0.25 Hz; the Hann peak of >= 0.5 s is much sharper.
    if (found - freq_hz).abs() > 1.0 {
        return Some(format!("dominant frequency {found} Hz instead of {freq_hz} Hz"));
    }
    let got = tone_amplitude(inner, rate, freq_hz);
    if db(got / amplitude).abs() > amp_tol_db {
        return Some(format!("amplitude {got:.5} instead of {amplitude:.5}"));
    }
    None
}

#[test]
fn wav_every_int_and_float_format_channel_count_and_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for format in [Format::Int(8), Format::Int(16), Format::Int(24), Format::Int(32), Format::Float32] {
        for channels in [1u16, 2, 8] {
            for rate_hz in [8_000u32, 44_100, 96_000] {
                let freq_hz = if rate_hz == 8_000 { 1000.0 } else { 440.0 };
                let amplitude = 0.5;
                let frames = rate_hz as usize / 2;
                // The tone is on the first half of the channels (the only channel when mono), the
                // rest is silent: the mean of the channels then carries half the amplitude.
                let toned = channels.div_ceil(2);
                let path = dir.path().join(format!("{format:?}_{channels}ch_{rate_hz}.wav"));
                write_wav(&path, format, channels, rate_hz, frames, |n, ch| {
                    if ch < toned { amplitude * (TAU * freq_hz * n as f64 / rate_hz as f64).sin() } else { 0.0 }
                });
                let expected_amp = amplitude * toned as f64 / channels as f64;
                // 0.1 dB everywhere; 8-bit quantisation noise (-48 dBFS) stays far below that.
                let outcome = match load_clip(&path) {
                    Ok(clip) => check_tone(&clip, freq_hz, expected_amp, expected_len(frames, rate_hz), 0.1),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(problem) = outcome {
                    failures.push(format!("{format:?} {channels} ch {rate_hz} Hz: {problem}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_1khz_tone_at_44k1_keeps_frequency_amplitude_and_phase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    write_wav(&path, Format::Float32, 1, 44_100, 44_100, |n, _| 0.8 * (TAU * 1000.0 * n as f64 / 44_100.0).sin());
    let clip = load_clip(&path).unwrap();
    assert_eq!(clip.samples.len(), 16_000);
    assert!(check_tone(&clip, 1000.0, 0.8, 16_000, 0.1).is_none());
    // Aligned in time: sample n must be the tone at n / 16 kHz. 1e-3 (of 0.8) allows no
    // leftover delay: a tenth of a sample at 1 kHz would already be a 0.03 error.
    let worst = (160..15_840)
        .map(|n| (clip.samples[n] as f64 - 0.8 * (TAU * 1000.0 * n as f64 / 16_000.0).sin()).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "worst deviation {worst}");
}

#[test]
fn eight_channels_at_96k_load_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("octo.wav");
    let rate_hz = 96_000;
    let frames = 3 * rate_hz as usize;
    // A different tone per channel pair, so a channel mix-up would change the spectrum.
    let freqs = [220.0, 220.0, 440.0, 440.0, 880.0, 880.0, 1760.0, 1760.0];
    write_wav(&path, Format::Int(24), 8, rate_hz, frames, |n, ch| {
        0.4 * (TAU * freqs[ch as usize] * n as f64 / rate_hz as f64).sin()
    });
    let clip = load_clip(&path).unwrap();
    assert_eq!(clip.samples.len(), 48_000);
    assert!((clip.duration_secs() - 3.0).abs() < 1e-9);
    let x = &clip.samples[160..47_840];
    for f in [220.0, 440.0, 880.0, 1760.0] {
        // Each tone is on 2 of 8 channels: 0.4 * 2 / 8 = 0.1 after the mean.
        let a = tone_amplitude(x, 16_000.0, f);
        assert!(db(a / 0.1).abs() < 0.1, "{f} Hz at amplitude {a}");
    }
    assert_eq!(clip.source.as_deref(), Some(path.as_path()));
    assert_eq!(clip.name, "octo");
}

/// First sample where the 1 ms RMS envelope exceeds half of the steady tone's RMS.
fn onset_secs(x: &[f32], steady_rms: f64) -> f64 {
    let win = 16;
    for start in 0..x.len() - win {
        let rms = (x[start..start + win].iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / win as f64).sqrt();
        if rms > 0.5 * steady_rms {
            return (start + win / 2) as f64 / 16_000.0;
        }
    }
    f64::NAN
}

/// The fixtures (see scripts/make_format_fixtures.sh): 0.5 s, silence until 0.1 s, then a 440 Hz
/// tone of amplitude 0.5 until 0.4 s, then silence.
fn check_fixture(file: &str, amp_tol_db: f64, len_tol: i64) {
    let path = PathBuf::from(FIXTURES).join(file);
    let clip = load_clip(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(clip.sample_rate_hz, ANALYSIS_RATE_HZ);
    let len = clip.samples.len() as i64;
    assert!((len - 8000).abs() <= len_tol, "{file}: {len} samples instead of 8000");
    // The steady middle of the tone, away from its edges.
    let tone = &clip.samples[2400..5600];
    let f = dominant_frequency(tone, 16_000.0);
    assert!((f - 440.0).abs() < 1.5, "{file}: dominant {f} Hz");
    let a = tone_amplitude(tone, 16_000.0, 440.0);
    assert!(db(a / 0.5).abs() < amp_tol_db, "{file}: amplitude {a}");
    // Without delay and padding removal the MP3 decodes 777 samples (at 16 kHz) too long and starts
    // 1105 samples at 44.1 kHz (25 ms) late; the Vorbis one 150 samples too long. 2 ms allows only
    // the blur of the 1 ms envelope and the codec's pre-echo.
    let onset = onset_secs(&clip.samples, a / 2f64.sqrt());
    assert!((onset - 0.1).abs() < 0.002, "{file}: onset at {onset} s instead of 0.1 s");
    // The leading silence must really be silent (no shifted tone, no garbage).
    let lead = tone_amplitude(&clip.samples[0..1400], 16_000.0, 440.0);
    assert!(lead < 0.01, "{file}: 440 Hz at {lead} before the onset");
}

#[test]
fn flac_fixture() {
    // Lossless: exact length (1 sample of rounding at most) and amplitude to 0.01 dB.
    check_fixture("tone440_48k_stereo.flac", 0.01, 1);
}

#[test]
fn mp3_fixture_with_encoder_delay_removed() {
    // The LAME header gives the exact delay and padding, so the length is exact. At 128 kbit/s
    // LAME quantises this tone 0.45 dB low (LAME's own decoder measures the same 0.475), so the
    // level is checked to 0.6 dB: still far from the -6 dB a wrong downmix would give.
    check_fixture("tone440_44k_stereo.mp3", 0.6, 1);
}

#[test]
fn ogg_vorbis_fixture() {
    // Ogg granule positions give the exact length; quality 5 keeps a tone within 0.2 dB.
    check_fixture("tone440_44k_mono.ogg", 0.2, 1);
}

#[test]
fn format_is_sniffed_from_content_not_name() {
    let mp3 = fs::read(PathBuf::from(FIXTURES).join("tone440_44k_stereo.mp3")).unwrap();
    let clip = load_clip_from_bytes("misnamed.wav", &mp3).unwrap();
    assert!((clip.samples.len() as i64 - 8000).abs() <= 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("really_flac.mp3");
    fs::copy(PathBuf::from(FIXTURES).join("tone440_48k_stereo.flac"), &path).unwrap();
    assert!(load_clip(&path).is_ok());
}

#[test]
fn wav_that_hound_refuses_falls_back() {
    // 64-bit float WAV (format tag 3, 64 bits): hound reads only 32-bit float.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f64.wav");
    let rate_hz = 22_050u32;
    let samples: Vec<f64> = (0..rate_hz / 2).map(|n| 0.25 * (TAU * 500.0 * n as f64 / rate_hz as f64).sin()).collect();
    fs::write(&path, wav_bytes(3, 1, rate_hz, 64, &samples.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()))
        .unwrap();
    let clip = load_clip(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(check_tone(&clip, 500.0, 0.25, expected_len(samples.len(), rate_hz), 0.1).is_none());
}

/// A canonical RIFF/WAVE file: 16-byte fmt chunk and a data chunk.
fn wav_bytes(format_tag: u16, channels: u16, rate_hz: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&format_tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate_hz.to_le_bytes());
    b.extend_from_slice(&(rate_hz * block_align as u32).to_le_bytes());
    b.extend_from_slice(&block_align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    b
}

/// Deterministic noise bytes (a 64-bit LCG), so failures reproduce.
fn noise_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// Loads `path`, expecting an error whose message names the file and contains `needle`.
fn expect_error(path: &Path, needle: &str) -> AudioError {
    let err = match load_clip(path) {
        Ok(clip) => panic!("{} loaded ({} samples) but should not", path.display(), clip.samples.len()),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "message does not name the file: {msg}");
    assert!(msg.to_lowercase().contains(needle), "message lacks \"{needle}\": {msg}");
    err
}

#[test]
fn truncated_wav_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.wav");
    write_wav(&path, Format::Int(16), 2, 16_000, 16_000, |n, _| (n as f64 * 0.01).sin() * 0.3);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = expect_error(&path, "truncated");
    assert!(matches!(err, AudioError::Corrupt { .. }));
    // The header promises 16000 frames; the message says so.
    assert!(err.to_string().contains("16000"), "{err}");
}

#[test]
fn corrupt_bytes_after_a_valid_riff_header_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Chunks of garbage after "RIFF....WAVE".
    let path = dir.path().join("garbage_chunks.wav");
    let mut bytes = b"RIFF\x00\x10\x00\x00WAVE".to_vec();
    bytes.extend(noise_bytes(4096, 1));
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(expect_error(&path, "corrupt"), AudioError::Corrupt { .. }));
    // A fmt chunk of garbage.
    let path = dir.path().join("garbage_fmt.wav");
    let mut bytes = b"RIFF\x00\x10\x00\x00WAVEfmt \x10\x00\x00\x00".to_vec();
    bytes.extend(noise_bytes(16, 2));
    bytes.extend(b"data\x00\x04\x00\x00");
    bytes.extend(noise_bytes(1024, 3));
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(expect_error(&path, "malformed wav header"), AudioError::Corrupt { .. }));
    // Many seeds: whatever the garbage, an error and no panic.
    for seed in 10..60 {
        let path = dir.path().join(format!("garbage_{seed}.wav"));
        let mut bytes = b"RIFF\x00\x10\x00\x00WAVEfmt ".to_vec();
        bytes.extend(noise_bytes(64 + seed as usize * 13, seed));
        fs::write(&path, &bytes).unwrap();
        let _ = load_clip(&path);
    }
}

#[test]
fn truncated_compressed_stream_keeps_what_decodes() {
    // The documented policy for compressed formats: no length promise to break, so a cut
    // stream yields its decodable start (with a logged warning) rather than an error.
    let flac = fs::read(PathBuf::from(FIXTURES).join("tone440_48k_stereo.flac")).unwrap();
    let clip = load_clip_from_bytes("cut.flac", &flac[..flac.len() * 6 / 10]).unwrap();
    assert!(clip.samples.len() > 1000 && clip.samples.len() < 8000, "{} samples", clip.samples.len());
    // Cut inside the header, though, nothing can be decoded: an error that says so.
    let err = load_clip_from_bytes("cut.flac", &flac[..2000]).unwrap_err();
    assert!(matches!(err, AudioError::Corrupt { .. }), "{err}");
    assert!(err.to_string().starts_with("cut.flac: "), "{err}");
}

#[test]
fn zero_length_wav_contains_no_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    write_wav(&path, Format::Int(16), 1, 44_100, 0, |_, _| 0.0);
    assert!(matches!(expect_error(&path, "contains no samples"), AudioError::Empty { .. }));
}

#[test]
fn float_wav_with_nan_and_inf_is_refused_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.wav");
    write_wav(&path, Format::Float32, 2, 16_000, 1000, |n, ch| match (n, ch) {
        (10, 0) | (500, 1) | (999, 0) => f64::NAN,
        (20, 1) => f64::INFINITY,
        (30, 0) => f64::NEG_INFINITY,
        _ => 0.1,
    });
    let err = expect_error(&path, "5 non-finite");
    assert!(matches!(err, AudioError::NonFinite { count: 5, .. }));
}

#[test]
fn text_named_wav_random_named_mp3_empty_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.wav");
    fs::write(&text, "These are not samples.\nJust a text file with a .wav name.\n").unwrap();
    expect_error(&text, "not an audio file");

    let random = dir.path().join("noise.mp3");
    fs::write(&random, noise_bytes(64 * 1024, 7)).unwrap();
    expect_error(&random, "");

    let empty = dir.path().join("nothing.flac");
    fs::write(&empty, b"").unwrap();
    expect_error(&empty, "empty");

    let missing = dir.path().join("absent.wav");
    assert!(matches!(expect_error(&missing, "cannot read"), AudioError::Unreadable { .. }));

    // The in-memory entry point names its label the same way.
    let err = load_clip_from_bytes("bytes.ogg", b"OggS but not really").unwrap_err();
    assert!(err.to_string().contains("bytes.ogg"), "{err}");
}

#[test]
fn random_bytes_never_panic() {
    // Each format's magic followed by noise, to get past the sniffers into the decoders.
    let dir = tempfile::tempdir().unwrap();
    let magics: [&[u8]; 5] = [
        b"fLaC",
        b"OggS\x00\x02",
        b"ID3\x03\x00\x00\x00\x00\x00\x00",
        b"\xff\xfb\x90\x00",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
    ];
    for (i, magic) in magics.iter().enumerate() {
        for seed in 0..8u64 {
            let mut bytes = magic.to_vec();
            bytes.extend(noise_bytes(3000, seed * 31 + i as u64));
            let path = dir.path().join(format!("fuzz_{i}_{seed}.bin"));
            fs::write(&path, &bytes).unwrap();
            if let Err(e) = load_clip(&path) {
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            }
        }
    }
}

#[test]
fn header_longer_than_three_hours_is_refused_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marathon.wav");
    // 8-bit mono 8 kHz claiming 3 h + 1 s of data; only the header is on disk.
    let claimed = 8_000u32 * (3 * 3600 + 1);
    let mut bytes = wav_bytes(1, 1, 8_000, 8, &[]);
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&claimed.to_le_bytes());
    bytes[4..8].copy_from_slice(&(36 + claimed).to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(expect_error(&path, "longer than 3 hours"), AudioError::TooLong { .. }));
}

#[test]
fn save_wav_round_trips_bit_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("take.wav");
    let samples: Vec<f32> = noise_bytes(4 * 5000, 9)
        .chunks(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], 0x3e & b[3]]) * if b[3] & 1 == 1 { -1.0 } else { 1.0 })
        .collect();
    let clip = Clip::new("take", samples.clone(), 16_000);
    save_wav(&path, &clip).unwrap();
    let mut reader = hound::WavReader::open(&path).unwrap();
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 16_000, 32));
    assert_eq!(spec.sample_format, hound::SampleFormat::Float);
    let back: Vec<u32> = reader.samples::<f32>().map(|s| s.unwrap().to_bits()).collect();
    assert_eq!(back, samples.iter().map(|s| s.to_bits()).collect::<Vec<_>>());
    // And through the loader: same values (16 kHz mono passes through untouched).
    assert_eq!(&*load_clip(&path).unwrap().samples, &samples[..]);
    // Only the target is left in the directory.
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("take.wav")]);
}

#[test]
fn save_wav_pcm16_quantises_and_clips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pcm.wav");
    save_wav_pcm16(&path, &Clip::new("pcm", vec![0.0, 0.5, -0.5, 2.0, -2.0], 8_000)).unwrap();
    let mut reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.spec().bits_per_sample, 16);
    assert_eq!(reader.spec().sample_rate, 8_000);
    let back: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(back, vec![0, 16384, -16384, 32767, -32767]);
}

#[test]
fn failed_saves_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let clip = Clip::new("x", vec![0.1; 100], 16_000);
    // Target directory does not exist.
    let path = dir.path().join("no_such_dir").join("x.wav");
    let err = save_wav(&path, &clip).unwrap_err();
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    // The final rename fails (the target is a directory): the temp file must be removed.
    let target = dir.path().join("occupied.wav");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"").unwrap();
    assert!(save_wav(&target, &clip).is_err());
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("occupied.wav")]);
}

/// Each decoder against libsndfile's decoding of the same fixture (through soundfile; the
/// references come from scripts/make_decoder_references.py): same rate, same length, and the
/// largest difference of any sample within the tolerance. FLAC is lossless: the two agree
/// exactly. The Vorbis and MP3 decoders differ by float rounding (measured 2.7e-7 and 6.3e-7;
/// allowed 1e-6 and 2e-6), and the MP3's encoder delay and padding are trimmed alike.
#[test]
fn decoders_match_libsndfile_on_the_fixtures() {
    for (file, rate_hz, tolerance) in [
        ("tone440_48k_stereo.flac", 48_000, 0.0),
        ("tone440_44k_mono.ogg", 44_100, 1e-6),
        ("tone440_44k_stereo.mp3", 44_100, 2e-6),
    ] {
        let path = PathBuf::from(FIXTURES).join(file);
        let ours = load_clip_native(&path).unwrap();
        let (_, reference) = common::read_npy_f32(&PathBuf::from(FIXTURES).join(format!("{file}.soundfile.npy")));
        assert_eq!(ours.sample_rate_hz, rate_hz, "{file}");
        assert_eq!(ours.samples.len(), reference.len(), "{file}: length");
        let worst = ours.samples.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!("{file}: largest difference from libsndfile {worst:.3e}");
        assert!(worst <= tolerance, "{file}: largest difference {worst:.3e} over {tolerance:.0e}");
    }
}
