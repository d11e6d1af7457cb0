//! Where the latest note in a live window begins, so the running prediction hears the note from
//! its onset, as the model was trained, and not the tail of the one before.

/// Samples per energy frame (16 ms).
const FRAME: usize = 256;
/// A rise of this much over the quietest of the frames just before is an onset.
const RISE_DB: f32 = 10.0;
/// Frames looked back for that quietest one (96 ms).
const LOOK_BACK: usize = 6;
/// An onset must come within this much of the window's loudest frame, and above silence.
const BELOW_PEAK_DB: f32 = 40.0;
const SILENCE_DBFS: f32 = -60.0;

/// The sample where the latest note that has sounded for at least `min_len` samples begins, if
/// the window holds an onset (a rise of 10 dB within 96 ms); None for a window inside one note.
pub fn latest_onset(samples: &[f32], min_len: usize) -> Option<usize> {
    let energy: Vec<f32> = samples
        .chunks(FRAME)
        .map(|c| {
            let power = c.iter().map(|x| x * x).sum::<f32>() / c.len() as f32;
            10.0 * power.max(1e-12).log10()
        })
        .collect();
    let peak = energy.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let rises = |i: usize| {
        let before = energy[i.saturating_sub(LOOK_BACK)..i].iter().copied().fold(f32::INFINITY, f32::min);
        i > 0 && energy[i] - before >= RISE_DB && energy[i] >= peak - BELOW_PEAK_DB && energy[i] > SILENCE_DBFS
    };
    let latest = (1..energy.len()).rev().filter(|&i| (energy.len() - i) * FRAME >= min_len).find(|&i| rises(i))?;
    // The first frame of that rise.
    let mut first = latest;
    while first > 1 && rises(first - 1) {
        first -= 1;
    }
    Some(first * FRAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(len: usize, hz: f32, amplitude: f32) -> Vec<f32> {
        (0..len).map(|i| amplitude * (std::f32::consts::TAU * hz * i as f32 / 16_000.0).sin()).collect()
    }

    #[test]
    fn finds_the_second_notes_onset_and_none_inside_a_note() {
        // A loud note, 50 ms of silence, then a quieter one from sample 33,600.
        let mut window = note(32_800, 440.0, 0.5);
        window.extend(vec![0.0; 800]);
        window.extend(note(30_400, 330.0, 0.1));
        let onset = latest_onset(&window, 4_000).unwrap();
        assert!((onset as i64 - 33_600).abs() <= 256, "onset at {onset}");
        // Too young to be heard yet: the one before it (the window's own start has none).
        assert_eq!(latest_onset(&window, 40_000), None);
        // Inside one note there is none.
        assert_eq!(latest_onset(&note(64_000, 440.0, 0.5), 4_000), None);
        // A note out of silence: its start.
        let mut late = vec![0.0; 16_000];
        late.extend(note(48_000, 220.0, 0.3));
        let onset = latest_onset(&late, 4_000).unwrap();
        assert!((onset as i64 - 16_000).abs() <= 256, "onset at {onset}");
    }
}
