//! Room impulse responses with the RT60 as their main parameter: an image-source (shoebox)
//! early part, then a stochastic late tail whose decay depends on frequency, all drawn from one
//! seed. In binaural mode every early reflection and the direct sound arrive through the HRIRs
//! of their directions, and each ear gets its own tail.

use std::f64::consts::PI;
use std::path::PathBuf;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use realfft::num_complex::Complex32;

use super::hrir::{HrirSet, default_sofa_path};
use super::rt60::t30_secs;
use super::{DegradeError, check_range};

pub const SPEED_OF_SOUND_M_S: f64 = 343.0;
/// RT60s a response can be asked for, in seconds.
pub const RT60_RANGE_S: [f64; 2] = [0.1, 3.0];
/// Image sources up to this time after emission; a diffuse tail takes over around it.
const EARLY_SECS: f64 = 0.08;
/// Octave bands of the late tail and their decay times relative to the RT60: lows ring longer,
/// highs die sooner (wall and air absorption rise with frequency).
const BAND_CENTRES_HZ: [f64; 7] = [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0];
const BAND_RT60_FACTORS: [f64; 7] = [1.15, 1.1, 1.0, 1.0, 0.9, 0.75, 0.6];
/// Half-length of the windowed-sinc fractional delay of each image (mono responses).
const SINC_HALF_TAPS: i64 = 8;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct RirSpec {
    pub rt60_s: f64,
    pub binaural: bool,
    pub seed: u64,
    /// SOFA file for binaural responses (default: [`default_sofa_path`]).
    pub sofa: Option<PathBuf>,
}

/// The shoebox drawn for a response, in metres.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Room {
    pub size_m: [f64; 3],
    pub source_m: [f64; 3],
    pub listener_m: [f64; 3],
    /// Eyring absorption coefficient of every wall, from the RT60.
    pub absorption: f64,
}

/// One or two channels (left, right) of impulse response.
pub struct RoomResponse {
    pub channels: Vec<Vec<f32>>,
    pub sample_rate_hz: u32,
    pub room: Room,
    /// T30 of the (mid) response as generated.
    pub measured_rt60_s: f64,
}

impl RoomResponse {
    /// The mean of the channels: what the model path hears of a binaural response.
    pub fn mid(&self) -> Vec<f32> {
        mid(&self.channels)
    }
}

pub(crate) fn mid(channels: &[Vec<f32>]) -> Vec<f32> {
    let n = channels.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = vec![0.0; n];
    for ch in channels {
        for (o, x) in out.iter_mut().zip(ch) {
            *o += x / channels.len() as f32;
        }
    }
    out
}

/// Draws a room for `spec` and renders its response at `sample_rate_hz`.
pub fn room_response(spec: &RirSpec, sample_rate_hz: u32) -> Result<RoomResponse, DegradeError> {
    let rt60 = check_range("rt60_s", spec.rt60_s, RT60_RANGE_S[0], RT60_RANGE_S[1], " s")?;
    if sample_rate_hz < 8000 {
        return Err(DegradeError::parameter("sample_rate_hz", sample_rate_hz, "at least 8000 Hz"));
    }
    let hrirs = if spec.binaural {
        let path = spec.sofa.clone().unwrap_or_else(default_sofa_path);
        Some(HrirSet::load(&path, sample_rate_hz)?)
    } else {
        None
    };
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let room = draw_room(&mut rng, rt60);
    let sr = f64::from(sample_rate_hz);
    let channels = if spec.binaural { 2 } else { 1 };
    let direct_secs = distance(room.source_m, room.listener_m) / SPEED_OF_SOUND_M_S;
    let longest_band = BAND_RT60_FACTORS.iter().copied().fold(0.0, f64::max);
    // 10% past the slowest band's 60 dB: the decay curve's truncation error stays far below 35 dB.
    let len = ((direct_secs + 1.1 * rt60 * longest_band + 0.02) * sr).ceil() as usize;
    let early_end = (EARLY_SECS * sr) as usize;
    let fade = Fade { start: early_end / 2, end: early_end };

    let (early, early_energy) = image_sources(&room, sr, len, hrirs.as_deref(), fade);
    let split = BandSplit::new(len, sr);
    let bands: Vec<Vec<Vec<f32>>> = (0..channels).map(|_| split.noise(&mut rng, len)).collect();
    let direct = (direct_secs * sr) as usize;
    let band_rt60s: Vec<f64> = BAND_RT60_FACTORS.iter().map(|f| f * rt60).collect();

    // The early part keeps Eyring's decay; the tail's decay times are scaled until the response
    // measures the requested RT60 (the model is right to a few per cent, the scale absorbs the rest).
    let mut scale = 1.0;
    let mut out = Vec::new();
    let mut measured = f64::NAN;
    for _ in 0..5 {
        let tails: Vec<Vec<f32>> =
            bands.iter().zip(&early_energy).map(|(b, &e)| tail(b, &band_rt60s, scale, direct, fade, e, sr)).collect();
        out = early.iter().zip(&tails).map(|(e, t)| e.iter().zip(t).map(|(a, b)| a + b).collect()).collect();
        measured = t30_secs(&mid(&out), sample_rate_hz).unwrap_or(f64::NAN);
        if !measured.is_finite() || (measured / rt60 - 1.0).abs() < 0.002 {
            break;
        }
        scale *= rt60 / measured;
    }
    // Unit energy (of the mid): a reverberant copy is about as loud as the dry signal.
    let energy: f64 = mid(&out).iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let gain = if energy > 0.0 { (1.0 / energy.sqrt()) as f32 } else { 1.0 };
    out.iter_mut().flatten().for_each(|x| *x *= gain);
    Ok(RoomResponse { channels: out, sample_rate_hz, room, measured_rt60_s: measured })
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// A room of ordinary size, a listener at ear height, a source 1.5 to 3 m away.
fn draw_room(rng: &mut ChaCha8Rng, rt60: f64) -> Room {
    let size = [rng.random_range(5.0..10.0), rng.random_range(4.0..8.0), rng.random_range(2.8..4.0)];
    let listener = [rng.random_range(1.0..size[0] - 1.0), rng.random_range(1.0..size[1] - 1.0), 1.5];
    let mut source = [size[0] / 2.0, size[1] / 2.0, 1.5];
    for _ in 0..100 {
        let (d, azimuth) = (rng.random_range(1.5..3.0), rng.random_range(-PI..PI));
        let candidate = [listener[0] + d * azimuth.cos(), listener[1] + d * azimuth.sin(), rng.random_range(1.0..2.0)];
        if (0..2).all(|i| (0.5..size[i] - 0.5).contains(&candidate[i])) {
            source = candidate;
            break;
        }
    }
    let volume = size[0] * size[1] * size[2];
    let surface = 2.0 * (size[0] * size[1] + size[0] * size[2] + size[1] * size[2]);
    // Eyring: RT60 = 0.161 V / (-S ln(1 - a)).
    let absorption = 1.0 - (-0.161 * volume / (surface * rt60)).exp();
    Room { size_m: size, source_m: source, listener_m: listener, absorption }
}

/// The cross-fade from image sources to the diffuse tail, in samples after emission.
#[derive(Clone, Copy)]
struct Fade {
    start: usize,
    end: usize,
}

impl Fade {
    /// Weight of the tail at sample `n` (the image sources get one minus it).
    fn tail_weight(self, n: usize) -> f64 {
        if n <= self.start {
            0.0
        } else if n >= self.end {
            1.0
        } else {
            let x = (n - self.start) as f64 / (self.end - self.start) as f64;
            (0.5 * PI * x).sin().powi(2)
        }
    }
}

/// The image-source response (faded out over the cross-fade) and, per channel, its energy
/// within the cross-fade before fading, which the tail is matched to.
fn image_sources(room: &Room, sr: f64, len: usize, hrirs: Option<&HrirSet>, fade: Fade) -> (Vec<Vec<f32>>, Vec<f64>) {
    let channels = if hrirs.is_some() { 2 } else { 1 };
    let mut out = vec![vec![0.0f32; len]; channels];
    let mut energy = vec![0.0f64; channels];
    let reflect = (1.0 - room.absorption).sqrt();
    let max_dist = EARLY_SECS * SPEED_OF_SOUND_M_S;
    let direct = distance(room.source_m, room.listener_m);
    let orders: Vec<i64> = room.size_m.iter().map(|&l| (max_dist / (2.0 * l)).ceil() as i64 + 1).collect();
    let mut add = |n0: f64, amp: f64, ears: Option<(Vec<f32>, Vec<f32>)>| {
        // One fade weight per image, at its arrival: its taps span a few milliseconds at most.
        let arrival = n0.round().max(0.0) as usize;
        let keep = 1.0 - fade.tail_weight(arrival);
        let in_window = arrival > fade.start && arrival < fade.end;
        let mut put = |ch: usize, at: i64, v: f64| {
            if (0..len as i64).contains(&at) {
                if in_window {
                    energy[ch] += v * v;
                }
                out[ch][at as usize] += (v * keep) as f32;
            }
        };
        match ears {
            None => {
                let centre = n0.round() as i64;
                for k in -SINC_HALF_TAPS..=SINC_HALF_TAPS {
                    let x = (centre + k) as f64 - n0;
                    let window = 0.5 + 0.5 * (PI * x / (SINC_HALF_TAPS as f64 + 1.0)).cos();
                    let sinc = if x.abs() < 1e-9 { 1.0 } else { (PI * x).sin() / (PI * x) };
                    put(0, centre + k, amp * sinc * window);
                }
            }
            Some((left, right)) => {
                let start = n0.round() as i64;
                for (ch, ir) in [left, right].iter().enumerate() {
                    for (k, &h) in ir.iter().enumerate() {
                        put(ch, start + k as i64, amp * f64::from(h));
                    }
                }
            }
        }
    };
    for nx in -orders[0]..=orders[0] {
        for ny in -orders[1]..=orders[1] {
            for nz in -orders[2]..=orders[2] {
                for parity in 0..8u8 {
                    let n = [nx, ny, nz];
                    let mut image = [0.0; 3];
                    let mut reflections = 0;
                    for axis in 0..3 {
                        let q = i64::from((parity >> axis) & 1);
                        image[axis] =
                            (1 - 2 * q) as f64 * room.source_m[axis] + 2.0 * n[axis] as f64 * room.size_m[axis];
                        reflections += (n[axis] - q).abs() + n[axis].abs();
                    }
                    let d = distance(image, room.listener_m);
                    if d > max_dist {
                        continue;
                    }
                    // Spherical spreading relative to the direct path, one wall loss per reflection.
                    let amp = direct / d * reflect.powi(reflections as i32);
                    let ears = hrirs.map(|set| {
                        let dir = [
                            (image[0] - room.listener_m[0]) as f32,
                            (image[1] - room.listener_m[1]) as f32,
                            (image[2] - room.listener_m[2]) as f32,
                        ];
                        // The direct sound interpolates between measurements; reflections take the
                        // nearest one (KEMAR's grid is about 5 degrees, finer than they need).
                        let pair = set.ears(dir, reflections == 0);
                        (pair.left, pair.right)
                    });
                    add(d / SPEED_OF_SOUND_M_S * sr, amp, ears);
                }
            }
        }
    }
    (out, energy)
}

/// The tail's octave bands over the bins of one transform length: amplitude-complementary cos²
/// cross-overs in log frequency, so the bands sum back to the white noise. Each bin lies in at
/// most two neighbouring bands; weights are computed once per response, not per band or ear.
struct BandSplit {
    n: usize,
    /// Per bin: the lower band it belongs to, and that band's weight (the next band has 1 - it).
    bins: Vec<(usize, f32)>,
}

impl BandSplit {
    fn new(len: usize, sr: f64) -> Self {
        // A power of two: seven inverse transforms per ear, each fastest at such a length.
        let n = len.max(2).next_power_of_two();
        let bins = (0..n / 2 + 1).map(|k| band_position(k as f64 * sr / n as f64)).collect();
        Self { n, bins }
    }

    /// Gaussian noise split into the bands, `len` samples each, unit variance in all.
    fn noise(&self, rng: &mut ChaCha8Rng, len: usize) -> Vec<Vec<f32>> {
        let n = self.n;
        let (_, inv) = super::convolve::plans(n);
        // Unit variance per sample after the unnormalised inverse transform.
        let norm = (1.0 / (2.0 * n as f32)).sqrt();
        let spectrum: Vec<Complex32> = (0..n / 2 + 1)
            .map(|k| {
                if k == 0 || k == n / 2 {
                    Complex32::new(0.0, 0.0)
                } else {
                    let (re, im): (f32, f32) = (rng.sample(StandardNormal), rng.sample(StandardNormal));
                    Complex32::new(re * norm, im * norm)
                }
            })
            .collect();
        let mut spec = inv.make_input_vec();
        (0..BAND_CENTRES_HZ.len())
            .map(|b| {
                for ((s, &c), &(lower, w)) in spec.iter_mut().zip(&spectrum).zip(&self.bins) {
                    let weight = if lower == b {
                        w
                    } else if lower + 1 == b {
                        1.0 - w
                    } else {
                        0.0
                    };
                    *s = c * weight;
                }
                let mut out = inv.make_output_vec();
                inv.process(&mut spec, &mut out).expect("buffers sized by the plan");
                out.truncate(len);
                out
            })
            .collect()
    }
}

/// The lower of the (at most two) bands `hz` belongs to, and its weight there (the next band
/// has one minus it).
fn band_position(hz: f64) -> (usize, f32) {
    let last = BAND_CENTRES_HZ.len() - 1;
    if hz <= BAND_CENTRES_HZ[0] {
        return (0, 1.0);
    }
    if hz >= BAND_CENTRES_HZ[last] {
        return (last, 1.0);
    }
    let pos = (hz / BAND_CENTRES_HZ[0]).log2(); // octaves above the first centre
    let i = pos.floor() as usize;
    (i, (0.5 * PI * (pos - i as f64)).cos().powi(2) as f32)
}

#[cfg(test)]
fn band_weight(band: usize, hz: f64) -> f64 {
    let (lower, w) = band_position(hz);
    if band == lower {
        f64::from(w)
    } else if band == lower + 1 {
        f64::from(1.0 - w)
    } else {
        0.0
    }
}

/// The diffuse tail of one channel: each band decays at its own rate from the direct sound on,
/// faded in over the cross-fade, at the level of the image sources it replaces.
fn tail(
    bands: &[Vec<f32>],
    band_rt60s: &[f64],
    scale: f64,
    direct: usize,
    fade: Fade,
    early_energy: f64,
    sr: f64,
) -> Vec<f32> {
    let len = bands[0].len();
    let rates: Vec<f64> = band_rt60s.iter().map(|t| (-6.907_755 / (t * scale * sr)).exp()).collect();
    let mut raw = vec![0.0f64; len];
    let start = direct.min(len);
    // Band by band: one running envelope per pass keeps the inner loop a single multiply-add.
    for (band, rate) in bands.iter().zip(&rates) {
        let mut envelope = 1.0f64;
        for (r, &b) in raw[start..].iter_mut().zip(&band[start..]) {
            *r += f64::from(b) * envelope;
            envelope *= rate;
        }
    }
    let window_energy: f64 = raw[fade.start.min(len)..fade.end.min(len)].iter().map(|v| v * v).sum();
    let gain = if window_energy > 0.0 && early_energy > 0.0 { (early_energy / window_energy).sqrt() } else { 1e-3 };
    raw.iter().enumerate().map(|(n, v)| (v * gain * fade.tail_weight(n)) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_sum_to_one_everywhere() {
        for hz in [20.0, 125.0, 177.0, 600.0, 999.0, 3000.0, 7999.0, 8000.0] {
            let sum: f64 = (0..BAND_CENTRES_HZ.len()).map(|b| band_weight(b, hz)).sum();
            // The weights are f32: their sum is one to f32 rounding.
            assert!((sum - 1.0).abs() < 1e-6, "{hz}: {sum}");
        }
    }

    #[test]
    fn out_of_range_rt60_is_refused_by_name() {
        for bad in [-0.5, 0.0, f64::NAN, 10.0] {
            let spec = RirSpec { rt60_s: bad, binaural: false, seed: 0, sofa: None };
            let err = room_response(&spec, 16_000).err().expect("refused").to_string();
            assert!(err.contains("rt60_s") && err.contains("0.1 to 3"), "{err}");
        }
    }

    #[test]
    fn eyring_absorption_falls_as_the_room_rings_longer() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let short = draw_room(&mut rng, 0.3);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let long = draw_room(&mut rng, 1.2);
        assert_eq!(short.size_m, long.size_m, "the geometry does not depend on the RT60");
        assert!(short.absorption > long.absorption && long.absorption > 0.0 && short.absorption < 1.0);
        for i in 0..3 {
            assert!((0.0..short.size_m[i]).contains(&short.source_m[i]));
            assert!((0.0..short.size_m[i]).contains(&short.listener_m[i]));
        }
    }
}
