//! `timbrescope render` and `timbrescope features` end to end, on tones whose answers are known.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_timbrescope"))
}

/// A 16 kHz mono float WAV of a sine.
fn write_tone(path: &Path, freq_hz: f64, amplitude: f64, secs: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..(secs * 16_000.0) as usize {
        w.write_sample((amplitude * (2.0 * std::f64::consts::PI * freq_hz * n as f64 / 16_000.0).sin()) as f32)
            .unwrap();
    }
    w.finalize().unwrap();
}

fn render(clip: &Path, view: &str, out: &Path, width: u32, height: u32) -> std::process::Output {
    bin()
        .args(["render"])
        .arg(clip)
        .args(["--view", view, "--out"])
        .arg(out)
        .args(["--width", &width.to_string(), "--height", &height.to_string()])
        .output()
        .unwrap()
}

fn read_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height, buf)
}

/// Index of the brightest pixel row.
fn brightest_row(width: u32, height: u32, rgba: &[u8]) -> usize {
    (0..height as usize)
        .max_by_key(|&y| {
            (0..width as usize)
                .map(|x| rgba[(y * width as usize + x) * 4..][..3].iter().map(|&c| c as u32).sum::<u32>())
                .sum::<u32>()
        })
        .unwrap()
}

#[test]
fn spectrogram_renders_put_a_tone_on_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("tone.wav");
    write_tone(&clip, 1000.0, 0.5, 2.0);

    // STFT at one pixel per bin: 1000 Hz is bin 64, drawn on row 512 - 64.
    let png = dir.path().join("stft.png");
    let out = render(&clip, "stft", &png, 300, 513);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w, h, rgba) = read_png(&png);
    assert_eq!((w, h), (300, 513));
    assert_eq!(brightest_row(w, h, &rgba), 512 - 64);

    // CQT at one pixel per bin: 1000 Hz is bin 96 * log2(1000 / 32.703) = 473.7.
    let png = dir.path().join("cqt.png");
    let out = render(&clip, "cqt", &png, 300, 761);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w, h, rgba) = read_png(&png);
    let row = brightest_row(w, h, &rgba) as f64;
    let expected = 760.0 - 96.0 * (1000.0f64 / 32.703).log2();
    assert!((row - expected).abs() <= 1.0, "row {row}, expected {expected:.1}");
}

#[test]
fn waveform_render_spans_the_tone_amplitude() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("tone.wav");
    write_tone(&clip, 50.0, 0.5, 1.0);
    let png = dir.path().join("wave.png");
    let out = render(&clip, "waveform", &png, 400, 201);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (w, h, rgba) = read_png(&png);
    // Trace pixels are the light blue; amplitude 0.5 of a +-1 view spans rows 50..=150.
    let traced: Vec<usize> = (0..h as usize)
        .filter(|&y| {
            (0..w as usize).any(|x| {
                let p = &rgba[(y * w as usize + x) * 4..][..3];
                p[2] > 200 && p[0] > 80 && p[0] < 160
            })
        })
        .collect();
    let (top, bottom) = (*traced.first().unwrap(), *traced.last().unwrap());
    assert!((top as i64 - 50).abs() <= 2 && (bottom as i64 - 150).abs() <= 2, "trace spans rows {top}..{bottom}");
}

#[test]
fn render_refuses_bad_input_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("fake.wav");
    std::fs::write(&bad, b"definitely not audio").unwrap();
    let png = dir.path().join("out.png");
    let out = render(&bad, "cqt", &png, 100, 100);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fake.wav"));
    assert!(!png.exists());

    let clip = dir.path().join("tone.wav");
    write_tone(&clip, 440.0, 0.5, 0.5);
    let out = render(&clip, "stft", &png, 0, 100);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0x100"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!png.exists());
}

fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    common::read_npy_f32(path)
}

#[test]
fn features_export_a_file_and_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("in/tone.wav");
    std::fs::create_dir_all(clip.parent().unwrap()).unwrap();
    write_tone(&clip, 1000.0, 0.5, 1.0);
    let npy = dir.path().join("tone_stft.npy");
    let out = bin()
        .arg("features")
        .arg(&clip)
        .args(["--view", "stft", "--scale", "linear", "--out"])
        .arg(&npy)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (shape, values) = read_npy(&npy);
    // librosa's orientation: [bins, frames], 1 + 16000 / 256 frames.
    assert_eq!(shape, vec![513, 63]);
    let mid = 31;
    let column: Vec<f32> = (0..513).map(|k| values[k * 63 + mid]).collect();
    let peak = (0..513).max_by(|&a, &b| column[a].total_cmp(&column[b])).unwrap();
    assert_eq!(peak, 64);
    assert!((column[64] - 0.5 * 1024.0 / 4.0).abs() < 0.01, "{}", column[64]);

    // Folder mode, with a sub-folder and one bad file among good ones.
    let sub = dir.path().join("in/more");
    std::fs::create_dir_all(&sub).unwrap();
    write_tone(&sub.join("low.wav"), 110.0, 0.3, 0.5);
    std::fs::write(dir.path().join("in/broken.wav"), b"RIFF....WAVEjunk").unwrap();
    let out_dir = dir.path().join("out");
    let out = bin()
        .arg("features")
        .arg(dir.path().join("in"))
        .args(["--view", "cqt", "--threads", "2", "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("broken.wav"), "{stderr}");
    let (shape, _) = read_npy(&out_dir.join("tone.npy"));
    assert_eq!(shape, vec![761, 63]);
    let (shape, db) = read_npy(&out_dir.join("more/low.npy"));
    assert_eq!(shape, vec![761, 32]);
    // dB by default, floored at -100; 110 Hz = bin 96 * log2(110 / 32.703) = 168.
    assert!(db.iter().all(|&v| v >= -100.0 - 1e-3));
    let peak = (0..761).max_by(|&a, &b| db[a * 32 + 16].total_cmp(&db[b * 32 + 16])).unwrap();
    assert_eq!(peak, 168);
    assert!(!out_dir.join("broken.npy").exists());
    let _: PathBuf = out_dir;
}
