//! Mixtures of sources with their STFT magnitudes and ideal-ratio soft masks, stored as numpy .npz.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::npz::{ArrayProblem, NpzReader, NpzWriter};
use crate::atomic_file::write_atomically;
use crate::dsp::{Scale, Stft};

/// Keeps silent bins from dividing by zero while staying far below any audible magnitude.
pub const DEFAULT_EPS: f32 = 1e-8;

#[derive(Debug, thiserror::Error)]
pub enum MixtureError {
    #[error("a mixture needs at least one source")]
    NoSources,
    #[error("source {index} has {len} samples but source 0 has {expected}")]
    LengthMismatch { index: usize, len: usize, expected: usize },
    #[error("{gains} gains for {sources} sources")]
    GainCount { gains: usize, sources: usize },
    #[error("gain {index} is {gain}, not a finite number")]
    NonFiniteGain { index: usize, gain: f32 },
    #[error("eps must be finite and > 0, got {0}")]
    Eps(f32),
    #[error("sample rate {given} Hz does not match the STFT's {stft} Hz")]
    SampleRate { given: u32, stft: u32 },
    #[error("meta must be a JSON object, got {0}")]
    Meta(String),
    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("reading {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("reading {}: array `{array}`: {message}", path.display())]
    Array { path: PathBuf, array: &'static str, message: String },
}

/// Sources summed in the time domain with recorded gains, their STFT magnitudes and soft masks.
#[derive(Clone, Debug)]
pub struct Mixture {
    pub sample_rate_hz: u32,
    /// `[samples]` = sum_k gain_k * source_k
    pub mixture: Vec<f32>,
    /// `[k][samples]`, already multiplied by their gains: what actually went into the mix.
    pub sources: Vec<Vec<f32>>,
    /// Linear gains applied.
    pub gains: Vec<f32>,
    pub bins: usize,
    pub frames: usize,
    /// `[bins, frames]` in C order: numpy's (and librosa's) layout, bin-major.
    pub mix_mag: Vec<f32>,
    /// `[k, bins, frames]`
    pub source_mag: Vec<f32>,
    /// `[k, bins, frames]`: M_k = |S_k| / (sum_j |S_j| + eps)
    pub masks: Vec<f32>,
    pub eps: f32,
}

impl Mixture {
    pub fn build(
        sources: &[&[f32]],
        gains: &[f32],
        sample_rate_hz: u32,
        stft: &mut Stft,
        eps: f32,
    ) -> Result<Mixture, MixtureError> {
        let expected = sources.first().ok_or(MixtureError::NoSources)?.len();
        if let Some((index, s)) = sources.iter().enumerate().find(|(_, s)| s.len() != expected) {
            return Err(MixtureError::LengthMismatch { index, len: s.len(), expected });
        }
        if gains.len() != sources.len() {
            return Err(MixtureError::GainCount { gains: gains.len(), sources: sources.len() });
        }
        if let Some((index, &gain)) = gains.iter().enumerate().find(|(_, g)| !g.is_finite()) {
            return Err(MixtureError::NonFiniteGain { index, gain });
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(MixtureError::Eps(eps));
        }
        // The STFT's rate only labels its axes, but a mismatch would mislabel every bin in the file.
        let stft_rate = stft.config().sample_rate_hz;
        if stft_rate != sample_rate_hz {
            return Err(MixtureError::SampleRate { given: sample_rate_hz, stft: stft_rate });
        }

        let sources: Vec<Vec<f32>> =
            sources.iter().zip(gains).map(|(s, &g)| s.iter().map(|&x| x * g).collect()).collect();
        let mut mixture = vec![0.0f32; expected];
        for source in &sources {
            for (m, &x) in mixture.iter_mut().zip(source) {
                *m += x;
            }
        }

        // The STFT lays its values out [bins, frames] itself, the .npz's orientation.
        let (bins, frames) = (stft.config().bins(), stft.config().frames(mixture.len()));
        let mix_mag = stft.compute_bins_by_frames(&mixture, Scale::Linear);
        let source_mag: Vec<f32> = sources.iter().flat_map(|s| stft.compute_bins_by_frames(s, Scale::Linear)).collect();

        let plane = bins * frames;
        let mut total = vec![0.0f32; plane];
        for mags in source_mag.chunks_exact(plane) {
            for (t, &m) in total.iter_mut().zip(mags) {
                *t += m;
            }
        }
        let masks = source_mag.iter().enumerate().map(|(i, &m)| m / (total[i % plane] + eps)).collect();

        Ok(Mixture {
            sample_rate_hz,
            mixture,
            sources,
            gains: gains.to_vec(),
            bins,
            frames,
            mix_mag,
            source_mag,
            masks,
            eps,
        })
    }

    pub fn k(&self) -> usize {
        self.sources.len()
    }
}

/// One compressed .npz that `numpy.load` reads as is: f32 arrays `mixture` `[samples]`,
/// `sources` `[k, samples]`, `mix_mag` `[bins, frames]`, `source_mag` and `masks` `[k, bins, frames]`,
/// and `meta`, a 0-d '<U' string holding the caller's JSON object plus "eps", "gains",
/// "sample_rate_hz" and "k" (which replace any keys of the same name). Written atomically.
pub fn write_npz(path: &Path, mixture: &Mixture, meta: &Value) -> Result<(), MixtureError> {
    let mut map = match meta {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => return Err(MixtureError::Meta(other.to_string().chars().take(60).collect())),
    };
    map.insert("eps".into(), shortest(mixture.eps));
    map.insert("gains".into(), mixture.gains.iter().map(|&g| shortest(g)).collect());
    map.insert("sample_rate_hz".into(), mixture.sample_rate_hz.into());
    map.insert("k".into(), mixture.k().into());
    let meta_text = Value::Object(map).to_string();

    let (k, samples) = (mixture.k() as u64, mixture.mixture.len() as u64);
    let (bins, frames) = (mixture.bins as u64, mixture.frames as u64);
    write_atomically(path, |w| {
        let mut npz = NpzWriter::new(w);
        npz.f32("mixture", &[samples], mixture.mixture.iter().copied())?;
        npz.f32("sources", &[k, samples], mixture.sources.iter().flatten().copied())?;
        npz.f32("mix_mag", &[bins, frames], mixture.mix_mag.iter().copied())?;
        npz.f32("source_mag", &[k, bins, frames], mixture.source_mag.iter().copied())?;
        npz.f32("masks", &[k, bins, frames], mixture.masks.iter().copied())?;
        npz.text("meta", &meta_text)?;
        npz.finish()
    })
    .map_err(|source| MixtureError::Write { path: path.to_owned(), source })
}

/// An f32 as the shortest decimal that reads back as it: 0.1, not 0.10000000149011612.
fn shortest(x: f32) -> Value {
    x.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
}

/// What the workbench needs to show a mixture file back.
#[derive(Clone, Debug)]
pub struct MixtureFile {
    pub sample_rate_hz: u32,
    pub mixture: Vec<f32>,
    pub sources: Vec<Vec<f32>>,
    pub bins: usize,
    pub frames: usize,
    /// `[bins, frames]`
    pub mix_mag: Vec<f32>,
    /// `[k, bins, frames]`
    pub masks: Vec<f32>,
    /// Everything [`write_npz`] stored, the keys it adds included.
    pub meta: Value,
}

/// Reads a file [`write_npz`] wrote: every array by name, with its dtype and shape checked.
pub fn read_npz(path: &Path) -> Result<MixtureFile, MixtureError> {
    let mut npz = NpzReader::open(path).map_err(|message| MixtureError::Read { path: path.to_owned(), message })?;
    let bad = |p: ArrayProblem| MixtureError::Array { path: path.to_owned(), array: p.array, message: p.message };
    let (shape, mixture) = npz.f32("mixture", &[None], true).map_err(bad)?;
    let samples = shape[0];
    let (shape, flat) = npz.f32("sources", &[None, Some(samples)], true).map_err(bad)?;
    let k = shape[0];
    let (shape, mix_mag) = npz.f32("mix_mag", &[None, None], true).map_err(bad)?;
    let (bins, frames) = (shape[0], shape[1]);
    let cube = [Some(k), Some(bins), Some(frames)];
    // Not returned, but a file with a malformed one is not one of ours: check its header only.
    npz.f32("source_mag", &cube, false).map_err(bad)?;
    let (_, masks) = npz.f32("masks", &cube, true).map_err(bad)?;

    let bad_meta = |message: String| MixtureError::Array { path: path.to_owned(), array: "meta", message };
    let text = npz.text("meta").map_err(bad)?;
    let meta: Value = serde_json::from_str(&text).map_err(|e| bad_meta(format!("not JSON: {e}")))?;
    let sample_rate_hz = meta
        .get("sample_rate_hz")
        .and_then(Value::as_u64)
        .and_then(|r| u32::try_from(r).ok())
        .ok_or_else(|| bad_meta("no valid \"sample_rate_hz\"".into()))?;
    if meta.get("k").and_then(Value::as_u64) != Some(k) {
        return Err(bad_meta(format!("\"k\" is {:?} but `sources` holds {k}", meta.get("k"))));
    }

    let (samples, k) = (samples as usize, k as usize);
    let sources = (0..k).map(|i| flat[i * samples..(i + 1) * samples].to_vec()).collect();
    Ok(MixtureFile {
        sample_rate_hz,
        mixture,
        sources,
        bins: bins as usize,
        frames: frames as usize,
        mix_mag,
        masks,
        meta,
    })
}
