//! Played notes from sample libraries. A library plays one looped, steady note; a player
//! breathes, bends, swells and buzzes. An [`Expression`], drawn per note from a seed and its
//! instrument's family, says how this note is played: how long it is held (staccato to the
//! full 3 s), vibrato with a delayed onset, a scoop up into the pitch at the attack, a swell or
//! a decay, the previous note's tail under the attack (a note cut from a legato pair), a noise
//! layer shaped by the note's envelope (breath, bow, pick), and an amplifier and cabinet for
//! electric instruments. Pitch and loudness go through the synthesiser's own controls (pitch
//! bend and expression, [`Controls`]); the layers and the amplifier are applied after it.

pub mod copy;
pub mod layers;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use layers::{Amp, NoiseKind, NoiseLayer};

pub use super::controls::{CONTROL_BLOCK, Controls};
use super::library::LibraryRenderer;
use super::soundfont::{NoteSpec, RenderError};

/// Vibrato: a sine of `rate_hz` and `depth_cents` either way, faded in over 0.2 s after
/// `delay_secs` (a player starts a long note straight, then lets it sing).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vibrato {
    pub rate_hz: f32,
    pub depth_cents: f32,
    pub delay_secs: f32,
}

/// A scoop: the note starts `depth_cents` flat and glides up to pitch over `secs`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scoop {
    pub depth_cents: f32,
    pub secs: f32,
}

/// The loudness over the held note.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Dynamics {
    Flat,
    /// From `from` of full level up to full at the end of the hold.
    Swell {
        from: f32,
    },
    /// From full level down to `to` at the end of the hold.
    Decay {
        to: f32,
    },
}

/// How one note is played.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expression {
    /// Note off after this long; the rest of the 4 s is the release.
    pub hold_secs: f32,
    pub vibrato: Option<Vibrato>,
    pub scoop: Option<Scoop>,
    pub dynamics: Dynamics,
    /// The previous note of a legato pair: its interval in semitones from this one.
    pub legato_from: Option<i8>,
    pub layer: Option<NoiseLayer>,
    pub amp: Option<Amp>,
}

/// How long the previous note of a legato pair sounds on under this one's attack.
pub const LEGATO_OVERLAP_SECS: f32 = 0.06;
/// How long the previous note is held before this one starts.
pub const LEGATO_PREVIOUS_SECS: f32 = 0.5;

impl Expression {
    /// A note played as a library holds it: 3 s, steady.
    pub fn plain(hold_secs: f32) -> Self {
        Self {
            hold_secs,
            vibrato: None,
            scoop: None,
            dynamics: Dynamics::Flat,
            legato_from: None,
            layer: None,
            amp: None,
        }
    }

    /// One draw for an instrument of `family` (the taxonomy's family names); `electric` for
    /// the electric guitar and bass, which go through an amplifier.
    pub fn draw(family: &str, electric: bool, max_hold_secs: f32, rng: &mut impl Rng) -> Self {
        let sustained = matches!(family, "brass" | "reed" | "string");
        let plucked = matches!(family, "guitar" | "bass");
        // Staccato to the full hold, a third each of short, middling and long notes.
        let hold_secs = match rng.random_range(0..3) {
            0 => rng.random_range(0.1..0.5),
            1 => rng.random_range(0.5..1.5),
            _ => rng.random_range(1.5..max_hold_secs.max(1.6)),
        }
        .min(max_hold_secs);
        let vibrato_p = match family {
            "string" => 0.85,
            "brass" | "reed" => 0.7,
            "guitar" | "bass" => 0.15,
            _ => 0.0,
        };
        let vibrato = rng.random_bool(vibrato_p).then(|| Vibrato {
            rate_hz: rng.random_range(4.0..7.0),
            depth_cents: rng.random_range(5.0..40.0),
            delay_secs: rng.random_range(0.1..0.6),
        });
        let scoop = (matches!(family, "brass" | "reed") && rng.random_bool(0.6))
            .then(|| Scoop { depth_cents: rng.random_range(30.0..150.0), secs: rng.random_range(0.04..0.15) });
        let dynamics = if plucked || matches!(family, "keyboard" | "mallet") {
            Dynamics::Flat
        } else {
            match rng.random_range(0..3) {
                0 => Dynamics::Flat,
                1 => Dynamics::Swell { from: rng.random_range(0.3..0.8) },
                _ => Dynamics::Decay { to: rng.random_range(0.3..0.8) },
            }
        };
        let legato_p = if sustained || family == "organ" { 0.3 } else { 0.15 };
        let legato_from = rng.random_bool(legato_p).then(|| {
            let step = rng.random_range(1..=7);
            if rng.random_bool(0.5) { step } else { -step }
        });
        let layer = NoiseLayer::draw(family, rng);
        let amp = (electric && rng.random_bool(0.7)).then(|| Amp::draw(family == "bass", rng));
        Self { hold_secs, vibrato, scoop, dynamics, legato_from, layer, amp }
    }

    /// In words, for the browser: what was drawn.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("held {:.2} s", self.hold_secs)];
        if let Some(v) = self.vibrato {
            parts.push(format!("vibrato {:.1} Hz ±{:.0}¢ from {:.2} s", v.rate_hz, v.depth_cents, v.delay_secs));
        }
        if let Some(s) = self.scoop {
            parts.push(format!("scoop {:.0}¢ over {:.0} ms", s.depth_cents, 1000.0 * s.secs));
        }
        match self.dynamics {
            Dynamics::Flat => {}
            Dynamics::Swell { from } => parts.push(format!("swell from {:.0}%", 100.0 * from)),
            Dynamics::Decay { to } => parts.push(format!("decay to {:.0}%", 100.0 * to)),
        }
        if let Some(step) = self.legato_from {
            parts.push(format!("legato from {step:+} semitones"));
        }
        if let Some(l) = self.layer {
            let kind = match l.kind {
                NoiseKind::Breath => "breath",
                NoiseKind::Bow => "bow",
                NoiseKind::Pick => "pick",
            };
            parts.push(format!("{kind} {:.0} dB", l.level_db));
        }
        if let Some(a) = self.amp {
            parts.push(format!("amplifier, drive {:.1}", a.drive));
        }
        parts.join(", ")
    }

    /// The control curves of a note of `samples` samples at `sample_rate_hz`.
    pub fn controls(&self, samples: usize, sample_rate_hz: u32) -> Controls {
        let blocks = samples.div_ceil(CONTROL_BLOCK);
        let rate = sample_rate_hz as f32;
        let mut cents = Vec::with_capacity(blocks);
        let mut gain = Vec::with_capacity(blocks);
        for b in 0..blocks {
            let t = (b * CONTROL_BLOCK) as f32 / rate;
            let mut c = 0.0f32;
            if let Some(v) = self.vibrato {
                let fade = ((t - v.delay_secs) / 0.2).clamp(0.0, 1.0);
                c += fade * v.depth_cents * (2.0 * std::f32::consts::PI * v.rate_hz * (t - v.delay_secs)).sin();
            }
            if let Some(s) = self.scoop {
                c -= s.depth_cents * (1.0 - (t / s.secs).min(1.0));
            }
            let through = (t / self.hold_secs.max(1e-3)).min(1.0);
            let g = match self.dynamics {
                Dynamics::Flat => 1.0,
                Dynamics::Swell { from } => from + (1.0 - from) * through,
                Dynamics::Decay { to } => 1.0 + (to - 1.0) * through,
            };
            cents.push(c);
            gain.push(g);
        }
        Controls { cents, gain }
    }
}

/// One note as `expression` plays it: through the library's controls, the previous note's
/// tail under its attack, then the noise layer and the amplifier. `spec` gives the length and
/// rate; the hold is the expression's.
pub fn render_expressive(
    renderer: &mut LibraryRenderer,
    program: u8,
    pitch: u8,
    velocity: u8,
    expression: &Expression,
    spec: &NoteSpec,
) -> Result<Vec<f32>, RenderError> {
    let rate = spec.sample_rate_hz;
    let hold_secs = expression.hold_secs.clamp(CONTROL_BLOCK as f32 / rate as f32, spec.duration_secs);
    let played = NoteSpec { hold_secs, ..*spec };
    let controls = expression.controls(spec.num_samples(), rate);
    let mut x = renderer.render_played(program, pitch, velocity, &played, Some(&controls))?;
    if let Some(step) = expression.legato_from {
        // The previous note, started LEGATO_PREVIOUS_SECS earlier and let go just after this
        // one begins: what sounds of it from this note's start on lies under the attack.
        let previous_pitch = (i16::from(pitch) + i16::from(step)).clamp(1, 127) as u8;
        let previous = NoteSpec {
            hold_secs: LEGATO_PREVIOUS_SECS + LEGATO_OVERLAP_SECS,
            duration_secs: spec.duration_secs + LEGATO_PREVIOUS_SECS,
            ..*spec
        };
        let tail = renderer.render_played(program, previous_pitch, velocity, &previous, None)?;
        let from = (LEGATO_PREVIOUS_SECS * rate as f32).round() as usize;
        for (y, p) in x.iter_mut().zip(tail.iter().skip(from)) {
            *y += p;
        }
    }
    if let Some(layer) = &expression.layer {
        let noise = layer.render(&x, rate);
        x.iter_mut().zip(noise).for_each(|(y, n)| *y += n);
    }
    if let Some(amp) = &expression.amp {
        x = amp.apply(&x, rate);
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    #[test]
    fn the_curves_follow_the_drawn_vibrato_scoop_and_swell() {
        let e = Expression {
            vibrato: Some(Vibrato { rate_hz: 5.0, depth_cents: 20.0, delay_secs: 0.5 }),
            scoop: Some(Scoop { depth_cents: 100.0, secs: 0.1 }),
            dynamics: Dynamics::Swell { from: 0.5 },
            ..Expression::plain(2.0)
        };
        let c = e.controls(64_000, 16_000);
        assert_eq!(c.cents.len(), 1000);
        // 100 cents flat at the start, 52 at the block from 48 ms (sample 768, inside it at
        // 800), at pitch from 0.1 s to the vibrato.
        assert!((c.at(0).0 + 100.0).abs() < 1e-3);
        assert!((c.at(800).0 + 52.0).abs() < 1e-3);
        assert!(c.at(4000).0.abs() < 1e-3);
        // Full vibrato from 0.7 s; its crests lie 0.25 s + k 0.2 s after its start at 0.5 s, and
        // the block in force at 0.75 s began 2 ms earlier (cos(2 pi 5 Hz 2 ms) = 0.998).
        assert!((c.at(12_000).0 - 20.0).abs() < 0.1);
        // The swell: half level at the start, full at the end of the hold and after.
        assert!((c.at(0).1 - 0.5).abs() < 1e-3 && (c.at(32_000).1 - 1.0).abs() < 1e-3);
        assert!((c.at(16_000).1 - 0.75).abs() < 1e-3);
    }

    #[test]
    fn a_description_names_what_was_drawn() {
        let e = Expression {
            vibrato: Some(Vibrato { rate_hz: 5.0, depth_cents: 20.0, delay_secs: 0.3 }),
            legato_from: Some(-3),
            ..Expression::plain(0.5)
        };
        assert_eq!(e.describe(), "held 0.50 s, vibrato 5.0 Hz ±20¢ from 0.30 s, legato from -3 semitones");
    }

    #[test]
    fn draws_stay_in_their_ranges_and_follow_the_family() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..500 {
            let e = Expression::draw("brass", false, 3.0, &mut rng);
            assert!((0.1..=3.0).contains(&e.hold_secs));
            if let Some(v) = e.vibrato {
                assert!((4.0..7.0).contains(&v.rate_hz) && (5.0..40.0).contains(&v.depth_cents));
            }
            assert!(e.amp.is_none());
            let piano = Expression::draw("keyboard", false, 3.0, &mut rng);
            assert!(piano.vibrato.is_none() && piano.scoop.is_none() && piano.dynamics == Dynamics::Flat);
        }
        let seeded = |s| Expression::draw("reed", false, 3.0, &mut rand_chacha::ChaCha8Rng::seed_from_u64(s));
        assert_eq!(seeded(9), seeded(9), "a seed gives the same note");
    }
}
