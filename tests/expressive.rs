//! Expressive rendering measured back from the audio: vibrato's rate and depth and a scoop's
//! glide in the pitch track of a rendered note, a swell in its level, a legato pair's previous
//! note under the attack, through the tiny SoundFont (tests/common/sf2.rs) and a GUS patch.

mod common;

use common::sf2::*;
use timbrescope::data::expressive::{Dynamics, Expression, Scoop, Vibrato, render_expressive};
use timbrescope::data::library::{Library, LibraryRenderer};
use timbrescope::data::soundfont::NoteSpec;
use timbrescope::dsp::pitch_track::{HOP, pitch_track};

const SPEC: NoteSpec = NoteSpec::NSYNTH;
const PITCH: u8 = 69;

fn renderer(dir: &tempfile::TempDir) -> LibraryRenderer {
    let presets =
        [TinyPreset { program: 40, name: "Tiny Violin", key_lo: 40, key_hi: 90, harmonics: vec![1.0, 0.5, 0.3] }];
    let path = write_tiny_sf2(dir.path(), "tiny.sf2", &presets);
    Library::load(&path).unwrap().renderer(SPEC.sample_rate_hz).unwrap()
}

/// The pitch track in cents from the note's pitch, (seconds, cents) per voiced frame.
fn cents_track(x: &[f32]) -> Vec<(f64, f64)> {
    pitch_track(x, SPEC.sample_rate_hz)
        .iter()
        .enumerate()
        .filter_map(|(t, f)| {
            // A frame describes the 64 ms from its start: its time is the window's centre.
            let secs = (t * HOP + 512) as f64 / f64::from(SPEC.sample_rate_hz);
            f.midi.map(|m| (secs, 100.0 * (f64::from(m) - f64::from(PITCH))))
        })
        .collect()
}

#[test]
fn vibrato_is_measured_back_at_its_rate_and_depth() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = renderer(&dir);
    for (rate_hz, depth_cents) in [(4.5f32, 10.0f32), (6.5, 35.0)] {
        let e =
            Expression { vibrato: Some(Vibrato { rate_hz, depth_cents, delay_secs: 0.3 }), ..Expression::plain(3.0) };
        let x = render_expressive(&mut r, 40, PITCH, 100, &e, &SPEC).unwrap();
        let track: Vec<(f64, f64)> = cents_track(&x).into_iter().filter(|&(t, _)| (0.8..2.8).contains(&t)).collect();
        let (lo, hi) = track.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &(_, c)| (lo.min(c), hi.max(c)));
        // YIN compares 64 ms (1024 samples) with the next: the track is the pitch averaged over
        // that window, which scales a sine of rate f by sinc(f T), 0.87 at 4.5 Hz and 0.74 at
        // 6.5 Hz. 4%: the 16-ms frames sample the crest (1.5% at 6.5 Hz) and the parabola's
        // fraction of a sample.
        let depth = (hi - lo) / 2.0;
        let x_t = std::f64::consts::PI * f64::from(rate_hz) * 1024.0 / 16_000.0;
        let expected = f64::from(depth_cents) * x_t.sin() / x_t;
        assert!((depth / expected - 1.0).abs() < 0.04, "depth {depth:.2} for {depth_cents} (expected {expected:.2})");
        // Rate: upward zero crossings of the track about its mean over the 2 s.
        let mean = track.iter().map(|p| p.1).sum::<f64>() / track.len() as f64;
        let ups: Vec<f64> = track.windows(2).filter(|w| w[0].1 < mean && w[1].1 >= mean).map(|w| w[1].0).collect();
        let rate = (ups.len() - 1) as f64 / (ups[ups.len() - 1] - ups[0]);
        assert!((rate - f64::from(rate_hz)).abs() < 0.15, "rate {rate:.2} Hz for {rate_hz}");
        // Before the delay the note is steady at its pitch.
        assert!(cents_track(&x).iter().filter(|&&(t, _)| (0.05..0.25).contains(&t)).all(|&(_, c)| c.abs() < 2.0));
    }
}

#[test]
fn a_scoop_starts_flat_and_reaches_the_pitch_in_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = renderer(&dir);
    let e = Expression { scoop: Some(Scoop { depth_cents: 120.0, secs: 0.25 }), ..Expression::plain(2.0) };
    let x = render_expressive(&mut r, 40, PITCH, 100, &e, &SPEC).unwrap();
    let track = cents_track(&x);
    // The glide is linear: -120 cents at 0, -60 at 0.125 s, the pitch from 0.25 s. The track's
    // window (64 ms) averages a 30-cent stretch of it; 8 cents covers that and the frame grid.
    for &(t, c) in track.iter().filter(|&&(t, _)| (0.05..0.22).contains(&t)) {
        let expected = -120.0 * (1.0 - t / 0.25);
        assert!((c - expected).abs() < 8.0, "at {t:.3} s: {c:.1} cents, expected {expected:.1}");
    }
    assert!(track.iter().filter(|&&(t, _)| (0.35..1.5).contains(&t)).all(|&(_, c)| c.abs() < 2.0));
}

#[test]
fn a_swell_rises_to_full_level_over_the_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = renderer(&dir);
    let plain = render_expressive(&mut r, 40, PITCH, 100, &Expression::plain(2.0), &SPEC).unwrap();
    let e = Expression { dynamics: Dynamics::Swell { from: 0.25 }, ..Expression::plain(2.0) };
    let swell = render_expressive(&mut r, 40, PITCH, 100, &e, &SPEC).unwrap();
    let rms = |x: &[f32], t: f64| {
        let s = &x[(t * 16_000.0) as usize..((t + 0.05) * 16_000.0) as usize];
        (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
    };
    // The gain at 0.5 s is 0.25 + 0.75 * 0.25 = 0.4375, at 1.9 s 0.25 + 0.75 * 0.95 = 0.9625;
    // MIDI expression has 127 steps, each under 1% here.
    for (t, gain) in [(0.5, 0.4375), (1.9, 0.9625)] {
        let ratio = rms(&swell, t) / rms(&plain, t);
        assert!((ratio - gain).abs() < 0.02, "at {t} s: {ratio:.3} of the plain note, expected {gain}");
    }
}

#[test]
fn a_legato_pair_leaves_the_previous_note_under_the_attack() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = renderer(&dir);
    let e = Expression { legato_from: Some(-5), ..Expression::plain(2.0) };
    let x = render_expressive(&mut r, 40, PITCH, 100, &e, &SPEC).unwrap();
    let plain = render_expressive(&mut r, 40, PITCH, 100, &Expression::plain(2.0), &SPEC).unwrap();
    // The pair less the note alone (rendered the same way from a reset synthesiser) is the
    // previous note's tail.
    let tail: Vec<f32> = x.iter().zip(&plain).map(|(a, b)| a - b).collect();
    let span = |from: f64, to: f64| &tail[(from * 16_000.0) as usize..(to * 16_000.0) as usize];
    let previous_hz = 440.0 * 2f64.powf(-5.0 / 12.0);
    // Over the first 60 ms it is the previous note (D4), as loud as the new one's attack allows
    // (the tiny preset has no attack ramp); released at 60 ms, 0.25 s to -80 dB, it is gone a
    // second later.
    let at = |f: f64| common::tone_amplitude(span(0.0, 0.06), 16_000.0, f);
    assert!(at(previous_hz) > 0.05, "{}", at(previous_hz));
    // A 60-ms rectangular window leaks D4 into 440 Hz by about 1 / (pi 146 Hz 60 ms) = 4%
    // (measured 5%); the new note itself, as loud as the previous one, would read 100%.
    assert!(at(440.0) < 0.1 * at(previous_hz), "the new note is in the tail");
    let late = span(1.0, 1.5).iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(late < 1e-4, "{late}");
}
