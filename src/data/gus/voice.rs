//! One note played from a GUS patch as TiMidity 0.2i plays it (the reference reader of the
//! format, also carried by libtimidity and SDL_mixer): the sample whose key range holds the note,
//! resampled by linear interpolation (as rustysynth does for SF2), looped while the note is held
//! or an envelope fades it, and shaped by the patch's six-stage envelope. The patch's vibrato
//! and tremolo are not applied, so every library's notes are rendered without modulation alike.

use super::patch::{MODE_ENVELOPE, MODE_LOOPING, MODE_PINGPONG, MODE_SUSTAIN, Patch, PatchSample};
use crate::data::controls::Controls;
use crate::data::soundfont::NoteSpec;

/// A patch sample is scaled to peak here at velocity 127 (TiMidity normalises each sample's peak
/// too): at velocity 100 and the data set's gain, freepats' median note then peaks at -15.4 dBFS,
/// among the SF2 libraries of the pool (median over every 11th note of `scripts/pool.sh`:
/// -14.0 FluidR3, -14.1 GeneralUser and Sonivox, -15.5 A320U), so level tells no library.
const PEAK_LEVEL: f32 = 0.125;

/// What a `.cfg` line says about a program besides its file (TiMidity's options).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PatchOptions {
    /// `amp=N`: percent of the normalised level.
    pub amp_percent: Option<f32>,
    /// `note=N`: every note plays this MIDI pitch.
    pub note: Option<u8>,
    /// `keep=env` / `strip=env`: overrides TiMidity's guess at whether the envelope applies.
    pub envelope: Option<bool>,
    /// `keep=loop` / `strip=loop`.
    pub looping: Option<bool>,
}

/// Frequency of a MIDI pitch in millihertz (A4 = 440 Hz).
pub fn pitch_mhz(pitch: f64) -> f64 {
    440_000.0 * 2f64.powf((pitch - 69.0) / 12.0)
}

/// TiMidity's choice: the first sample whose range holds the frequency, else the one whose
/// root is nearest.
pub fn select_sample(patch: &Patch, freq_mhz: f64) -> Option<&PatchSample> {
    patch
        .samples
        .iter()
        .find(|s| f64::from(s.low_freq_mhz) <= freq_mhz && freq_mhz <= f64::from(s.high_freq_mhz))
        .or_else(|| {
            patch.samples.iter().min_by(|a, b| {
                let da = (f64::from(a.root_freq_mhz) - freq_mhz).abs();
                let db = (f64::from(b.root_freq_mhz) - freq_mhz).abs();
                da.total_cmp(&db)
            })
        })
}

/// The modes a sample plays with after TiMidity's loader: a looped sample always sustains; a
/// sample without a loop has nothing to sustain and no envelope; an envelope with every rate at
/// its maximum, or one that ends loud (last offset 100 or more), is not meant as one.
pub fn effective_modes(sample: &PatchSample, options: &PatchOptions) -> u8 {
    let mut modes = sample.modes;
    if modes & MODE_LOOPING != 0 {
        modes |= MODE_SUSTAIN;
    }
    if options.looping == Some(false) {
        modes &= !(MODE_LOOPING | MODE_PINGPONG | MODE_SUSTAIN);
    }
    match options.envelope {
        Some(true) => {}
        Some(false) => modes &= !MODE_ENVELOPE,
        None => {
            if modes & (MODE_LOOPING | MODE_PINGPONG) == 0 {
                modes &= !(MODE_SUSTAIN | MODE_ENVELOPE);
            } else if sample.envelope_rates == [0x3f; 6]
                || sample.envelope_offsets[5] >= 100
                || modes & MODE_SUSTAIN == 0
            {
                modes &= !MODE_ENVELOPE;
            }
        }
    }
    modes
}

/// An envelope rate byte in offset units per second: six bits of increment scaled down by eight
/// for each step of its two range bits (TiMidity's `convert_envelope_rate` with FAST_DECAY, at
/// its 1 ms control rate: (rate & 63) << 3 * (3 - range), times 44100 / 2^12).
pub fn envelope_rate_per_sec(rate: u8) -> f64 {
    let range = 3 - u32::from(rate >> 6);
    f64::from(u32::from(rate & 0x3f) << (3 * range)) * 44_100.0 / 4096.0
}

/// TiMidity's `vol_table`: the envelope volume is logarithmic over 36 dB, 2^(6 (offset/254 - 1)),
/// so offset 254-255 is full scale and 0 is 1/64; a voice falls silent only when its last
/// stage ends.
pub fn envelope_gain(offset: f64) -> f32 {
    2f64.powf(6.0 * (offset.clamp(0.0, 254.0) / 254.0 - 1.0)) as f32
}

/// The six-stage envelope of one voice.
struct Envelope {
    rates: [f64; 6],
    targets: [f64; 6],
    stage: usize,
    volume: f64,
}

impl Envelope {
    fn new(sample: &PatchSample) -> Self {
        Self {
            rates: sample.envelope_rates.map(envelope_rate_per_sec),
            targets: sample.envelope_offsets.map(f64::from),
            stage: 0,
            volume: 0.0,
        }
    }

    /// Advances by `dt` seconds; None once the last stage has run out (the voice is over).
    fn step(&mut self, dt: f64, held: bool) -> Option<f64> {
        if !held && self.stage < 3 {
            self.stage = 3;
        }
        let mut left = dt;
        while left > 0.0 {
            if self.stage > 5 {
                return None;
            }
            // The envelope freezes after stage 2 until the note is released ("trumpets want this").
            if held && self.stage == 3 {
                break;
            }
            let target = self.targets[self.stage];
            let rate = self.rates[self.stage];
            let gap = target - self.volume;
            // A release stage never raises the volume, and a stage already at its target is done.
            if rate <= 0.0 || gap == 0.0 || (self.stage > 2 && gap > 0.0) {
                self.stage += 1;
                continue;
            }
            let time = gap.abs() / rate;
            if time <= left {
                self.volume = target;
                left -= time;
                self.stage += 1;
            } else {
                self.volume += gap.signum() * rate * left;
                left = 0.0;
            }
        }
        Some(self.volume)
    }
}

/// Renders one note: mono, `spec.hold_secs` held then released, at the patch's normalised level
/// times `velocity / 127` (TiMidity's velocity is linear in amplitude).
pub fn render(patch: &Patch, options: &PatchOptions, pitch: u8, velocity: u8, spec: &NoteSpec) -> Vec<f32> {
    render_played(patch, options, pitch, velocity, spec, None)
}

/// [`render`] played: the step through the sample bent by the controls' cents, the output
/// scaled by their gain, block by block as a synthesiser's controls act.
pub fn render_played(
    patch: &Patch,
    options: &PatchOptions,
    pitch: u8,
    velocity: u8,
    spec: &NoteSpec,
    controls: Option<&Controls>,
) -> Vec<f32> {
    let total = spec.num_samples();
    let hold = spec.hold_samples().min(total);
    let mut out = vec![0.0f32; total];
    let freq = pitch_mhz(f64::from(options.note.unwrap_or(pitch)));
    let Some(sample) = select_sample(patch, freq) else { return out };
    let modes = effective_modes(sample, options);
    let looping = modes & (MODE_LOOPING | MODE_PINGPONG) != 0;
    let pingpong = modes & MODE_PINGPONG != 0;
    let has_envelope = modes & MODE_ENVELOPE != 0;
    let peak = sample.data.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak == 0.0 {
        return out;
    }
    let level = PEAK_LEVEL / peak * options.amp_percent.unwrap_or(100.0) / 100.0 * f32::from(velocity) / 127.0;
    let step =
        f64::from(sample.sample_rate_hz) / f64::from(spec.sample_rate_hz) * freq / f64::from(sample.root_freq_mhz);
    let dt = 1.0 / f64::from(spec.sample_rate_hz);
    let mut envelope = Envelope::new(sample);
    let data = &sample.data;
    let len = data.len() as f64;
    let (loop_start, loop_end) = (sample.loop_start, sample.loop_end);
    let (mut pos, mut forward) = (0.0f64, true);
    for (n, y) in out.iter_mut().enumerate() {
        let held = n < hold;
        let (bend, control_gain) = match controls {
            Some(c) => {
                let (cents, gain) = c.at(n);
                (2f64.powf(f64::from(cents) / 1200.0), gain)
            }
            None => (1.0, 1.0),
        };
        let gain = if has_envelope {
            match envelope.step(dt, held) {
                Some(v) => envelope_gain(v),
                None => break,
            }
        } else {
            1.0
        };
        // TiMidity keeps looping after release only while an envelope is there to fade it.
        let in_loop = looping && (held || has_envelope);
        let i = pos.floor();
        let frac = (pos - i) as f32;
        let i = i as usize;
        let next = if in_loop && pos + 1.0 >= loop_end { loop_start as usize } else { i + 1 };
        let a = data.get(i).copied().unwrap_or(0.0);
        let b = data.get(next).copied().unwrap_or(0.0);
        *y = (a + (b - a) * frac) * gain * level * control_gain;
        if forward {
            pos += step * bend;
        } else {
            pos -= step * bend;
        }
        if in_loop {
            let span = loop_end - loop_start;
            if pingpong {
                // Two reflections move the position by twice the loop and keep the direction:
                // remove whole rounds first, so a step many loops long (a damaged root
                // frequency) costs two reflections rather than millions.
                let round = 2.0 * span;
                if pos >= loop_end + round {
                    pos -= ((pos - loop_end) / round).floor() * round;
                } else if pos < loop_start - round {
                    pos += ((loop_start - pos) / round).floor() * round;
                }
                // Reflect off the loop's ends; a step longer than the loop stays inside it. The
                // end itself is inside: reflected there, a position would stay there for ever.
                while pos > loop_end || pos < loop_start {
                    if pos > loop_end {
                        pos = 2.0 * loop_end - pos;
                        forward = false;
                    } else {
                        pos = 2.0 * loop_start - pos;
                        forward = true;
                    }
                }
            } else if pos >= loop_end {
                pos = loop_start + (pos - loop_start) % span;
            }
        } else if pos >= len || pos < 0.0 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_rates_follow_timidity() {
        // Range 0 (the fastest) scales by 2^9; range 3 by 1.
        assert_eq!(envelope_rate_per_sec(0xff), 63.0 * 44_100.0 / 4096.0);
        assert_eq!(envelope_rate_per_sec(0x01), 512.0 * 44_100.0 / 4096.0);
        assert_eq!(envelope_rate_per_sec(0xc0), 0.0);
    }

    #[test]
    fn envelope_gain_spans_36_db() {
        assert_eq!(envelope_gain(254.0), 1.0);
        assert_eq!(envelope_gain(255.0), 1.0);
        assert!((envelope_gain(0.0) - 1.0 / 64.0).abs() < 1e-7);
        // Each 254/6 steps is a factor of 2.
        assert!((envelope_gain(254.0 - 254.0 / 6.0) - 0.5).abs() < 1e-6);
    }
}
