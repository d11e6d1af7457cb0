//! Rooms in the feature domain. Reverberation spreads each frequency's energy over later
//! frames; with the room's response `h`, a reverberant bin's power is close to the clean bin's
//! power envelope convolved over blocks with `h`'s own block powers in that bin. Those come from
//! analysing `h` with the note pipeline, divided by what the pipeline makes of a unit impulse,
//! so a room that is only a unit impulse leaves a note as it was.

use rand::{Rng as _, SeedableRng as _};

use super::FeatureReverbConfig;
use crate::degrade::DegradeError;
use crate::degrade::rir::{RirSpec, room_response};
use crate::dsp::db::power_to_db_fast;
use crate::features::Analyzer;
use crate::learn::notes::inputs::{InputConfig, NOTE_RATE_HZ, NOTE_SAMPLES, RawViews, raw_views};

/// A room's power transfer per block of frames and bin, `[lag][bins]` per view.
struct Kernel {
    stft: Vec<f32>,
    cqt: Vec<f32>,
    lags: usize,
}

/// Rooms drawn once, ready to be applied to time-pooled views.
pub struct RoomBank {
    kernels: Vec<Kernel>,
}

/// Lags whose transfer is more than this far below the kernel's peak are dropped (dB).
const KERNEL_RANGE_DB: f32 = 60.0;

/// `10^(db/10)` through `exp`, which costs a fraction of `powf`.
#[inline]
fn db_to_power(db: f32) -> f32 {
    (db * (std::f32::consts::LN_10 / 10.0)).exp()
}

/// Block powers of a signal's views: the per-frame powers averaged over `time_pool` frames.
fn block_powers(analyzer: &mut Analyzer, samples: &[f32], time_pool: usize) -> (Vec<f32>, Vec<f32>, usize, usize) {
    let raw = raw_views(analyzer, samples);
    let mut power = raw.clone();
    for v in power.stft.iter_mut().chain(power.cqt.iter_mut()) {
        *v = db_to_power(*v);
    }
    let pooled = power.pool_time(time_pool);
    (pooled.stft, pooled.cqt, pooled.stft_bins, pooled.cqt_bins)
}

/// Per bin, the `e` with `d * e = r` over blocks (forward substitution, kept non-negative):
/// the response's block powers with the analysis' own spread of an impulse taken out, so that a
/// note, already spread by the analysis, is not spread twice.
fn deconvolve(r: &[f32], d: &[f32], bins: usize) -> Vec<f32> {
    let blocks = r.len() / bins;
    let mut e = vec![0f32; r.len()];
    for b in 0..bins {
        let d0 = d[b].max(1e-30);
        for k in 0..blocks {
            let mut acc = r[k * bins + b];
            for j in 1..=k {
                acc -= d[j * bins + b] * e[(k - j) * bins + b];
            }
            e[k * bins + b] = (acc / d0).max(0.0);
        }
    }
    e
}

impl RoomBank {
    /// `config.rooms` rooms with RT60s spread evenly over the range, each with its own seed.
    pub fn new(config: &FeatureReverbConfig, input: &InputConfig, seed: u64) -> Result<Self, DegradeError> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let [lo, hi] = config.rt60_s;
        let responses = (0..config.rooms)
            .map(|k| {
                let rt60_s = lo + (hi - lo) * (k as f64 + 0.5) / config.rooms as f64;
                let spec = RirSpec { rt60_s, binaural: config.binaural, seed: rng.random(), sofa: None };
                room_response(&spec, NOTE_RATE_HZ).map(|r| r.mid())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_responses(&responses, input))
    }

    /// Rooms from impulse responses at the note rate (cut at a note's length).
    pub fn from_responses(responses: &[Vec<f32>], input: &InputConfig) -> Self {
        let mut analyzer = Analyzer::default();
        let mut impulse = vec![0f32; NOTE_SAMPLES];
        impulse[0] = 1.0;
        let (ds, dc, sb, cb) = block_powers(&mut analyzer, &impulse, input.time_pool);
        let kernels = responses
            .iter()
            .map(|h| {
                let mut h = h[..h.len().min(NOTE_SAMPLES)].to_vec();
                h.resize(NOTE_SAMPLES, 0.0);
                let (rs, rc, _, _) = block_powers(&mut analyzer, &h, input.time_pool);
                let (mut rs, mut rc) = (deconvolve(&rs, &ds, sb), deconvolve(&rc, &dc, cb));
                let peak = rs.iter().chain(&rc).copied().fold(0f32, f32::max);
                let keep = peak * 10f32.powf(-KERNEL_RANGE_DB / 10.0);
                let last = |values: &[f32], bins: usize| {
                    values.chunks_exact(bins).rposition(|row| row.iter().any(|&v| v > keep)).map_or(1, |l| l + 1)
                };
                let lags = last(&rs, sb).max(last(&rc, cb));
                rs.truncate(lags * sb);
                rc.truncate(lags * cb);
                Kernel { stft: rs, cqt: rc, lags }
            })
            .collect();
        Self { kernels }
    }

    pub fn len(&self) -> usize {
        self.kernels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kernels.is_empty()
    }

    /// `clean` (time-pooled dB views) heard in room `which`.
    pub fn apply(&self, clean: &RawViews, which: usize) -> RawViews {
        let k = &self.kernels[which % self.kernels.len()];
        let view = |x: &[f32], kernel: &[f32], bins: usize| {
            let power: Vec<f32> = x.iter().map(|&v| db_to_power(v)).collect();
            let frames = x.len() / bins;
            let mut out = vec![0f32; x.len()];
            for t in 0..frames {
                let row = &mut out[t * bins..(t + 1) * bins];
                for lag in 0..k.lags.min(t + 1) {
                    let src = &power[(t - lag) * bins..(t - lag + 1) * bins];
                    let h = &kernel[lag * bins..(lag + 1) * bins];
                    for ((o, &p), &g) in row.iter_mut().zip(src).zip(h) {
                        *o += p * g;
                    }
                }
            }
            // The features' own floor (amplitude 1e-5) bounds the result as it bounds the views.
            out.iter_mut().for_each(|v| *v = power_to_db_fast(*v));
            out
        };
        RawViews {
            stft: view(&clean.stft, &k.stft, clean.stft_bins),
            cqt: view(&clean.cqt, &k.cqt, clean.cqt_bins),
            ..*clean
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::convolve::convolve;
    use crate::learn::notes::augment::{mean_abs_db, mean_db, test_note};

    #[test]
    fn feature_rooms_match_rooms_applied_to_the_waveform() {
        let input = InputConfig::pooled(4, 4, 4);
        let wave = test_note();
        let mut analyzer = Analyzer::default();
        let clean = raw_views(&mut analyzer, &wave).pool_time(4);
        let room = |rt60_s: f64, seed: u64| {
            room_response(&RirSpec { rt60_s, binaural: false, seed, sofa: None }, NOTE_RATE_HZ).unwrap().mid()
        };
        let heard = |h: &[f32]| raw_views(&mut Analyzer::default(), &convolve(&wave, h, NOTE_SAMPLES)).pool_time(4);
        for (rt60_s, seed) in [(0.3, 1), (0.6, 3), (1.2, 2)] {
            let h = room(rt60_s, seed);
            let (real, other) = (heard(&h), heard(&room(rt60_s, seed + 10)));
            let ours = RoomBank::from_responses(&[h], &input).apply(&clean, 0);
            for (view, r, r2, o, c) in [
                ("stft", &real.stft, &other.stft, &ours.stft, &clean.stft),
                ("cqt", &real.cqt, &other.cqt, &ours.cqt, &clean.cqt),
            ] {
                // A room's fine frequency response differs from room to room, so the measure of
                // "close" is another real room of the same RT60. Over the bins within 40 dB of
                // the peak, the feature-domain room is closer to the real one than that; over
                // all bins (the quiet ones are where the approximation is worst) nearly as close.
                let peak = r.iter().copied().fold(f32::MIN, f32::max);
                let loud: Vec<usize> = (0..r.len()).filter(|&i| r[i] > peak - 40.0).collect();
                let sel = |v: &[f32]| loud.iter().map(|&i| v[i]).collect::<Vec<_>>();
                let (r_loud, o_loud) = (sel(r), sel(o));
                let moved = mean_abs_db(&r_loud, &sel(c));
                let (err, spread, bias) =
                    (mean_abs_db(&o_loud, &r_loud), mean_abs_db(&sel(r2), &r_loud), mean_db(&o_loud, &r_loud));
                let what = format!("{view} at RT60 {rt60_s} s");
                assert!(moved > 4.0, "{what}: the room moved the views by only {moved} dB");
                assert!(err < spread, "{what}: {err} dB from the real room, {spread} between two rooms");
                assert!(bias.abs() < 2.5, "{what}: biased by {bias} dB");
                let (err_all, spread_all) = (mean_abs_db(o, r), mean_abs_db(r2, r));
                assert!(
                    err_all < 1.5 * spread_all,
                    "{what}: {err_all} dB from the real room, {spread_all} between two"
                );
            }
        }
    }

    #[test]
    fn a_unit_impulse_leaves_a_note_as_it_was() {
        let input = InputConfig::pooled(4, 4, 4);
        let clean = raw_views(&mut Analyzer::default(), &test_note()).pool_time(4);
        let mut impulse = vec![0f32; 8];
        impulse[0] = 1.0;
        let dry = RoomBank::from_responses(&[impulse], &input).apply(&clean, 0);
        // The kernel is the impulse's analysis divided by itself: one at lag 0, nothing after.
        let err = mean_abs_db(&dry.stft, &clean.stft).max(mean_abs_db(&dry.cqt, &clean.cqt));
        assert!(err < 1e-3, "{err}");
    }
}
