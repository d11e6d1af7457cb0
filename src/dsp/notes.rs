//! Equal-tempered note names and MIDI numbers (A4 = 440 Hz = MIDI 69).

const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

pub const A4_HZ: f64 = 440.0;

/// Fractional MIDI note number of a frequency.
pub fn hz_to_midi(freq_hz: f64) -> f64 {
    69.0 + 12.0 * (freq_hz / A4_HZ).log2()
}

pub fn midi_to_hz(midi: f64) -> f64 {
    A4_HZ * 2f64.powf((midi - 69.0) / 12.0)
}

/// Name of a MIDI note, e.g. 69 -> "A4", 61 -> "C#4" (scientific pitch notation).
pub fn midi_name(midi: i32) -> String {
    let pitch_class = midi.rem_euclid(12) as usize;
    let octave = midi.div_euclid(12) - 1;
    format!("{}{}", NAMES[pitch_class], octave)
}

/// Nearest note name and the deviation from it in cents, e.g. 446 Hz -> ("A4", 23.5).
pub fn hz_to_note(freq_hz: f64) -> Option<(String, f64)> {
    if !(freq_hz.is_finite() && freq_hz > 0.0) {
        return None;
    }
    let midi = hz_to_midi(freq_hz);
    let nearest = midi.round();
    Some((midi_name(nearest as i32), (midi - nearest) * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_frequencies() {
        assert_eq!(midi_name(69), "A4");
        assert_eq!(midi_name(60), "C4");
        assert_eq!(midi_name(24), "C1");
        assert_eq!(midi_name(61), "C#4");
        assert!((midi_to_hz(24.0) - 32.703).abs() < 1e-3);
        let (name, cents) = hz_to_note(446.0).unwrap();
        assert_eq!(name, "A4");
        assert!((cents - 23.45).abs() < 0.1, "{cents}");
        assert!(hz_to_note(0.0).is_none());
    }
}
