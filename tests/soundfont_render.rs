//! SoundFont rendering and the embedded demo clips: length, pitch and release checked against MIDI.

use std::path::Path;
use std::sync::OnceLock;

use timbrescope::audio::ANALYSIS_RATE_HZ;
use timbrescope::data::demo::{demo_clips, load_demo};
use timbrescope::data::soundfont::{BankError, NoteSpec, RenderError, SoundFontBank, peak_abs};

const FLUID_SF2: &str = "/usr/share/sounds/sf2/FluidR3_GM.sf2";

/// 1% is about 17 cents: wide enough for SoundFont sample tuning (root key plus a few cents of
/// correction), piano stretch tuning and vibrato averaged over the window, yet well inside the
/// 6% of one semitone, so a wrong key, root key or octave still fails.
const F0_TOLERANCE: f64 = 0.01;

fn midi_to_hz(pitch: u8) -> f64 {
    440.0 * 2_f64.powf((f64::from(pitch) - 69.0) / 12.0)
}

/// Magnitude of a Hann-windowed DFT of `x` at an arbitrary frequency (a phasor, not a trig call
/// per sample, keeps a fine search cheap).
fn dft_magnitude(x: &[f32], freq_hz: f64, rate_hz: f64) -> f64 {
    let n = x.len() as f64;
    let step = std::f64::consts::TAU * freq_hz / rate_hz;
    let (rot_im, rot_re) = step.sin_cos();
    let (mut ph_re, mut ph_im) = (1.0_f64, 0.0_f64);
    let (mut acc_re, mut acc_im) = (0.0_f64, 0.0_f64);
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n).cos();
        let v = f64::from(s) * w;
        acc_re += v * ph_re;
        acc_im -= v * ph_im;
        (ph_re, ph_im) = (ph_re * rot_re - ph_im * rot_im, ph_re * rot_im + ph_im * rot_re);
    }
    acc_re.hypot(acc_im)
}

/// Strongest spectral peak within one semitone of `expected_hz`, searched on a 0.5-cent grid.
/// Panics if the maximum sits on the search edge, i.e. there is no partial near the expected pitch.
fn f0_near(x: &[f32], rate_hz: f64, expected_hz: f64) -> f64 {
    let cents: Vec<f64> = (-200..=200).map(|c| f64::from(c) * 0.5).collect();
    let mags: Vec<f64> =
        cents.iter().map(|c| dft_magnitude(x, expected_hz * 2_f64.powf(c / 1200.0), rate_hz)).collect();
    let best = mags.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).expect("non-empty grid");
    assert!(
        best > 0 && best < mags.len() - 1,
        "no partial within a semitone of {expected_hz:.2} Hz (peak on the search edge at {:+} cents)",
        cents[best]
    );
    expected_hz * 2_f64.powf(cents[best] / 1200.0)
}

fn rms_db(x: &[f32]) -> f64 {
    let mean_sq = x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len() as f64;
    10.0 * (mean_sq + 1e-20).log10()
}

/// Samples from `start_secs` to `end_secs` at `rate_hz`.
fn span(x: &[f32], rate_hz: u32, start_secs: f64, end_secs: f64) -> &[f32] {
    let at = |t: f64| (t * f64::from(rate_hz)).round() as usize;
    &x[at(start_secs)..at(end_secs)]
}

fn fluid_bank() -> &'static SoundFontBank {
    static BANK: OnceLock<SoundFontBank> = OnceLock::new();
    BANK.get_or_init(|| {
        // The test command installs this package; a silent skip would hide a broken setup.
        assert!(
            Path::new(FLUID_SF2).exists(),
            "{FLUID_SF2} is missing: install Debian's fluid-soundfont-gm (apt-get install -y fluid-soundfont-gm)"
        );
        SoundFontBank::load(FLUID_SF2).unwrap_or_else(|e| panic!("loading {FLUID_SF2}: {e}"))
    })
}

#[test]
fn demo_clips_are_nsynth_notes_at_their_midi_pitch() {
    assert_eq!(demo_clips().len(), 8, "one demo clip per family");
    for demo in demo_clips() {
        let clip = load_demo(demo);
        assert_eq!(clip.sample_rate_hz, ANALYSIS_RATE_HZ, "{}", demo.name);
        assert_eq!(clip.samples.len(), 64_000, "{}: 4.0 s at 16 kHz", demo.name);
        // Inside the hold, after the attack: the steady part of the note.
        let steady = span(&clip.samples, clip.sample_rate_hz, 0.25, 2.75);
        let expected_hz = midi_to_hz(demo.midi_pitch);
        let f0_hz = f0_near(steady, f64::from(clip.sample_rate_hz), expected_hz);
        let error = (f0_hz / expected_hz - 1.0).abs();
        assert!(
            error < F0_TOLERANCE,
            "{}: f0 {f0_hz:.2} Hz, expected {expected_hz:.2} Hz (MIDI {}), off by {:.2}%",
            demo.name,
            demo.midi_pitch,
            100.0 * error
        );
    }
}

#[test]
fn demo_clips_release_after_note_off() {
    for demo in demo_clips() {
        let clip = load_demo(demo);
        let rate = clip.sample_rate_hz;
        let hold_db = rms_db(span(&clip.samples, rate, 0.5, 3.0));
        let before_off_db = rms_db(span(&clip.samples, rate, 2.75, 3.0));
        let tail_db = rms_db(span(&clip.samples, rate, 3.5, 4.0));
        // Release is audible against the whole hold and against the moment before note off,
        // which a sustained note without note off (the organ) would fail.
        assert!(
            tail_db < hold_db - 10.0 && tail_db < before_off_db - 6.0,
            "{}: tail {tail_db:.1} dB, hold {hold_db:.1} dB, just before note off {before_off_db:.1} dB",
            demo.name
        );
    }
}

#[test]
fn fluid_piano_a4_renders_at_440_hz() {
    let spec = NoteSpec::NSYNTH;
    let samples = fluid_bank().render_note(0, 69, 100, &spec).expect("render piano A4");
    assert_eq!(samples.len(), 64_000);
    assert!(peak_abs(&samples) > 0.01, "piano A4 rendered near-silent");
    let steady = span(&samples, spec.sample_rate_hz, 0.25, 2.75);
    let f0_hz = f0_near(steady, f64::from(spec.sample_rate_hz), 440.0);
    assert!((f0_hz / 440.0 - 1.0).abs() < F0_TOLERANCE, "piano A4 at {f0_hz:.2} Hz");
}

#[test]
fn renderer_is_reusable_and_deterministic() {
    let spec = NoteSpec::NSYNTH;
    let mut renderer = fluid_bank().renderer(spec.sample_rate_hz).expect("renderer");
    let first = renderer.render_note(40, 69, 100, &spec).expect("violin");
    let _other = renderer.render_note(0, 40, 127, &spec).expect("piano");
    let again = renderer.render_note(40, 69, 100, &spec).expect("violin again");
    // No state (voices, program) leaks from one note into the next.
    assert_eq!(first, again);
}

#[test]
fn bad_midi_values_are_errors() {
    let spec = NoteSpec::NSYNTH;
    let bank = fluid_bank();
    assert!(matches!(bank.render_note(0, 128, 100, &spec), Err(RenderError::MidiOutOfRange { .. })));
    assert!(matches!(bank.render_note(0, 60, 0, &spec), Err(RenderError::MidiOutOfRange { .. })));
}

#[test]
fn missing_soundfont_error_names_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no_such_bank.sf2");
    let err = SoundFontBank::load(&missing).expect_err("missing file must not load");
    assert!(matches!(err, BankError::Open { .. }));
    assert!(err.to_string().contains(&missing.display().to_string()), "message: {err}");
}

#[test]
fn non_sf2_file_is_a_parse_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bogus = dir.path().join("bogus.sf2");
    std::fs::write(&bogus, b"RIFF\x04\x00\x00\x00WAVE").expect("write bogus file");
    let err = SoundFontBank::load(&bogus).expect_err("a WAV header is not an SF2");
    assert!(matches!(err, BankError::Malformed { .. }));
    assert!(err.to_string().contains(&bogus.display().to_string()), "message: {err}");
}
