//! Mixtures: ideal-ratio masks separate tones, the sum is the sum, and the .npz round-trips.

use std::f64::consts::TAU;
use std::io::{Read as _, Write as _};

use serde_json::json;
use timbrescope::data::mixture::{DEFAULT_EPS, Mixture, MixtureError, read_npz, write_npz};
use timbrescope::dsp::{Stft, StftConfig};

const RATE: u32 = 16_000;

fn sine(freq_hz: f64, len: usize) -> Vec<f32> {
    (0..len).map(|n| (TAU * freq_hz * n as f64 / RATE as f64).sin() as f32).collect()
}

fn stft() -> Stft {
    Stft::new(StftConfig::default()).unwrap()
}

/// 440 Hz and 1500 Hz, one second each, at gains 0.5 and 0.25.
fn two_tones() -> Mixture {
    let (a, b) = (sine(440.0, RATE as usize), sine(1500.0, RATE as usize));
    Mixture::build(&[&a, &b], &[0.5, 0.25], RATE, &mut stft(), DEFAULT_EPS).unwrap()
}

/// Nearest STFT bin of a frequency (n_fft 1024 at 16 kHz: 15.625 Hz per bin).
fn bin_of(freq_hz: f64) -> usize {
    (freq_hz * 1024.0 / RATE as f64).round() as usize
}

#[test]
fn masks_separate_two_tones() {
    let m = two_tones();
    assert_eq!((m.k(), m.bins, m.frames), (2, 513, 1 + 16_000 / 256));
    let plane = m.bins * m.frames;
    let mask = |k: usize, bin: usize, frame: usize| m.masks[k * plane + bin * m.frames + frame];
    let (low, high) = (bin_of(440.0), bin_of(1500.0));
    for t in 0..m.frames {
        // Frames whose window reaches the zero padding see the tone start or stop: that step
        // splatters across all bins, which costs the masks up to ~1% there (0.991 measured).
        let interior = t >= 2 && t * 256 + 512 <= RATE as usize;
        let (hi, lo) = if interior { (0.999, 0.001) } else { (0.98, 0.02) };
        // Inside, 68 bins apart, each tone's Hann leakage into the other's bin is ~-120 dB.
        assert!(mask(0, low, t) > hi && mask(1, low, t) < lo, "frame {t}: {}", mask(0, low, t));
        assert!(mask(1, high, t) > hi && mask(0, high, t) < lo, "frame {t}: {}", mask(1, high, t));
    }
    let mix_max = m.mix_mag.iter().copied().fold(0.0, f32::max);
    let mut checked = 0;
    for i in 0..plane {
        let sum = m.masks[i] + m.masks[plane + i];
        // Each quotient is rounded to f32 once and the sum once more: a few ulps of 1 at most.
        assert!(sum <= 1.0 + 1e-6, "bin {} frame {}: {sum}", i / m.frames, i % m.frames);
        // Where the mixture is far above eps, eps/(sum + eps) is negligible and only rounding is left.
        if m.mix_mag[i] > 1e-4 * mix_max {
            assert!((sum - 1.0).abs() < 1e-3, "bin {} frame {}: {sum}", i / m.frames, i % m.frames);
            checked += 1;
        }
    }
    // The tones' main lobes and their leakage: more than a handful of cells were checked.
    assert!(checked > 4 * m.frames, "{checked}");
}

#[test]
fn mixture_is_the_sum_of_gained_sources() {
    let (a, b) = (sine(440.0, 5000), sine(1500.0, 5000));
    let m = Mixture::build(&[&a, &b], &[0.5, -1.5], RATE, &mut stft(), DEFAULT_EPS).unwrap();
    assert_eq!(m.gains, [0.5, -1.5]);
    for n in 0..a.len() {
        assert_eq!(m.sources[0][n], 0.5 * a[n]);
        assert_eq!(m.sources[1][n], -1.5 * b[n]);
        // Two terms: f32 addition is commutative, so any summation order gives exactly this.
        assert_eq!(m.mixture[n], m.sources[0][n] + m.sources[1][n], "sample {n}");
    }
    // The mixture's own STFT, not a sum of the sources' magnitudes: at each tone's bin only that tone.
    let tone_peak = 0.5 * 1024.0 / 4.0; // a sine of amplitude A under a Hann window peaks at A N / 4
    let got = m.mix_mag[bin_of(440.0) * m.frames + 10];
    assert!((got - tone_peak).abs() / tone_peak < 0.05, "{got}"); // 440 Hz is 0.16 bin off centre
}

#[test]
fn npz_round_trips_with_deflated_entries() {
    let m = two_tones();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mix.npz");
    write_npz(&path, &m, &json!({"instruments": ["flute", "organ"], "note": "A4 + F#6"})).unwrap();

    let back = read_npz(&path).unwrap();
    assert_eq!(back.sample_rate_hz, RATE);
    assert_eq!((back.bins, back.frames), (m.bins, m.frames));
    assert_eq!(back.mixture, m.mixture);
    assert_eq!(back.sources, m.sources);
    assert_eq!(back.mix_mag, m.mix_mag);
    assert_eq!(back.masks, m.masks);
    let expected_meta = json!({
        "instruments": ["flute", "organ"], "note": "A4 + F#6",
        "eps": 1e-8, "gains": [0.5, 0.25], "sample_rate_hz": 16000, "k": 2
    });
    assert_eq!(back.meta, expected_meta);

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().to_owned()).collect();
    assert_eq!(names, ["mixture.npy", "sources.npy", "mix_mag.npy", "source_mag.npy", "masks.npy", "meta.npy"]);
    for (i, name) in names.iter().enumerate() {
        assert_eq!(zip.by_index(i).unwrap().compression(), zip::CompressionMethod::Deflated, "{name}");
    }
    // source_mag is not returned by read_npz: check it against the original through npyz.
    let mut bytes = vec![];
    zip.by_name("source_mag.npy").unwrap().read_to_end(&mut bytes).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), [2, m.bins as u64, m.frames as u64]);
    assert_eq!(npy.into_vec::<f32>().unwrap(), m.source_mag);

    let raw = 4 * (m.mixture.len() * 3 + m.bins * m.frames * 5);
    let on_disk = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(on_disk < raw, "{on_disk} bytes on disk for {raw} raw");
    // Nothing but the file itself: the temporary was renamed into place.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn bad_inputs_are_errors_that_say_what() {
    let (a, b) = (sine(440.0, 1000), sine(1500.0, 999));
    let mut stft = stft();
    let err = Mixture::build(&[&a, &b], &[1.0, 1.0], RATE, &mut stft, DEFAULT_EPS).unwrap_err();
    assert!(matches!(err, MixtureError::LengthMismatch { index: 1, len: 999, expected: 1000 }), "{err}");
    let text = err.to_string();
    assert!(text.contains("999") && text.contains("1000") && text.contains("source 1"), "{text}");

    assert!(matches!(Mixture::build(&[], &[], RATE, &mut stft, DEFAULT_EPS), Err(MixtureError::NoSources)));
    let err = Mixture::build(&[&a], &[1.0, 2.0], RATE, &mut stft, DEFAULT_EPS).unwrap_err();
    assert!(matches!(err, MixtureError::GainCount { gains: 2, sources: 1 }), "{err}");
    let err = Mixture::build(&[&a, &a], &[1.0, f32::NAN], RATE, &mut stft, DEFAULT_EPS).unwrap_err();
    assert!(matches!(err, MixtureError::NonFiniteGain { index: 1, .. }), "{err}");
    for eps in [0.0, -1e-8, f32::INFINITY, f32::NAN] {
        assert!(matches!(Mixture::build(&[&a], &[1.0], RATE, &mut stft, eps), Err(MixtureError::Eps(_))), "{eps}");
    }
    let err = Mixture::build(&[&a], &[1.0], 44_100, &mut stft, DEFAULT_EPS).unwrap_err();
    assert!(matches!(err, MixtureError::SampleRate { given: 44_100, stft: 16_000 }), "{err}");
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let m = Mixture::build(&[&sine(440.0, 4000)], &[1.0], RATE, &mut stft(), DEFAULT_EPS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.npz");
    write_npz(&good, &m, &json!({})).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let truncated = dir.path().join("truncated.npz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.npz");
    std::fs::write(&garbage, b"this is not a zip file at all").unwrap();
    for path in [&truncated, &garbage, &dir.path().join("absent.npz")] {
        let err = read_npz(path).unwrap_err().to_string();
        assert!(err.contains(&*path.to_string_lossy()), "{err}");
    }

    // A well-formed zip that lacks an array: the error names the file and the array.
    let partial = dir.path().join("partial.npz");
    let mut mixture_npy = vec![];
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    source.by_name("mixture.npy").unwrap().read_to_end(&mut mixture_npy).unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&partial).unwrap());
    zip.start_file("mixture.npy", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(&mixture_npy).unwrap();
    zip.finish().unwrap();
    let err = read_npz(&partial).unwrap_err();
    assert!(matches!(&err, MixtureError::Array { array: "sources", .. }), "{err}");
    assert!(err.to_string().contains("partial.npz"), "{err}");

    // Non-object meta is refused before anything is written.
    assert!(matches!(write_npz(&dir.path().join("x.npz"), &m, &json!([1, 2])), Err(MixtureError::Meta(_))));

    // Into a missing directory: an error naming the path, and no temporary file anywhere.
    let missing = dir.path().join("no/such/dir/out.npz");
    let err = write_npz(&missing, &m, &json!({})).unwrap_err();
    assert!(matches!(&err, MixtureError::Write { .. }) && err.to_string().contains("out.npz"), "{err}");
    let mut left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["garbage.npz", "good.npz", "partial.npz", "truncated.npz"]);
}
