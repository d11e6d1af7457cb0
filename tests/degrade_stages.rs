//! Every degradation stage against a measured truth: the RT60 of generated rooms (an independent
//! Schroeder fit, here), the codecs' alignment and bit rate, and binaural responses.

mod common;

use std::path::Path;

use timbrescope::audio::load_clip;
use timbrescope::degrade::codec::Codec;
use timbrescope::degrade::eq::Biquad;
use timbrescope::degrade::rir::{RirSpec, room_response};

const SR: u32 = 16_000;

/// The reverberation time from a least-squares line through the Schroeder decay between
/// `from_db` and `to_db`, written apart from the library's so that the two check each other.
fn decay_time(h: &[f32], from_db: f64, to_db: f64) -> f64 {
    let energy: Vec<f64> = h.iter().map(|&x| f64::from(x).powi(2)).collect();
    let total: f64 = energy.iter().sum();
    let mut remaining = total;
    let mut points = Vec::new();
    for (n, e) in energy.iter().enumerate() {
        let db = 10.0 * (remaining / total).log10();
        if db <= from_db && db >= to_db {
            points.push((n as f64 / f64::from(SR), db));
        }
        remaining -= e;
    }
    let m = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (sxx, sxy) = points.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0 * p.0, a.1 + p.0 * p.1));
    let slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    -60.0 / slope
}

fn octave_band(h: &[f32], centre_hz: f64) -> Vec<f32> {
    let mut x = h.to_vec();
    for s in [
        Biquad::high_pass(f64::from(SR), centre_hz / 2f64.sqrt()),
        Biquad::low_pass(f64::from(SR), centre_hz * 2f64.sqrt()),
    ] {
        for _ in 0..2 {
            s.process(&mut x);
        }
    }
    x
}

#[test]
fn rooms_ring_for_the_requested_rt60() {
    for rt60 in [0.2, 0.35, 0.5, 0.8, 1.0, 1.2] {
        for seed in 0..3 {
            let spec = RirSpec { rt60_s: rt60, binaural: false, seed, sofa: None };
            let rir = room_response(&spec, SR).unwrap();
            let h = &rir.channels[0];
            let t30 = decay_time(h, -5.0, -35.0);
            assert!((t30 / rt60 - 1.0).abs() < 0.10, "RT60 {rt60} s, seed {seed}: T30 {t30:.3} s");
            // A straight decay: the first 20 dB give the same time as the first 30.
            let t20 = decay_time(h, -5.0, -25.0);
            assert!((t20 / rt60 - 1.0).abs() < 0.15, "RT60 {rt60} s, seed {seed}: T20 {t20:.3} s");
            assert!((rir.measured_rt60_s - t30).abs() < 0.01 * rt60, "library and test measure alike");
        }
    }
}

#[test]
fn high_frequencies_die_sooner_than_low_ones() {
    let rir = room_response(&RirSpec { rt60_s: 1.0, binaural: false, seed: 4, sofa: None }, SR).unwrap();
    let h = &rir.channels[0];
    let t_500 = decay_time(&octave_band(h, 500.0), -5.0, -35.0);
    let t_4k = decay_time(&octave_band(h, 4000.0), -5.0, -35.0);
    // The tail's 4 kHz band is set to 0.75 of the 500 Hz band's decay time.
    assert!(t_4k < 0.9 * t_500, "500 Hz: {t_500:.3} s, 4 kHz: {t_4k:.3} s");
    assert!((t_500 - 1.0).abs() < 0.15, "{t_500}");
}

#[test]
fn the_same_seed_draws_the_same_room_and_another_seed_another() {
    let spec = RirSpec { rt60_s: 0.6, binaural: false, seed: 9, sofa: None };
    let a = room_response(&spec, SR).unwrap();
    let b = room_response(&spec, SR).unwrap();
    assert_eq!(a.channels, b.channels);
    let c = room_response(&RirSpec { seed: 10, ..spec }, SR).unwrap();
    assert_ne!(a.room, c.room);
}

#[test]
fn binaural_rooms_have_two_ears_the_rt60_and_an_interaural_difference() {
    for rt60 in [0.3, 1.2] {
        let rir = room_response(&RirSpec { rt60_s: rt60, binaural: true, seed: 2, sofa: None }, SR).unwrap();
        assert_eq!(rir.channels.len(), 2);
        let t30 = decay_time(&rir.mid(), -5.0, -35.0);
        assert!((t30 / rt60 - 1.0).abs() < 0.10, "binaural RT60 {rt60}: mid T30 {t30:.3}");
        // The ears differ: the room's source is off to one side.
        let (l, r) = (&rir.channels[0], &rir.channels[1]);
        let diff: f64 = l.iter().zip(r).map(|(a, b)| f64::from(a - b).powi(2)).sum();
        let sum: f64 = l.iter().map(|&a| f64::from(a).powi(2)).sum();
        assert!(diff > 0.05 * sum, "the two ears are nearly identical");
    }
}

fn demo(name: &str) -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo").join(name);
    load_clip(&path).unwrap().samples.to_vec()
}

/// Normalised cross-correlation of `a` and `b` at lag `lag` (b shifted right by lag).
fn correlation(a: &[f32], b: &[f32], lag: i64) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (i, &x) in a.iter().enumerate() {
        let j = i as i64 + lag;
        if j < 0 || j >= b.len() as i64 {
            continue;
        }
        let y = b[j as usize];
        ab += f64::from(x) * f64::from(y);
        aa += f64::from(x).powi(2);
        bb += f64::from(y).powi(2);
    }
    ab / (aa * bb).sqrt().max(1e-30)
}

#[test]
fn codecs_line_up_to_the_sample_and_spend_the_requested_bit_rate() {
    let clean = demo("trumpet_Bb4.wav");
    for codec in [Codec::Mp3, Codec::Opus] {
        for kbps in [24.0, 32.0, 48.0] {
            let out = codec.round_trip(&clean, SR, kbps).unwrap();
            assert_eq!(out.samples.len(), clean.len(), "{codec:?} keeps the length");
            assert!((out.actual_kbps / kbps - 1.0).abs() < 0.10, "{codec:?} {kbps}: {:.2} kbit/s", out.actual_kbps);
            let best = (-300..=300)
                .max_by(|&a, &b| correlation(&clean, &out.samples, a).total_cmp(&correlation(&clean, &out.samples, b)))
                .unwrap();
            assert_eq!(best, 0, "{codec:?} at {kbps} kbit/s lags by {best} samples");
            let rho = correlation(&clean, &out.samples, 0);
            // A trumpet note survives 24 kbit/s recognisably: a broken codec path gives ~0.
            assert!(rho > 0.8, "{codec:?} at {kbps} kbit/s: correlation {rho:.3}");
        }
    }
}

#[test]
fn clips_shorter_than_a_codec_frame_or_the_response_still_work() {
    for len in [1, 100, 319, 1000] {
        let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
        for codec in [Codec::Mp3, Codec::Opus] {
            let out = codec.round_trip(&x, SR, 32.0).unwrap();
            assert_eq!(out.samples.len(), len, "{codec:?} with {len} samples");
        }
    }
}
