//! The GUS patch reader and voice against a tiny patch built here: the pitch heard, the loop and
//! the envelope, each against its analytic answer; and a TiMidity configuration read as a library.

mod common;

use timbrescope::data::gus::patch::{
    MODE_ENVELOPE, MODE_LOOPING, MODE_PINGPONG, MODE_SUSTAIN, PatchSample, parse, write,
};
use timbrescope::data::gus::voice::{PatchOptions, envelope_rate_per_sec, render};
use timbrescope::data::soundfont::NoteSpec;

fn sine_sample(modes: u8, rates: [u8; 6], offsets: [u8; 6]) -> PatchSample {
    common::gus::sine_sample(0.8, modes, rates, offsets)
}

/// Range 3 (the slowest scale): rate byte 0xC0 | r moves r * 44100 / 4096 offset steps a second.
const ATTACK: u8 = 0xC0 | 47;
const RELEASE: u8 = 0xC0 | 30;

fn enveloped() -> PatchSample {
    sine_sample(
        MODE_LOOPING | MODE_SUSTAIN | MODE_ENVELOPE,
        [ATTACK, 63, 63, RELEASE, 63, 63],
        [254, 254, 254, 0, 0, 0],
    )
}

fn play(sample: PatchSample, pitch: u8) -> Vec<f32> {
    let patch = parse(&write(&[sample])).expect("the tiny patch parses");
    render(&patch, &PatchOptions::default(), pitch, 127, &NoteSpec::NSYNTH)
}

/// Frequency from upward zero crossings, interpolated between samples, over `from..to` seconds.
fn frequency_hz(x: &[f32], from: f32, to: f32) -> f64 {
    let (a, b) = ((from * 16_000.0) as usize, (to * 16_000.0) as usize);
    let crossings: Vec<f64> = (a..b)
        .filter(|&n| x[n] < 0.0 && x[n + 1] >= 0.0)
        .map(|n| n as f64 + f64::from(-x[n] / (x[n + 1] - x[n])))
        .collect();
    let (first, last) = (crossings[0], crossings[crossings.len() - 1]);
    (crossings.len() - 1) as f64 / (last - first) * 16_000.0
}

/// RMS level in dB of 50 ms centred at `t` seconds.
fn level_db(x: &[f32], t: f32) -> f64 {
    let c = (t * 16_000.0) as usize;
    let w = &x[c - 400..c + 400];
    10.0 * (w.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / w.len() as f64).max(1e-20).log10()
}

#[test]
fn the_pitch_heard_is_the_note_played_within_ten_cents() {
    for pitch in [57u8, 69, 76, 81] {
        let x = play(enveloped(), pitch);
        let expected = 440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0);
        let heard = frequency_hz(&x, 1.0, 2.5);
        let cents = 1200.0 * (heard / expected).log2();
        assert!(cents.abs() < 10.0, "pitch {pitch}: heard {heard:.2} Hz for {expected:.2} Hz ({cents:+.1} cents)");
    }
}

#[test]
fn the_loop_holds_the_note_past_its_data_and_a_one_shot_ends_with_it() {
    let looped = play(enveloped(), 69);
    // 0.18 s of data sounds for the whole 3 s hold at the sustain level (offset 254: full scale).
    let (early, late) = (level_db(&looped, 0.9), level_db(&looped, 2.9));
    assert!((early - late).abs() < 0.5, "sustain moved from {early:.1} to {late:.1} dB");
    // Without a loop (and so without sustain or envelope, as TiMidity plays it) the note is over
    // when its 4000 samples at 22 kHz are: 0.18 s at the root pitch.
    let once = play(sine_sample(0, [63; 6], [254; 6]), 69);
    // No envelope: the level while it lasts is the sustain level of the looped note.
    assert!((level_db(&once, 0.1) - late).abs() < 0.5, "{} against {late}", level_db(&once, 0.1));
    let end = (4000.0 / 22_000.0 * 16_000.0) as usize;
    assert!(once[end + 2..].iter().all(|v| *v == 0.0), "a one-shot sample sounds past its data");
}

#[test]
fn the_envelope_attacks_sustains_and_releases_at_its_rates() {
    let x = play(enveloped(), 69);
    // Attack: offset 0 to 254 at 47 * 44100 / 4096 = 506 steps a second, so it is done by
    // 0.50 s; the level is logarithmic in the offset (36 dB over 254 steps).
    let attack_secs = 254.0 / envelope_rate_per_sec(ATTACK);
    assert!((attack_secs - 0.502).abs() < 0.01);
    let rising = level_db(&x, 0.25) - level_db(&x, 0.75);
    let expected = -36.12 * (1.0 - 0.25 / attack_secs);
    assert!((rising - expected).abs() < 1.5, "0.25 s into the attack: {rising:.1} dB, expected {expected:.1}");
    // Release after note off at 3 s: the offset falls at 30 * 44100 / 4096 = 323 steps a second,
    // 45.9 dB a second.
    let db_per_sec = 36.12 / 254.0 * envelope_rate_per_sec(RELEASE);
    let fall = level_db(&x, 3.1) - level_db(&x, 3.4);
    assert!(
        (fall - 0.3 * db_per_sec).abs() < 1.0,
        "release fell {fall:.1} dB in 0.3 s, expected {:.1}",
        0.3 * db_per_sec
    );
    // The last stage ends 254 / 323 = 0.79 s after note off, and the voice with it.
    let end = ((3.0 + 254.0 / envelope_rate_per_sec(RELEASE)) * 16_000.0) as usize;
    assert!(x[end + 20..].iter().all(|v| *v == 0.0), "the voice outlives its envelope");
    assert!(x[end - 200..end - 20].iter().any(|v| *v != 0.0));
}

#[test]
fn velocity_scales_the_level_linearly() {
    let patch = parse(&write(&[enveloped()])).unwrap();
    let loud = render(&patch, &PatchOptions::default(), 69, 127, &NoteSpec::NSYNTH);
    let soft = render(&patch, &PatchOptions::default(), 69, 25, &NoteSpec::NSYNTH);
    let gap = level_db(&loud, 2.0) - level_db(&soft, 2.0);
    assert!((gap - 20.0 * (127.0f64 / 25.0).log10()).abs() < 0.1, "{gap:.2} dB");
}

#[test]
fn a_ping_pong_loop_far_shorter_than_a_step_renders_and_stays_inside_the_loop() {
    // Found by fuzzing: a root frequency of 2 mHz made each step span thousands of loops, and a
    // position landing exactly on the loop's end reflected onto itself for ever.
    let mut sample = sine_sample(MODE_LOOPING | MODE_PINGPONG | MODE_SUSTAIN, [63; 6], [254; 6]);
    sample.root_freq_mhz = 2;
    let start = std::time::Instant::now();
    let x = play(sample, 60);
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    assert!(x.iter().all(|v| v.is_finite()) && x.iter().any(|&v| v != 0.0));
}

#[test]
fn a_ping_pong_flag_without_a_valid_loop_plays_the_sample_once() {
    // Found by fuzzing: the loop was checked only when the looping flag was set, so ping-pong
    // alone kept a loop whose start lay after its end.
    let mut sample = sine_sample(MODE_PINGPONG | MODE_SUSTAIN, [63; 6], [254; 6]);
    (sample.loop_start, sample.loop_end) = (900.0, 100.0);
    let patch = parse(&write(&[sample])).unwrap();
    assert_eq!(patch.samples[0].modes & (MODE_LOOPING | MODE_PINGPONG), 0);
    let x = render(&patch, &PatchOptions::default(), 69, 127, &NoteSpec::NSYNTH);
    assert!(x.iter().all(|v| v.is_finite()));
}
