//! A small download in NSynth's layout (nsynth-train, nsynth-valid and nsynth-test under one
//! root) whose notes span all 11 families, with NSynth's labels and qualities.

use std::path::{Path, PathBuf};

use timbrescope::data::dataset::NOTE_SAMPLES;
use timbrescope::data::schema::NSYNTH_QUALITIES;
use timbrescope::data::taxonomy::{NSYNTH_FAMILIES, NSYNTH_SOURCES};

/// A note of family `f` at `pitch`: partials whose strengths and decay depend on the family, so
/// the families differ in what the model sees.
pub fn tone(f: usize, pitch: u8, velocity: u8) -> Vec<f32> {
    let f0 = 440.0 * 2f32.powf((f32::from(pitch) - 69.0) / 12.0);
    let decay = 0.5 + f as f32 * 0.3;
    let gain = 0.05 + 0.25 * f32::from(velocity) / 127.0;
    (0..NOTE_SAMPLES)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let partials: f32 = (1..=6)
                .filter(|k| f0 * *k as f32 <= 7_500.0)
                .map(|k| (std::f32::consts::TAU * f0 * k as f32 * t).sin() / (k as f32).powf(0.3 + f as f32 * 0.25))
                .sum();
            gain * partials * (-t * decay).exp()
        })
        .collect()
}

fn record(f: usize, instrument: usize, pitch: u8, velocity: u8, qualities: u16) -> (String, serde_json::Value) {
    let family = NSYNTH_FAMILIES[f];
    let source = NSYNTH_SOURCES[(f + instrument) % 3];
    let instrument_str = format!("{family}_{source}_{instrument:03}");
    let note_str = format!("{instrument_str}-{pitch:03}-{velocity:03}");
    let flags: Vec<u8> = (0..10).map(|q| (qualities >> q & 1) as u8).collect();
    let names: Vec<&str> = (0..10).filter(|q| qualities >> q & 1 == 1).map(|q| NSYNTH_QUALITIES[q]).collect();
    let value = serde_json::json!({
        "qualities": flags,
        "pitch": pitch,
        "note": 1000 * f + usize::from(pitch),
        "instrument_source_str": source,
        "velocity": velocity,
        "instrument_str": instrument_str,
        "instrument": 100 * f + instrument,
        "sample_rate": 16000,
        "qualities_str": names,
        "instrument_source": (f + instrument) % 3,
        "note_str": note_str,
        "instrument_family": f,
        "instrument_family_str": family,
    });
    (note_str, value)
}

/// Writes one split folder: `instruments` instruments per family, `pitches` pitches each.
fn split(root: &Path, name: &str, first_instrument: usize, pitches: &[u8]) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("audio")).unwrap();
    let mut examples = serde_json::Map::new();
    for f in 0..NSYNTH_FAMILIES.len() {
        for (k, &pitch) in pitches.iter().enumerate() {
            let velocity = [25, 50, 75, 100, 127][(f + k) % 5];
            // Bright (0) for the upper half of the families, dark (1) for the lower; percussive (7)
            // for every third.
            let qualities = (if f >= 6 { 1 } else { 2 }) | if f % 3 == 0 { 1 << 7 } else { 0 };
            let (note_str, value) = record(f, first_instrument, pitch, velocity, qualities);
            let clip = timbrescope::audio::Clip::new(note_str.clone(), tone(f, pitch, velocity), 16000);
            timbrescope::audio::save_wav_pcm16(&dir.join("audio").join(format!("{note_str}.wav")), &clip).unwrap();
            examples.insert(note_str, value);
        }
    }
    std::fs::write(dir.join("examples.json"), serde_json::to_string_pretty(&examples).unwrap()).unwrap();
}

/// An NSynth download's root: 11 families x 6 train, 2 valid and 2 test notes; the test split's
/// instruments are not the train split's, as in NSynth.
pub fn download(dir: &Path) -> PathBuf {
    let root = dir.join("nsynth");
    split(&root, "nsynth-train", 1, &[48, 52, 55, 60, 64, 67]);
    split(&root, "nsynth-valid", 1, &[50, 62]);
    split(&root, "nsynth-test", 7, &[53, 65]);
    root
}
