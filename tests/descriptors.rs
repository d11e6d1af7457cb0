//! Timbre descriptors against librosa 0.11 fixtures and against what theory predicts.

mod common;

// The CLI module lives in the binary; compiled here too so its JSON report is tested without it.
#[allow(dead_code)]
#[path = "../src/cli/describe.rs"]
mod describe;

use std::f64::consts::TAU;
use std::path::Path;
use std::time::Instant;

use common::{fixture, read_npy_f32};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use timbrescope::dsp::descriptors::{
    Descriptors, FrameDescriptors, active_frames, describe_note, estimate_pitch, frame_descriptors, harmonic_bins,
};
use timbrescope::dsp::notes::midi_to_hz;

const SR: u32 = 16_000;

fn librosa(name: &str) -> Vec<f32> {
    read_npy_f32(&fixture(&format!("librosa/{name}.npy"))).1
}

/// Worst relative error |ours - librosa| / |librosa| over the frames `selected`.
fn worst_relative(ours: &[f32], reference: &[f32], selected: &[bool]) -> (f64, usize) {
    assert_eq!(ours.len(), reference.len());
    let mut worst = (0.0, 0);
    for t in (0..ours.len()).filter(|&t| selected[t]) {
        let (a, b) = (ours[t] as f64, reference[t] as f64);
        let err = (a - b).abs() / b.abs().max(1e-30);
        if err > worst.0 {
            worst = (err, t);
        }
    }
    worst
}

#[test]
fn frame_values_match_librosa_within_two_percent() {
    for signal in ["music", "tone"] {
        let x = librosa(signal);
        let ours = frame_descriptors(&x, SR);
        let FrameDescriptors { centroid_hz, spread_hz, flatness, zcr, rms } = &ours;
        // The frames that carry the clip: within 60 dB of the loudest by librosa's own RMS, the
        // same rule describe_note averages over. (Both fixtures are loud throughout: music has a
        // noise floor 58 dB below its peak frame, so every frame is selected.)
        let selected = active_frames(&librosa(&format!("{signal}_rms")));
        let n_selected = selected.iter().filter(|&&s| s).count();
        assert!(n_selected > ours.frames() * 9 / 10, "{signal}: only {n_selected} frames selected");
        for (name, values) in
            [("rms", rms), ("centroid", centroid_hz), ("bandwidth", spread_hz), ("flatness", flatness), ("zcr", zcr)]
        {
            let reference = librosa(&format!("{signal}_{name}"));
            let (worst, frame) = worst_relative(values, &reference, &selected);
            eprintln!(
                "{signal} {name}: worst relative error {worst:.2e} at frame {frame} ({} vs librosa {})",
                values[frame], reference[frame]
            );
            // The contract. Measured worst: RMS 1.2e-7, centroid 3.3e-7, bandwidth 1.4e-6 (the
            // pure tone's frames go through the f64 FFT), flatness 1.6e-3 (the tone's far bins
            // sit at the 1e-10 floor, where f32 rounding decides which bins clear it), ZCR 0.
            assert!(worst <= 0.02, "{signal} {name}: relative error {worst} at frame {frame}");
            if name == "zcr" {
                // Crossings are counted, not estimated: any difference would be a rule mismatch.
                assert_eq!(values, &reference, "{signal} zcr");
            }
        }
    }
}

fn sine(freq_hz: f64, amplitude: f64, len: usize) -> Vec<f32> {
    (0..len).map(|n| (amplitude * (TAU * freq_hz * n as f64 / SR as f64).sin()) as f32).collect()
}

/// Partials h = 1..=count of `f0_hz` with amplitude 1/h and fixed phases, scaled to `rms`.
fn harmonic_tone(f0_hz: f64, count: usize, rms: f64, len: usize) -> Vec<f64> {
    let mut x: Vec<f64> = (0..len)
        .map(|n| {
            (1..=count).map(|h| (TAU * h as f64 * f0_hz * n as f64 / SR as f64 + 0.7 * h as f64).sin() / h as f64).sum()
        })
        .collect();
    // 10 ms raised-cosine fades: an abrupt start or end splatters energy across the spectrum
    // in the frames that hold it, which no steady-state derivation accounts for.
    let fade = SR as usize / 100;
    for i in 0..fade.min(len / 2) {
        let gain = 0.5 - 0.5 * (std::f64::consts::PI * i as f64 / fade as f64).cos();
        x[i] *= gain;
        x[len - 1 - i] *= gain;
    }
    let scale = rms / mean_square(&x).sqrt();
    x.iter_mut().for_each(|v| *v *= scale);
    x
}

/// Gaussian white noise (Box-Muller on a seeded ChaCha stream).
fn white_noise(std: f64, len: usize, seed: u64) -> Vec<f64> {
    use rand::Rng as _;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
            std * (-2.0 * u.ln()).sqrt() * (TAU * v).cos()
        })
        .collect()
}

fn mean_square(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64
}

fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

/// Frames whose 1024-sample window lies wholly inside a signal of `len` samples.
fn interior_frames(len: usize) -> std::ops::Range<usize> {
    2..(len - 512) / 256 + 1
}

#[test]
fn a_sine_has_its_frequency_as_centroid_a_narrow_spread_and_two_crossings_per_period() {
    let len = 2 * SR as usize;
    let (mut worst_centroid, mut widest, mut worst_zcr) = (0.0f64, 0.0f64, 0.0f64);
    for freq in [250.0, 440.0, 1000.0, 3150.7] {
        let frames = frame_descriptors(&sine(freq, 0.5, len), SR);
        let expected_zcr = 2.0 * freq / SR as f64;
        for t in interior_frames(len) {
            let (centroid, spread, zcr) =
                (frames.centroid_hz[t] as f64, frames.spread_hz[t] as f64, frames.zcr[t] as f64);
            worst_centroid = worst_centroid.max((centroid - freq).abs());
            widest = widest.max(spread);
            worst_zcr = worst_zcr.max((zcr - expected_zcr).abs() * 1024.0);
            // The Hann main lobe is symmetric about the tone; only the leakage of the mirror
            // image at -f and the far sidelobes, cut off at 0 Hz and Nyquist, pull the weighted
            // mean off f (measured: under 0.4 Hz). 2 Hz is an eighth of a bin.
            assert!((centroid - freq).abs() < 2.0, "{freq} Hz frame {t}: centroid {centroid}");
            // On a bin centre a Hann-windowed sine has magnitudes 1/2, 1, 1/2 on three bins:
            // spread sqrt(1/2) bin. Off centre its sidelobes (magnitude ~1/(pi d^3) at d bins)
            // weighted by d^2 add ~(1/pi) ln(range) bins^2, up to ~1.5 bins halfway between
            // bins (measured at most 21.8 Hz = 1.4 bins). 2 bins is still a tone's width.
            assert!(spread < 2.0 * 15.625, "{freq} Hz frame {t}: spread {spread}");
            // 2f/r crossings per sample, counted over 1023 neighbour pairs of a 1024-sample frame:
            // the frame edges can gain or lose one crossing, and 1023/1024 scales the rest.
            assert!((zcr - expected_zcr).abs() <= 1.5 / 1024.0, "{freq} Hz frame {t}: zcr {zcr} vs {expected_zcr}");
        }
        if freq == 1000.0 {
            // Exactly bin 64: magnitudes 1/2, 1, 1/2 on bins 63..=65, so the spread is sqrt(1/2) bin.
            let spread = frames.spread_hz[len / 512];
            let expected = 0.5f64.sqrt() * 15.625;
            eprintln!("on-bin spread {spread} Hz vs {expected:.3} Hz");
            // The sine's own float32 rounding noise, in every bin and weighted by (f - c)^2,
            // widens it slightly (measured +0.2%).
            assert!((spread as f64 / expected - 1.0).abs() < 0.01, "on-bin spread {spread} vs {expected}");
        }
    }
    eprintln!(
        "sines: centroid off by at most {worst_centroid:.3} Hz, spread at most {widest:.2} Hz, \
         ZCR off by at most {worst_zcr:.2} crossings per frame"
    );
}

#[test]
fn white_noise_is_as_flat_as_exponentially_distributed_power() {
    // Each bin of Gaussian noise's STFT is complex Gaussian, so its power |X_k|^2 is chi-squared
    // with 2 degrees of freedom, i.e. exponential with mean mu; for an exponential, E[ln P] =
    // ln mu - gamma. Over 513 bins the geometric mean tends to mu exp(-gamma) and the arithmetic
    // mean to mu, so flatness -> exp(-gamma) = 0.5615. The two real bins (DC and Nyquist) are
    // chi-squared with 1 degree of freedom (E[ln P] = ln mu - gamma - ln 2): a factor
    // exp(-2 ln 2 / 513) = 0.9973 on the whole. The window correlates neighbouring bins but leaves
    // each bin's distribution as it is.
    let expected = (-0.577_215_664_901_532_9f64).exp() * (-2.0 * 2f64.ln() / 513.0).exp();
    let x = to_f32(&white_noise(0.1, 4 * SR as usize, 7));
    let d = describe_note(&x, SR, 60.0);
    let frames = frame_descriptors(&x, SR);
    let per_frame_mean = frames.flatness.iter().map(|&v| v as f64).sum::<f64>() / frames.frames() as f64;
    eprintln!("white noise flatness: clip {} (frames' mean {per_frame_mean:.4}), expected {expected:.4}", d.flatness);
    // Over 251 frames the estimate's standard error is ~0.1%; the ratio of two means over
    // ~340 effectively independent bins is biased by ~0.3%. 2% leaves room for both.
    assert!((d.flatness as f64 / expected - 1.0).abs() < 0.02, "flatness {} vs {expected}", d.flatness);
    // And a sine is anything but flat.
    assert!(describe_note(&sine(440.0, 0.5, 64_000), SR, 69.0).flatness < 1e-3);
}

/// The HBR a tone of mean power `tone_power` plus white noise of variance `noise_var` should read,
/// when the clean tone alone reads `clean_db`.
///
/// With Hann window w, a noise bin has E|N_k|^2 = noise_var * sum(w^2) in every one of the 513
/// bins, while a partial of amplitude A puts (A/2)^2 * N * sum(w^2) into the one-sided spectrum
/// (Parseval on the window's transform). Summed over the partials the tone's energy per frame is
/// T = N/2 * tone_power * sum(w^2). A fraction `leak` of it falls outside the bands (Hann
/// sidelobes, and the frames holding the fades); the clean tone measures it:
/// clean_db = 10 log10((1 - leak) / leak). Tone and noise are independent, so their energies add,
/// and in units of noise_var * sum(w^2) per frame
///   HBR = 10 log10((N/2 * tone_power/noise_var * (1 - leak) + n_in) / (N/2 * tone_power/noise_var * leak + n_out)),
/// n_in and n_out the numbers of bins inside and outside the harmonic bands.
fn expected_hbr_db(tone_power: f64, noise_var: f64, n_in: usize, clean_db: f64) -> f64 {
    let leak = 1.0 / (1.0 + 10f64.powf(clean_db / 10.0));
    let tone = 512.0 * tone_power / noise_var;
    let n_out = 513 - n_in;
    10.0 * ((tone * (1.0 - leak) + n_in as f64) / (tone * leak + n_out as f64)).log10()
}

#[test]
fn harmonic_to_background_ratio_follows_the_snr() {
    let len = 4 * SR as usize;
    let f0 = midi_to_hz(57.0);
    assert!((f0 - 220.0).abs() < 1e-9);
    let n_in = harmonic_bins(f0, SR).iter().filter(|&&h| h).count();
    let tone = harmonic_tone(f0, 5, 0.1, len);
    let clean_db = describe_note(&to_f32(&tone), SR, 57.0).hbr_db as f64;
    // A clean tone reads high: under 1e-3 of its energy leaks out of the bands.
    assert!(clean_db > 30.0, "clean tone: {clean_db} dB");
    let mut measured = Vec::new();
    for (snr_db, seed) in [(20.0, 1), (0.0, 2)] {
        let noise = white_noise(0.1 / 10f64.powf(snr_db / 20.0), len, seed);
        let x: Vec<f64> = tone.iter().zip(&noise).map(|(a, b)| a + b).collect();
        // Expected from the powers actually drawn, so the test checks the estimator, not the RNG.
        let expected = expected_hbr_db(mean_square(&tone), mean_square(&noise), n_in, clean_db);
        let hbr = describe_note(&to_f32(&x), SR, 57.0).hbr_db as f64;
        let naive = expected_hbr_db(mean_square(&tone), mean_square(&noise), n_in, f64::INFINITY);
        eprintln!(
            "SNR {snr_db} dB: HBR {hbr:.3} dB, expected {expected:.3} dB ({naive:.3} without the clean tone's \
             {clean_db:.1} dB leakage; {n_in} of 513 bins harmonic)"
        );
        // Left to chance: the chi-squared scatter of the noise energy in and out of the bands and
        // the tone-noise cross terms, about 0.05 dB (worst over eight seeds: 0.074 dB). 0.3 dB is
        // six times that; the 1.5 dB the design asks for would pass even with the leakage
        // ignored (off by 0.5 dB at 20 dB SNR).
        assert!((hbr - expected).abs() < 0.3, "SNR {snr_db} dB: HBR {hbr} vs expected {expected}");
        measured.push(hbr);
    }
    assert!(measured[0] > measured[1] + 10.0, "cleaner tone must read higher: {measured:?}");
    // Silence is finite (0 dB: nothing inside, nothing outside).
    assert_eq!(describe_note(&vec![0.0; len], SR, 57.0).hbr_db, 0.0);
}

#[test]
fn pitch_estimate_finds_harmonic_tones() {
    let len = 2 * SR as usize;
    for midi in [40.0, 45.0, 52.0, 57.0, 64.5, 69.0, 76.0, 84.0, 96.0] {
        let f0 = midi_to_hz(midi);
        let partials = ((7900.0 / f0) as usize).clamp(1, 5);
        let estimate = estimate_pitch(&to_f32(&harmonic_tone(f0, partials, 0.1, len)), SR).unwrap();
        eprintln!("MIDI {midi}: estimated {estimate:.3}");
        // Half a semitone: the nearest note is always the right one.
        assert!((estimate as f64 - midi).abs() <= 0.5, "MIDI {midi}: estimated {estimate}");
    }
    assert_eq!(estimate_pitch(&vec![0.0; len], SR), None);
    assert_eq!(estimate_pitch(&[], SR), None);
}

#[test]
fn names_order_and_serialisation_agree() {
    let d = Descriptors { centroid_hz: 1.0, spread_hz: 2.0, flatness: 3.0, zcr: 4.0, hbr_db: 5.0 };
    assert_eq!(d.to_array(), [1.0, 2.0, 3.0, 4.0, 5.0]);
    let json = serde_json::to_value(d).unwrap();
    for (name, value) in Descriptors::NAMES.iter().zip(d.to_array()) {
        assert_eq!(json[name], serde_json::json!(value), "{name}");
    }
}

#[test]
fn describe_note_takes_well_under_two_milliseconds_for_four_seconds() {
    let len = 4 * SR as usize;
    let best_of_30 = |x: &[f32]| {
        (0..30)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(describe_note(std::hint::black_box(x), SR, 57.0));
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    // A note with a noise floor, like any recording (16-bit quantisation noise is enough).
    let tone = harmonic_tone(220.0, 5, 0.1, len);
    let noise = white_noise(0.001, len, 3);
    let typical = best_of_30(&to_f32(&tone.iter().zip(&noise).map(|(a, b)| a + b).collect::<Vec<_>>()));
    // A float-synthesised sine: every frame's spread is redone with the f64 FFT. (Harmonic
    // tones are wide enough without: their partials, not the f32 floor, set the spread.)
    let pure = best_of_30(&sine(440.0, 0.5, len));
    eprintln!("describe_note on 4 s: best of 30 runs {:.3} ms; float sine {:.3} ms", typical * 1e3, pure * 1e3);
    // The budget is 2 ms; the best of 30 runs shrugs off a busy machine, and 4x room keeps a
    // shared CI runner from failing it. The sine is the worst case, about twice the work.
    assert!(typical < 8e-3, "{typical} s");
    assert!(pure < 16e-3, "{pure} s");
}

#[test]
fn describe_report_takes_the_pitch_from_argument_file_name_or_estimate() {
    let tone = to_f32(&harmonic_tone(220.0, 5, 0.1, SR as usize));
    let named = Path::new("data/keyboard_acoustic_004-060-100.wav");
    assert_eq!(describe::pitch_from_file_name(named), Some(60.0));
    for stem in ["tone.wav", "x-60-100.wav", "x-128-100.wav", "-060-100.wav", "x-060-10.wav"] {
        assert_eq!(describe::pitch_from_file_name(Path::new(stem)), None, "{stem}");
    }

    let report = describe::describe_samples(named, &tone, SR, Some(57.0)).unwrap();
    assert_eq!((report.pitch, report.pitch_source), (57.0, "argument"));
    assert_eq!(report.descriptors, describe_note(&tone, SR, 57.0));
    let report = describe::describe_samples(named, &tone, SR, None).unwrap();
    assert_eq!((report.pitch, report.pitch_source), (60.0, "file name"));
    let report = describe::describe_samples(Path::new("tone.wav"), &tone, SR, None).unwrap();
    assert_eq!(report.pitch_source, "estimated");
    // Half a semitone, as in the estimator's own test.
    assert!((report.pitch - 57.0).abs() <= 0.5, "{}", report.pitch);

    for bad in [128.0, -1.0, f32::NAN, f32::INFINITY] {
        let error = describe::describe_samples(named, &tone, SR, Some(bad)).unwrap_err().to_string();
        assert!(error.contains("--pitch"), "{error}");
    }
    let error = describe::describe_samples(Path::new("quiet.wav"), &[0.0; 16_000], SR, None).unwrap_err();
    assert!(error.to_string().contains("--pitch"), "{error}");

    // The printed JSON: keys in this order, numbers as plain f32 values.
    let json = serde_json::to_string_pretty(&report).unwrap();
    let keys: Vec<&str> = json.lines().filter_map(|l| l.trim().strip_prefix('"')?.split('"').next()).collect();
    assert_eq!(keys, ["clip", "pitch", "pitch_source", "centroid_hz", "spread_hz", "flatness", "zcr", "hbr_db"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["clip"], "tone.wav");
    assert_eq!(value["pitch_source"], "estimated");
    // A clean tone, though analysed at an estimated pitch a few cents off (its upper partials
    // drift toward their bands' edges) and with the onset in 4 of 63 frames.
    assert!(value["hbr_db"].as_f64().unwrap() > 20.0, "{json}");
}
