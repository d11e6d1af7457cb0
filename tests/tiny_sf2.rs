//! The in-memory test SoundFont (tests/common/sf2.rs): rustysynth loads it, and its presets sound
//! at the right pitch, only inside their key range, and fall silent after the release.

mod common;

use common::sf2::*;
use common::{dft_magnitude, dominant_frequency};
use timbrescope::data::soundfont::{NoteSpec, RenderError, SoundFontBank, peak_abs};

const VELOCITY: u8 = 100;
const SPEC: NoteSpec = NoteSpec::NSYNTH;

fn two_presets() -> Vec<TinyPreset> {
    vec![
        TinyPreset { program: 0, name: "Tiny Piano", key_lo: 40, key_hi: 80, harmonics: vec![1.0, 0.4, 0.2] },
        TinyPreset { program: 40, name: "Tiny Violin", key_lo: 55, key_hi: 90, harmonics: vec![1.0, 0.5, 0.3, 0.2] },
    ]
}

fn load_bank(dir: &tempfile::TempDir) -> SoundFontBank {
    let path = write_tiny_sf2(dir.path(), "tiny.sf2", &two_presets());
    SoundFontBank::load(&path).unwrap_or_else(|e| panic!("tiny bank does not load: {e:#}"))
}

fn render(bank: &SoundFontBank, program: u8, pitch: u8) -> Vec<f32> {
    let note = bank.render_note(program, pitch, VELOCITY, &SPEC).unwrap();
    assert_eq!(note.len(), SPEC.num_samples());
    note
}

/// Samples from `start_secs` to `end_secs` of a render at `SPEC`'s rate.
fn span(x: &[f32], start_secs: f64, end_secs: f64) -> &[f32] {
    let rate = f64::from(SPEC.sample_rate_hz);
    &x[(start_secs * rate) as usize..(end_secs * rate) as usize]
}

fn rms_db(x: &[f32]) -> f64 {
    let mean_sq = x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * (mean_sq + 1e-30).log10()
}

fn midi_to_hz(pitch: u8) -> f64 {
    440.0 * 2_f64.powf((f64::from(pitch) - 69.0) / 12.0)
}

#[test]
fn bytes_are_a_well_formed_riff() {
    let bytes = tiny_sf2(&two_presets());
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize, bytes.len() - 8);
    assert_eq!(&bytes[8..12], b"sfbk");
}

#[test]
fn bank_loads_with_its_program_names() {
    let dir = tempfile::tempdir().unwrap();
    let bank = load_bank(&dir);
    assert_eq!(bank.program_name(0), Some("Tiny Piano"));
    assert_eq!(bank.program_name(40), Some("Tiny Violin"));
    assert_eq!(bank.program_name(5), None);
    // One looped sample per preset, with the loop strictly inside the sample.
    let headers = bank.sound_font().get_sample_headers();
    assert_eq!(headers.len(), 2);
    for h in headers {
        assert!(h.get_start() < h.get_start_loop() && h.get_end_loop() < h.get_end(), "{h:?}");
        assert_eq!(h.get_sample_rate(), SAMPLE_RATE_HZ as i32);
        assert_eq!(h.get_original_pitch(), i32::from(ROOT_KEY));
    }
}

#[test]
fn notes_sound_at_their_midi_pitch() {
    let dir = tempfile::tempdir().unwrap();
    let bank = load_bank(&dir);
    let rate = f64::from(SPEC.sample_rate_hz);
    for pitch in [69, 60] {
        let note = render(&bank, 0, pitch);
        // 0.1 s of the held part: Hann main lobe +-20 Hz, so dominant_frequency's 10 Hz coarse grid
        // cannot fall between lobes and pick the (weaker) second partial instead of the fundamental.
        let window = span(&note, 1.0, 1.1);
        let (expected, f0) = (midi_to_hz(pitch), dominant_frequency(window, rate));
        // 1% is about 17 cents: the 0.5 Hz search step plus fixed-point resampling error is far
        // below it, while a wrong root key or sample rate (>= 1 semitone, 6%) still fails.
        assert!((f0 / expected - 1.0).abs() < 0.01, "pitch {pitch}: f0 {f0:.2} Hz, expected {expected:.2} Hz");
        // The octave below must be absent: the loop is whole periods of the fundamental.
        // 0.1 leaves room for the leakage of a Hann window, which is about -30 dB one bin away.
        let (at_f0, below) = (dft_magnitude(window, rate, expected), dft_magnitude(window, rate, expected / 2.0));
        assert!(below < 0.1 * at_f0, "pitch {pitch}: {below} at f0/2 vs {at_f0} at f0");
    }
}

#[test]
fn keys_outside_the_range_are_silent() {
    let dir = tempfile::tempdir().unwrap();
    let bank = load_bank(&dir);
    // 1e-6 is about -120 dBFS: only a note that found no zone at all is this quiet.
    let silent = 1e-6;
    // 1e-3 (-60 dBFS) is far below a full-velocity note, yet far above any rounding noise.
    let audible = 1e-3;
    for (program, pitch, sounds) in [(0, 30, false), (0, 39, false), (0, 40, true), (0, 80, true), (0, 81, false)]
        .into_iter()
        .chain([(40, 54, false), (40, 55, true), (40, 85, true), (40, 91, false)])
    {
        let peak = peak_abs(&render(&bank, program, pitch));
        if sounds {
            assert!(peak > audible, "program {program} pitch {pitch} in range but peak {peak}");
        } else {
            assert!(peak < silent, "program {program} pitch {pitch} out of range but peak {peak}");
        }
    }
}

#[test]
fn notes_decay_after_note_off() {
    let dir = tempfile::tempdir().unwrap();
    let bank = load_bank(&dir);
    for (program, pitch) in [(0, 69), (40, 85)] {
        let note = render(&bank, program, pitch);
        let (held, tail) = (rms_db(span(&note, 1.0, 3.0)), rms_db(span(&note, 3.5, 4.0)));
        // 40 dB: the 0.25 s release is at -80 dB by 3.25 s (the tail is exact zeros); a loop that
        // ignores note-off, or a release longer than about 1.3 s, fails it.
        assert!(tail < held - 40.0, "program {program} pitch {pitch}: held {held:.1} dB, tail {tail:.1} dB");
    }
}

/// Offset of the four bytes that give the size of chunk `id` (the first one found).
fn size_offset(bytes: &[u8], id: &[u8; 4]) -> usize {
    bytes.windows(4).position(|w| w == id).expect("the chunk is there") + 4
}

#[test]
fn a_chunk_claiming_more_than_the_file_is_refused_before_anything_is_allocated() {
    // Found by fuzzing: rustysynth allocated the 4 GB that a damaged sample chunk claimed.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = tiny_sf2(&two_presets());
    let at = size_offset(&bytes, b"smpl");
    bytes[at..at + 4].copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    let path = dir.path().join("huge.sf2");
    std::fs::write(&path, &bytes).unwrap();
    let error = SoundFontBank::load(&path).unwrap_err().to_string();
    assert!(error.contains("huge.sf2") && error.contains("\"smpl\"") && error.contains("past its list"), "{error}");
}

#[test]
fn a_bank_that_breaks_the_synthesizer_fails_its_note_with_an_error_every_time() {
    // Found by fuzzing (fuzz/regressions/sf2): rustysynth's oscillator indexed past its sample
    // data and panicked. The note is an error naming the bank and program, and the renderer,
    // its synthesizer rebuilt, answers the next request the same way.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/sf2/synth-panics-program-0.sf2");
    let bank = SoundFontBank::load(&path).unwrap();
    let mut renderer = bank.renderer(16_000).unwrap();
    let error = renderer.render_note(0, 60, VELOCITY, &SPEC).unwrap_err();
    assert!(matches!(error, RenderError::Damaged { program: 0, .. }), "{error}");
    assert!(error.to_string().contains("synth-panics-program-0.sf2"), "{error}");
    let again = renderer.render_note(0, 60, VELOCITY, &SPEC).unwrap_err();
    assert!(matches!(again, RenderError::Damaged { .. }), "the same note fails the same way: {again}");
}
