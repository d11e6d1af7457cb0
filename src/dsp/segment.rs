//! The notes of a played phrase: where each starts (an attack in the spectral flux, a change of
//! pitch under a slur, or sound after silence), where it fades, and its pitch from the track.

use super::pitch_track::{HOP, pitch_track};
use super::{Scale, Stft, StftConfig};

/// One note found in a phrase; sample positions at the phrase's rate.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteSegment {
    pub start: usize,
    pub end: usize,
    /// The median of the note's voiced frames (fractional MIDI).
    pub midi: f32,
    /// The nearest MIDI note.
    pub pitch: u8,
    /// The share of the note's frames within half a semitone of `midi`.
    pub stability: f32,
}

/// Frames a pitch must hold on each side of a slurred change (80 ms).
const PITCH_SIDE: usize = 5;
/// A slurred change of at least this many semitones starts a note; vibrato (up to ±40 cents)
/// and bends under it do not.
const PITCH_JUMP: f32 = 0.7;
/// Onsets closer than this (96 ms) are one.
const MIN_GAP: usize = 6;
/// A note ends where its level falls this far under its peak.
const FADE_DB: f32 = 35.0;
/// Frames quieter than the phrase's peak by more than this are silence.
const SILENCE_DB: f32 = 45.0;
/// The frames after an onset left out of the pitch (the attack's transient and scoop: 48 ms).
const ATTACK_FRAMES: usize = 3;
/// A note needs this many frames (96 ms) of steady pitch, and this share of its frames steady.
const MIN_STEADY: usize = 6;
const MIN_STABILITY: f32 = 0.5;
/// The flux peak's height above its neighbourhood's mean, as a share of the phrase's highest.
const FLUX_DELTA: f32 = 0.08;

/// The notes of a monophonic phrase at `sample_rate_hz`, in order.
pub fn segment_notes(samples: &[f32], sample_rate_hz: u32) -> Vec<NoteSegment> {
    let track = pitch_track(samples, sample_rate_hz);
    let frames = track.len();
    if frames < 2 * MIN_STEADY {
        return Vec::new();
    }
    // Levels of each hop's own samples: the track's 64-ms windows would hear a note 48 ms
    // before it starts.
    let level: Vec<f32> = (0..frames)
        .map(|t| {
            let block = &samples[t * HOP..((t + 1) * HOP).min(samples.len())];
            let power = block.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / block.len().max(1) as f64;
            (10.0 * power.max(1e-20).log10()) as f32
        })
        .collect();
    let peak_db = level.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sounding: Vec<bool> = level.iter().map(|&l| l > peak_db - SILENCE_DB).collect();
    // The track's frame t covers [t HOP, t HOP + 1024); the flux's is centred on t HOP, so the
    // track is read two frames later to describe the same instant.
    let pitch_at = |t: usize| track.get(t + 2).and_then(|f| f.midi.filter(|_| f.aperiodicity < 0.25));
    let mut onsets = flux_onsets(samples, sample_rate_hz, frames);
    onsets.extend(pitch_changes(frames, &pitch_at, &sounding));
    // Sound after silence is a note's start.
    onsets.extend((0..frames).filter(|&t| sounding[t] && (t == 0 || !sounding[t - 1])));
    onsets.sort_unstable();
    let mut merged: Vec<usize> = Vec::new();
    for t in onsets {
        match merged.last() {
            Some(&last) if t < last + MIN_GAP => {}
            _ => merged.push(t),
        }
    }
    let mut notes = Vec::new();
    for (i, &on) in merged.iter().enumerate() {
        let next = merged.get(i + 1).copied().unwrap_or(frames);
        if let Some(note) = describe(&level, on, next, &pitch_at, samples.len()) {
            notes.push(note);
        }
    }
    notes
}

/// A note from onset `on` up to the next onset, or None when it has no steady pitch.
fn describe(
    level: &[f32],
    on: usize,
    next: usize,
    pitch_at: &impl Fn(usize) -> Option<f32>,
    len: usize,
) -> Option<NoteSegment> {
    let peak = level[on..next].iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let end = (on..next).rev().find(|&t| level[t] > peak - FADE_DB).map_or(on, |t| t + 1);
    let body: Vec<f32> = (on + ATTACK_FRAMES..end).filter_map(pitch_at).collect();
    if body.len() < MIN_STEADY {
        return None;
    }
    let mut sorted = body.clone();
    sorted.sort_unstable_by(f32::total_cmp);
    let midi = sorted[sorted.len() / 2];
    let steady = body.iter().filter(|&&m| (m - midi).abs() <= 0.5).count();
    let considered = end.saturating_sub(on + ATTACK_FRAMES).max(1);
    let stability = steady as f32 / considered as f32;
    if steady < MIN_STEADY || stability < MIN_STABILITY || !(0.0..=127.0).contains(&midi) {
        return None;
    }
    Some(NoteSegment {
        start: (on * HOP).min(len),
        end: (end * HOP).min(len),
        midi,
        pitch: midi.round() as u8,
        stability,
    })
}

/// Peaks of the positive log-spectral flux above their neighbourhood's mean.
fn flux_onsets(samples: &[f32], sample_rate_hz: u32, frames: usize) -> Vec<usize> {
    let config = StftConfig { n_fft: 1024, hop_len: HOP, sample_rate_hz };
    let Ok(mut stft) = Stft::new(config) else { return Vec::new() };
    let spec = stft.compute(samples, Scale::Linear);
    let n = spec.frames.min(frames);
    let mut flux = vec![0.0f32; n];
    for (t, flux) in flux.iter_mut().enumerate().skip(1) {
        *flux = spec
            .frame(t)
            .iter()
            .zip(spec.frame(t - 1))
            .map(|(&a, &b)| ((1.0 + 100.0 * a).ln() - (1.0 + 100.0 * b).ln()).max(0.0))
            .sum();
    }
    let top = flux.iter().copied().fold(0.0f32, f32::max);
    if top <= 0.0 {
        return Vec::new();
    }
    (1..n)
        .filter(|&t| {
            let (lo, hi) = (t.saturating_sub(3), (t + 4).min(n));
            let is_max = flux[lo..hi].iter().all(|&v| v <= flux[t]);
            let (mlo, mhi) = (t.saturating_sub(10), (t + 6).min(n));
            let mean = flux[mlo..mhi].iter().sum::<f32>() / (mhi - mlo) as f32;
            is_max && flux[t] > mean + FLUX_DELTA * top
        })
        .collect()
}

/// Frames where a held pitch moves to another by at least [`PITCH_JUMP`] semitones: the largest
/// jump of each run of frames that qualify.
fn pitch_changes(frames: usize, pitch_at: &impl Fn(usize) -> Option<f32>, sounding: &[bool]) -> Vec<usize> {
    let median = |range: std::ops::Range<usize>| {
        let mut v: Vec<f32> = range.filter_map(pitch_at).collect();
        if v.len() < PITCH_SIDE - 1 {
            return None;
        }
        v.sort_unstable_by(f32::total_cmp);
        Some(v[v.len() / 2])
    };
    let jump = |t: usize| {
        if t < PITCH_SIDE || t + PITCH_SIDE > frames || !sounding[t] {
            return 0.0;
        }
        match (median(t - PITCH_SIDE..t), median(t..t + PITCH_SIDE)) {
            (Some(a), Some(b)) => (b - a).abs(),
            _ => 0.0,
        }
    };
    let jumps: Vec<f32> = (0..frames).map(jump).collect();
    (1..frames.saturating_sub(1))
        .filter(|&t| {
            jumps[t] >= PITCH_JUMP
                && jumps[t.saturating_sub(PITCH_SIDE)..(t + PITCH_SIDE).min(frames)].iter().all(|&j| j <= jumps[t])
                && (t == 0 || jumps[t - 1] < jumps[t])
        })
        .collect()
}

/// How much of the recording a cut note keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutKind {
    /// The note alone, up to its end, then silence: as NSynth holds a note.
    #[default]
    Note,
    /// The recording from the note's start on: the note and whatever follows it, as a window
    /// cut from a performance holds it.
    Window,
}

/// A note cut out of its phrase: `len` samples from `from` (its start, or a point inside it),
/// up to the note's end (or, for a window, the recording's) with a 20 ms fade, then silence.
pub fn cut_note(
    samples: &[f32],
    note: &NoteSegment,
    from: usize,
    len: usize,
    kind: CutKind,
    sample_rate_hz: u32,
) -> Vec<f32> {
    let fade = (sample_rate_hz as usize / 50).max(1);
    let from = from.min(note.end);
    let end = match kind {
        CutKind::Note => note.end,
        CutKind::Window => samples.len(),
    };
    let stop = end.min(from + len).min(samples.len());
    let mut out = vec![0.0f32; len];
    let body = &samples[from..stop];
    out[..body.len()].copy_from_slice(body);
    let n = body.len();
    for k in 0..fade.min(n) {
        out[n - 1 - k] *= k as f32 / fade as f32;
    }
    // A 2 ms fade in, so a cut inside a note does not start with a click.
    let fade_in = (sample_rate_hz as usize / 500).max(1);
    for (k, v) in out.iter_mut().enumerate().take(fade_in.min(n)) {
        *v *= k as f32 / fade_in as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::notes::midi_to_hz;

    /// A phrase of harmonic notes (MIDI, start s, length s, vibrato cents), each with a 20 ms
    /// attack and a 60 ms release, gaps silent; the phase runs on across slurred notes.
    fn phrase(notes: &[(f64, f64, f64, f64)], secs: f64) -> Vec<f32> {
        let rate = 16_000.0;
        let mut out = vec![0.0f32; (secs * rate) as usize];
        for &(midi, start, len, cents) in notes {
            let mut phase = 0.0f64;
            let s0 = (start * rate) as usize;
            let n = (len * rate) as usize;
            for i in 0..n {
                let t = i as f64 / rate;
                let vib = cents / 100.0 * (2.0 * std::f64::consts::PI * 5.5 * t).sin();
                phase += 2.0 * std::f64::consts::PI * midi_to_hz(midi + vib) / rate;
                let env = (t / 0.02).min(1.0) * ((len - t) / 0.06).clamp(0.0, 1.0);
                let x: f64 = (1..=5).map(|h| (h as f64 * phase).sin() / h as f64).sum();
                out[s0 + i] += (0.25 * env * x) as f32;
            }
        }
        out
    }

    #[test]
    fn a_phrase_with_slurs_gaps_and_vibrato_is_cut_into_its_notes() {
        // Separate notes, a slur from 67 to 72 (no gap, no new attack: the release and attack
        // overlap), a repeated pitch after a gap, a low note, and 30 cents of vibrato on one.
        let notes = [
            (60.0, 0.10, 0.50, 0.0),
            (64.0, 0.70, 0.40, 30.0),
            (67.0, 1.20, 0.60, 0.0),
            (72.0, 1.74, 0.50, 0.0),
            (72.0, 2.40, 0.40, 0.0),
            (45.0, 3.00, 0.70, 0.0),
        ];
        let x = phrase(&notes, 4.0);
        let found = segment_notes(&x, 16_000);
        let got: Vec<(u8, f64)> = found.iter().map(|n| (n.pitch, n.start as f64 / 16_000.0)).collect();
        assert_eq!(found.len(), notes.len(), "found {got:?}");
        for (n, &(midi, start, len, _)) in found.iter().zip(&notes) {
            assert_eq!(n.pitch, midi as u8, "found {got:?}");
            // Two hops (32 ms): the flux's frames and the slur's median windows.
            let start_err = n.start as f64 / 16_000.0 - start;
            assert!(start_err.abs() < 0.04, "note {midi} at {start} s found at {got:?}");
            // The end lies inside the release, or at the next onset under a slur.
            let end = n.end as f64 / 16_000.0;
            assert!(end > start + 0.6 * len && end < start + len + 0.1, "note {midi} ends at {end} s");
        }
    }

    #[test]
    fn noise_alone_gives_no_notes() {
        let mut state = 7u32;
        let noise: Vec<f32> = (0..32_000)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                0.3 * ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
            })
            .collect();
        assert!(segment_notes(&noise, 16_000).is_empty());
    }

    #[test]
    fn a_cut_note_holds_its_samples_then_silence() {
        let x: Vec<f32> = (0..16_000).map(|i| ((i as f32) * 0.05).sin()).collect();
        let note = NoteSegment { start: 1000, end: 9000, midi: 60.0, pitch: 60, stability: 1.0 };
        let cut = cut_note(&x, &note, 1000, 64_000, CutKind::Note, 16_000);
        assert_eq!(cut.len(), 64_000);
        // Past the 2 ms fade in and before the 20 ms fade out: the phrase itself.
        assert_eq!(&cut[100..7000], &x[1100..8000]);
        assert!(cut[8000..].iter().all(|&v| v == 0.0));
        // Cut from its middle: the second half, then silence.
        let mid = cut_note(&x, &note, 5000, 64_000, CutKind::Note, 16_000);
        assert_eq!(&mid[100..3000], &x[5100..8000]);
        assert!(mid[4000..].iter().all(|&v| v == 0.0));
        // A window keeps what follows the note, to the recording's end.
        let window = cut_note(&x, &note, 1000, 64_000, CutKind::Window, 16_000);
        assert_eq!(&window[100..14_000], &x[1100..15_000]);
        assert!(window[15_000..].iter().all(|&v| v == 0.0));
    }
}
