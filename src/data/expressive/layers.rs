//! What a player adds beside the pitch: noise layers that follow the note's envelope (breath in
//! a reed or a mouthpiece, the bow's hair on the string, the pick or finger on a string), and
//! the amplifier and loudspeaker cabinet an electric guitar or bass is heard through.

use rand::{Rng, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::degrade::eq::Biquad;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// Air: noise around 1-3 kHz for as long as the note sounds.
    Breath,
    /// Bow hair: bright noise, for as long as the note sounds.
    Bow,
    /// Pick or finger: a burst of bright noise at the attack.
    Pick,
}

/// A noise layer `level_db` relative to the note (RMS to RMS over the sounding note; for a
/// pick, peak to peak), from its own seed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NoiseLayer {
    pub kind: NoiseKind,
    pub level_db: f32,
    pub seed: u64,
}

/// Envelope follower's smoothing: 10 ms, the scale of a breath's or bow's change.
const ENVELOPE_SECS: f32 = 0.01;
/// A pick's burst decays by e in this long.
const PICK_DECAY_SECS: f32 = 0.004;

impl NoiseLayer {
    pub fn draw(family: &str, rng: &mut impl Rng) -> Option<Self> {
        let (kind, lo, hi) = match family {
            "brass" | "reed" => (NoiseKind::Breath, -34.0, -18.0),
            "string" => (NoiseKind::Bow, -36.0, -22.0),
            "guitar" | "bass" => (NoiseKind::Pick, -14.0, -4.0),
            _ => return None,
        };
        rng.random_bool(0.8).then(|| Self { kind, level_db: rng.random_range(lo..hi), seed: rng.random() })
    }

    /// The layer alone for `note` at `sample_rate_hz` (add it to the note).
    pub fn render(&self, note: &[f32], sample_rate_hz: u32) -> Vec<f32> {
        let sr = f64::from(sample_rate_hz);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut noise: Vec<f32> = (0..note.len()).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        match self.kind {
            NoiseKind::Breath => Biquad::band_pass(sr, 1800.0, 0.7).process(&mut noise),
            NoiseKind::Bow => {
                Biquad::high_pass(sr, 2500.0).process(&mut noise);
                Biquad::low_pass(sr, (sr * 0.45).min(7000.0)).process(&mut noise);
            }
            NoiseKind::Pick => Biquad::high_pass(sr, 1500.0).process(&mut noise),
        }
        let gain = 10f32.powf(self.level_db / 20.0);
        match self.kind {
            NoiseKind::Breath | NoiseKind::Bow => {
                let env = envelope(note, sample_rate_hz);
                let shaped: Vec<f32> = noise.iter().zip(&env).map(|(n, e)| n * e).collect();
                let scale = gain * rms(note) / rms(&shaped).max(1e-12);
                shaped.into_iter().map(|v| v * scale).collect()
            }
            NoiseKind::Pick => {
                // The burst starts with the note's first sound.
                let peak = note.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let start = note.iter().position(|v| v.abs() > 0.01 * peak).unwrap_or(0);
                let tau = PICK_DECAY_SECS * sample_rate_hz as f32;
                let mut burst = vec![0.0f32; note.len()];
                for (k, (b, n)) in
                    burst[start..].iter_mut().zip(&noise[start..]).enumerate().take((12.0 * tau) as usize)
                {
                    *b = n * (-(k as f32) / tau).exp();
                }
                let burst_peak = burst.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
                let scale = gain * peak / burst_peak;
                burst.into_iter().map(|v| v * scale).collect()
            }
        }
    }
}

/// RMS over the samples louder than 1/1000 of the peak (-60 dB): the sounding note.
pub fn rms(x: &[f32]) -> f32 {
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let sounding: Vec<f64> = x.iter().filter(|v| v.abs() > 1e-3 * peak).map(|&v| f64::from(v) * f64::from(v)).collect();
    if sounding.is_empty() { 0.0 } else { (sounding.iter().sum::<f64>() / sounding.len() as f64).sqrt() as f32 }
}

/// A smoothed amplitude envelope: the RMS of the last [`ENVELOPE_SECS`], one-pole.
fn envelope(x: &[f32], sample_rate_hz: u32) -> Vec<f32> {
    let a = (-1.0 / (ENVELOPE_SECS * sample_rate_hz as f32)).exp();
    let mut power = 0.0f32;
    x.iter()
        .map(|&v| {
            power = a * power + (1.0 - a) * v * v;
            power.sqrt()
        })
        .collect()
}

/// An amplifier and its cabinet: a drive into a soft clipper, a three-band tone stack, and a
/// loudspeaker's band (a high-pass under the lowest string, a resonance, a steep top).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Amp {
    /// Gain into the clipper (1: almost clean).
    pub drive: f32,
    pub bass_db: f32,
    pub mid_db: f32,
    pub treble_db: f32,
    /// The cabinet's top: two low-passes here.
    pub cabinet_hz: f32,
    /// Bass cabinets reach lower and stop earlier.
    pub bass: bool,
}

impl Amp {
    pub fn draw(bass: bool, rng: &mut impl Rng) -> Self {
        Self {
            drive: rng.random_range(1.0..8.0),
            bass_db: rng.random_range(-6.0..6.0),
            mid_db: rng.random_range(-6.0..6.0),
            treble_db: rng.random_range(-6.0..6.0),
            cabinet_hz: if bass { rng.random_range(2000.0..4000.0) } else { rng.random_range(3500.0..6000.0) },
            bass,
        }
    }

    /// The note through the amplifier, at the loudness it went in (RMS).
    pub fn apply(&self, note: &[f32], sample_rate_hz: u32) -> Vec<f32> {
        let sr = f64::from(sample_rate_hz);
        let peak = note.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        let drive = self.drive.max(1e-3);
        // The drive acts on the note scaled to full level, as an amplifier's input stage sees a
        // pickup whatever the library's gain.
        let mut y: Vec<f32> = note.iter().map(|&v| (drive * v / peak).tanh() / drive.tanh()).collect();
        let nyquist = 0.45 * sr;
        let sections = [
            Biquad::low_shelf(sr, if self.bass { 100.0 } else { 200.0 }, f64::from(self.bass_db)),
            Biquad::peaking(sr, if self.bass { 500.0 } else { 800.0 }, f64::from(self.mid_db), 0.8),
            Biquad::high_shelf(
                sr,
                f64::min(if self.bass { 1500.0 } else { 3000.0 }, nyquist),
                f64::from(self.treble_db),
            ),
            Biquad::high_pass(sr, if self.bass { 35.0 } else { 75.0 }),
            Biquad::peaking(sr, if self.bass { 80.0 } else { 110.0 }, 3.0, 1.5),
            Biquad::low_pass(sr, f64::from(self.cabinet_hz).min(nyquist)),
            Biquad::low_pass(sr, f64::from(self.cabinet_hz).min(nyquist)),
        ];
        for s in &sections {
            s.process(&mut y);
        }
        let scale = rms(note) / rms(&y).max(1e-12);
        y.iter_mut().for_each(|v| *v *= scale);
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f32, release_at: f32) -> Vec<f32> {
        (0..(secs * 16_000.0) as usize)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let env = (t / 0.02).min(1.0) * if t < release_at { 1.0 } else { (-(t - release_at) / 0.05).exp() };
                0.5 * env * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn breath_and_bow_layers_sit_at_their_level_under_the_note_and_end_with_it() {
        let note = tone(2.0, 1.0);
        for kind in [NoiseKind::Breath, NoiseKind::Bow] {
            let layer = NoiseLayer { kind, level_db: -24.0, seed: 5 }.render(&note, 16_000);
            let level = 20.0 * (rms(&layer) / rms(&note)).log10();
            // Measured over each one's sounding part: the scale is set on these RMS values, so
            // only the -60 dB gate's choice of samples differs.
            assert!((level + 24.0).abs() < 1.0, "{kind:?}: {level:.2} dB");
            // After the release the layer has faded with the note (its envelope 60 dB down).
            let tail = rms(&layer[(1.6 * 16_000.0) as usize..]);
            assert!(tail < 1e-3 * rms(&layer[..16_000]), "{kind:?} goes on after the note");
        }
    }

    #[test]
    fn a_pick_is_a_burst_at_the_attack_at_its_level() {
        let mut note = vec![0.0f32; 800];
        note.extend(tone(1.0, 0.5));
        let pick = NoiseLayer { kind: NoiseKind::Pick, level_db: -6.0, seed: 2 }.render(&note, 16_000);
        assert!(pick[..800].iter().all(|&v| v == 0.0), "nothing before the note");
        let peak = pick.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((20.0 * (peak / 0.5).log10() + 6.0).abs() < 0.01);
        // Gone within 12 decay constants (48 ms).
        assert!(pick[800 + 800..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn the_amplifier_keeps_the_loudness_and_drive_adds_harmonics() {
        let note = tone(1.0, 0.8);
        let clean = Amp { drive: 1.0, bass_db: 0.0, mid_db: 0.0, treble_db: 0.0, cabinet_hz: 6000.0, bass: false };
        let driven = Amp { drive: 8.0, ..clean };
        let third = |x: &[f32]| {
            // The third harmonic's amplitude against the fundamental's, by correlation.
            let amp = |f: f32| {
                let (mut s, mut c) = (0.0f32, 0.0f32);
                for (i, &v) in x[1600..12_800].iter().enumerate() {
                    let w = 2.0 * std::f32::consts::PI * f * (i + 1600) as f32 / 16_000.0;
                    s += v * w.sin();
                    c += v * w.cos();
                }
                (s * s + c * c).sqrt()
            };
            amp(660.0) / amp(220.0)
        };
        // The slow oracle: the third harmonic of tanh(A sin) against its first, by numerical
        // Fourier integration over one period.
        let oracle = |a: f64| {
            let n = 100_000;
            let (mut h1, mut h3) = (0.0f64, 0.0f64);
            for k in 0..n {
                let th = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
                let y = (a * th.sin()).tanh();
                h1 += y * th.sin();
                h3 += y * (3.0 * th).sin();
            }
            (h3 / h1).abs()
        };
        for (amp, drive) in [(clean, 1.0), (driven, 8.0)] {
            let y = amp.apply(&note, 16_000);
            assert!((rms(&y) / rms(&note) - 1.0).abs() < 1e-3);
            // The flat tone stack and the cabinet's band pass 220 and 660 Hz within 0.5 dB of
            // each other (the 110 Hz resonance reaches 220 Hz): 6% either way.
            let (measured, expected) = (f64::from(third(&y)), oracle(drive));
            assert!((measured / expected - 1.0).abs() < 0.06, "drive {drive}: {measured:.4} against {expected:.4}");
        }
    }
}
