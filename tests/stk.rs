//! The STK physical models through the binding, measured back from the audio: every program of
//! assets/stk.toml sounds at its note's pitch across its instrument's range; the wind and bowed
//! models hold while the breath or bow lasts and stop after it, the plucked and struck ones
//! decay; vibrato and a swell played through the models' own controls come back out of them;
//! a note renders the same every time.

use timbrescope::data::expressive::{Dynamics, Expression, Vibrato, render_expressive};
use timbrescope::data::library::{Library, LibraryRenderer};
use timbrescope::data::soundfont::{NoteSpec, RenderError};
use timbrescope::data::stk::{Model, StkLibrary};
use timbrescope::data::taxonomy::Taxonomy;
use timbrescope::dsp::pitch_track::{HOP, pitch_track};

const SPEC: NoteSpec = NoteSpec::NSYNTH;
const DESCRIPTION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/stk.toml");

fn library() -> StkLibrary {
    match Library::load(DESCRIPTION).unwrap() {
        Library::Stk(l) => l,
        _ => panic!("a .toml library is an STK description"),
    }
}

fn renderer() -> LibraryRenderer {
    Library::load(DESCRIPTION).unwrap().renderer(SPEC.sample_rate_hz).unwrap()
}

/// (seconds at the window's centre, fractional MIDI pitch) per voiced frame.
fn track(x: &[f32]) -> Vec<(f64, f64)> {
    pitch_track(x, SPEC.sample_rate_hz)
        .iter()
        .enumerate()
        .filter_map(|(t, f)| f.midi.map(|m| ((t * HOP + 512) as f64 / 16_000.0, f64::from(m))))
        .collect()
}

/// RMS in dBFS of the samples from `a` to `b` seconds.
fn rms_db(x: &[f32], a: f64, b: f64) -> f64 {
    let part = &x[(a * 16_000.0) as usize..(b * 16_000.0) as usize];
    let ms = part.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / part.len() as f64;
    10.0 * ms.max(1e-20).log10()
}

fn sustained(model: Model) -> bool {
    matches!(model, Model::Clarinet | Model::Saxofony | Model::Brass | Model::Bowed | Model::BeeThree)
}

/// The partial nearest `frequency_hz`: (its offset in cents, its amplitude over the segment's
/// RMS), searched within a semitone either way in 1-cent steps by a Hann-windowed DFT of the
/// second from 50 ms. A spectral peak, not a period: a vibraphone's 3.9-ratio mode and a
/// plucked string's weak fundamental pull a period tracker off the note without changing it.
fn partial_near(x: &[f32], frequency_hz: f64) -> (f64, f64) {
    let seg = &x[800..16_800];
    let n = seg.len() as f64;
    let w: Vec<f64> = (0..seg.len()).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n).cos()).collect();
    let rms = (seg.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / n).sqrt();
    let (mut best, mut best_mag) = (0.0, 0.0);
    for c in -100..=100 {
        let f = frequency_hz * 2f64.powf(f64::from(c) / 1200.0);
        let step = 2.0 * std::f64::consts::PI * f / 16_000.0;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, (s, w)) in seg.iter().zip(&w).enumerate() {
            let v = f64::from(*s) * w;
            re += v * (step * i as f64).cos();
            im -= v * (step * i as f64).sin();
        }
        let mag = (re * re + im * im).sqrt();
        if mag > best_mag {
            (best, best_mag) = (f64::from(c), mag);
        }
    }
    // A sinusoid of amplitude A gives |X| = A n / 4 under a Hann window.
    (best, 4.0 * best_mag / n / rms.max(1e-12))
}

#[test]
fn every_program_sounds_its_pitch_across_its_range() {
    let lib = library();
    let taxonomy = Taxonomy::default();
    let mut r = renderer();
    let mut programs = 0;
    let mut wrong = Vec::new();
    for inst in &taxonomy.instruments {
        let Some(voice) = lib.voice(inst.program) else { continue };
        programs += 1;
        // A low, a middle and a high note of the instrument's range, at two velocities.
        for pitch in [inst.pitch_lo + 2, (inst.pitch_lo + inst.pitch_hi) / 2, inst.pitch_hi - 2] {
            for velocity in [40, 110] {
                let x = r.render_note(inst.program, pitch, velocity, &SPEC).unwrap();
                assert_eq!(x.len(), SPEC.num_samples());
                assert!(x.iter().all(|s| s.is_finite()), "{} {pitch}", voice.name);
                let f0 = 440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0);
                // The strongest of the first three harmonics: a string plucked or picked up near
                // a node of its fundamental keeps little of it, but its harmonics stay in tune.
                let (h, (cents, strength)) = (1..=3)
                    .map(|h| (h, partial_near(&x, f0 * f64::from(h))))
                    .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
                    .unwrap();
                let what = format!("{} at pitch {pitch}, velocity {velocity}, harmonic {h}", voice.name);
                // A note played on another mode (overblown, a subharmonic) has no partial at
                // its harmonics, only leakage: the peak is weak and lands anywhere in the search.
                // Within 30 cents the note is the semitone it is labelled (50 would be the next).
                if strength <= 0.1 || cents.abs() > 30.0 {
                    wrong.push(format!("{what}: the partial at {cents:+.0} cents is {strength:.3} of the RMS"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "off their pitch:\n{}", wrong.join("\n"));
    assert_eq!(programs, 13, "the description plays 13 of the 16 instruments");
}

/// The loudest 50-ms RMS of a note, in dBFS.
fn loudest_db(x: &[f32]) -> f64 {
    (0..79).map(|k| rms_db(x, k as f64 * 0.05, (k + 1) as f64 * 0.05)).fold(f64::MIN, f64::max)
}

#[test]
fn winds_and_bows_hold_then_stop_and_strings_and_bars_decay() {
    let lib = library();
    let taxonomy = Taxonomy::default();
    let mut r = renderer();
    for inst in &taxonomy.instruments {
        let Some(voice) = lib.voice(inst.program) else { continue };
        let pitch = (inst.pitch_lo + inst.pitch_hi) / 2;
        let x = r.render_note(inst.program, pitch, 100, &SPEC).unwrap();
        let loudest = loudest_db(&x);
        let (early, late, after) = (rms_db(&x, 0.3, 0.8), rms_db(&x, 2.3, 2.8), rms_db(&x, 3.6, 4.0));
        assert!(loudest > -40.0, "{} is nearly silent: {loudest:.1} dBFS at most", voice.name);
        if sustained(voice.model) {
            // A bowed string settles over its first second; within 5 dB is held.
            assert!((late - early).abs() < 5.0, "{}: {early:.1} then {late:.1} dBFS while held", voice.name);
        } else {
            assert!(late < loudest - 6.0, "{}: {loudest:.1} then {late:.1} dBFS, no decay", voice.name);
        }
        // Note off at 3 s: 0.6 s later only the release's tail is left, if that.
        assert!(after < loudest - 30.0, "{}: {after:.1} dBFS after note off, {loudest:.1} at most", voice.name);
    }
}

#[test]
fn vibrato_played_through_the_clarinet_comes_back_out() {
    let mut r = renderer();
    let pitch = 67;
    let (rate_hz, depth_cents) = (5.5f32, 30.0f32);
    let e = Expression { vibrato: Some(Vibrato { rate_hz, depth_cents, delay_secs: 0.3 }), ..Expression::plain(3.0) };
    let x = render_expressive(&mut r, 71, pitch, 100, &e, &SPEC).unwrap();
    let held: Vec<(f64, f64)> = track(&x).into_iter().filter(|&(t, _)| (0.8..2.8).contains(&t)).collect();
    let cents: Vec<f64> = held.iter().map(|p| 100.0 * (p.1 - f64::from(pitch))).collect();
    let (lo, hi) = cents.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &c| (lo.min(c), hi.max(c)));
    // YIN's 64-ms window averages the pitch: a sine of rate f is scaled by sinc(f T), 0.82 here.
    let x_t = std::f64::consts::PI * f64::from(rate_hz) * 1024.0 / 16_000.0;
    let expected = f64::from(depth_cents) * x_t.sin() / x_t;
    let depth = (hi - lo) / 2.0;
    assert!((depth / expected - 1.0).abs() < 0.2, "depth {depth:.1} cents, expected {expected:.1}");
    let mean = cents.iter().sum::<f64>() / cents.len() as f64;
    let ups: Vec<f64> = held
        .windows(2)
        .zip(cents.windows(2))
        .filter(|(_, c)| c[0] < mean && c[1] >= mean)
        .map(|(w, _)| w[1].0)
        .collect();
    let rate = (ups.len() - 1) as f64 / (ups[ups.len() - 1] - ups[0]);
    assert!((rate - f64::from(rate_hz)).abs() < 0.25, "rate {rate:.2} Hz for {rate_hz}");
    // The plain note has none: its pitch stays within a few cents over the same stretch.
    let plain = r.render_note(71, pitch, 100, &SPEC).unwrap();
    let steady: Vec<f64> =
        track(&plain).into_iter().filter(|&(t, _)| (0.8..2.8).contains(&t)).map(|p| 100.0 * p.1).collect();
    let spread = steady.iter().fold(f64::MIN, |m, &c| m.max(c)) - steady.iter().fold(f64::MAX, |m, &c| m.min(c));
    assert!(spread < 10.0, "the plain clarinet wavers over {spread:.1} cents");
}

#[test]
fn a_swell_in_the_breath_and_the_bow_raises_the_level() {
    let mut r = renderer();
    for (program, pitch) in [(71u8, 62u8), (56, 64), (40, 72)] {
        let e = Expression { dynamics: Dynamics::Swell { from: 0.3 }, ..Expression::plain(3.0) };
        let x = render_expressive(&mut r, program, pitch, 100, &e, &SPEC).unwrap();
        let (start, end) = (rms_db(&x, 0.3, 0.6), rms_db(&x, 2.5, 2.9));
        // The gain rises from 0.3 to 1 (10 dB); the breath or bow rises with it.
        assert!(end - start > 6.0, "program {program}: {start:.1} to {end:.1} dBFS");
    }
}

#[test]
fn a_note_renders_the_same_every_time_and_velocity_changes_it() {
    let mut r = renderer();
    let a = r.render_note(65, 60, 75, &SPEC).unwrap();
    let b = renderer().render_note(65, 60, 75, &SPEC).unwrap();
    assert_eq!(a, b, "the reed's breath noise is seeded by the note");
    let (soft, loud) = (r.render_note(71, 60, 25, &SPEC).unwrap(), r.render_note(71, 60, 110, &SPEC).unwrap());
    assert!(rms_db(&soft, 0.5, 2.5) < rms_db(&loud, 0.5, 2.5) - 6.0, "a softer breath, a softer clarinet");
}

#[test]
fn a_program_the_description_lacks_is_an_error() {
    let mut r = renderer();
    let err = r.render_note(0, 60, 100, &SPEC).unwrap_err();
    assert!(matches!(err, RenderError::MissingProgram { program: 0, .. }), "{err}");
}

#[test]
fn the_models_the_shipped_description_leaves_out_play_too() {
    // Karplus-Strong's plain plucked string and the Wurlitzer's FM, from a description of one's own.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(
        &path,
        "[[program]]\nprogram = 24\nname = \"Plucked\"\nmodel = \"plucked\"\n\n\
         [[program]]\nprogram = 4\nname = \"Wurley\"\nmodel = \"wurley\"\n",
    )
    .unwrap();
    let mut r = Library::load(&path).unwrap().renderer(SPEC.sample_rate_hz).unwrap();
    for (program, pitch) in [(24u8, 45u8), (24, 76), (4, 60)] {
        let x = r.render_note(program, pitch, 100, &SPEC).unwrap();
        let f0 = 440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0);
        let (cents, strength) = partial_near(&x, f0);
        assert!(
            strength > 0.1 && cents.abs() <= 30.0,
            "program {program} at {pitch}: {cents:+.0} cents, {strength:.3}"
        );
    }
}
