//! Mixtures of sources with their STFT magnitudes and ideal-ratio soft masks, stored as numpy .npz.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder as _;
use serde_json::{Map, Value};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

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
        let mut zip = ZipWriter::new(w);
        put_f32(&mut zip, "mixture", &[samples], mixture.mixture.iter().copied())?;
        put_f32(&mut zip, "sources", &[k, samples], mixture.sources.iter().flatten().copied())?;
        put_f32(&mut zip, "mix_mag", &[bins, frames], mixture.mix_mag.iter().copied())?;
        put_f32(&mut zip, "source_mag", &[k, bins, frames], mixture.source_mag.iter().copied())?;
        put_f32(&mut zip, "masks", &[k, bins, frames], mixture.masks.iter().copied())?;
        // numpy's str dtype counts code points, four bytes each (npyz writes them UTF-32LE).
        let dtype: npyz::TypeStr = format!("<U{}", meta_text.chars().count()).parse().map_err(io::Error::other)?;
        zip.start_file("meta.npy", entry_options(4 * meta_text.len() as u64))?;
        let mut writer =
            npyz::WriteOptions::<str>::new().dtype(npyz::DType::Plain(dtype)).shape(&[]).writer(&mut zip).begin_nd()?;
        writer.push(meta_text.as_str())?;
        writer.finish()?;
        zip.finish()?;
        Ok(())
    })
    .map_err(|source| MixtureError::Write { path: path.to_owned(), source })
}

/// An f32 as the shortest decimal that reads back as it: 0.1, not 0.10000000149011612.
fn shortest(x: f32) -> Value {
    x.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
}

fn entry_options(raw_bytes: u64) -> SimpleFileOptions {
    // Zip64 only where needed (the margin covers the .npy header): it costs nothing numpy can't read.
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(raw_bytes + 4096 >= zip::ZIP64_BYTES_THR)
}

fn put_f32<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    name: &str,
    shape: &[u64],
    values: impl IntoIterator<Item = f32>,
) -> io::Result<()> {
    zip.start_file(format!("{name}.npy"), entry_options(4 * shape.iter().product::<u64>()))?;
    let mut writer = npyz::WriteOptions::<f32>::new().default_dtype().shape(shape).writer(&mut *zip).begin_nd()?;
    writer.extend(values)?;
    writer.finish()
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
    let fail = |message: String| MixtureError::Read { path: path.to_owned(), message };
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|e| fail(format!("not a readable .npz: {e}")))?;

    let (shape, mixture) = read_f32(&mut zip, path, "mixture", &[None], true)?;
    let samples = shape[0];
    let (shape, flat) = read_f32(&mut zip, path, "sources", &[None, Some(samples)], true)?;
    let k = shape[0];
    let (shape, mix_mag) = read_f32(&mut zip, path, "mix_mag", &[None, None], true)?;
    let (bins, frames) = (shape[0], shape[1]);
    let cube = [Some(k), Some(bins), Some(frames)];
    // Not returned, but a file with a malformed one is not one of ours: check its header only.
    read_f32(&mut zip, path, "source_mag", &cube, false)?;
    let (_, masks) = read_f32(&mut zip, path, "masks", &cube, true)?;

    let bad_meta = |message: String| MixtureError::Array { path: path.to_owned(), array: "meta", message };
    let npy = open_npy(&mut zip, path, "meta", &[])?;
    let text = npy.into_vec::<String>().map_err(|e| bad_meta(format!("not a unicode string: {e}")))?.remove(0);
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

/// The entry `name`.npy, its header read and its shape checked against `expected` (None: any length).
fn open_npy<'a, R: Read + Seek>(
    zip: &'a mut ZipArchive<R>,
    path: &Path,
    name: &'static str,
    expected: &[Option<u64>],
) -> Result<npyz::NpyFile<zip::read::ZipFile<'a, R>>, MixtureError> {
    let fail = |message: String| MixtureError::Array { path: path.to_owned(), array: name, message };
    let entry = zip.by_name(&format!("{name}.npy")).map_err(|e| fail(format!("missing or unreadable: {e}")))?;
    let npy = npyz::NpyFile::new(entry).map_err(|e| fail(format!("not a valid .npy: {e}")))?;
    let shape = npy.shape();
    let fits = shape.len() == expected.len() && shape.iter().zip(expected).all(|(s, e)| e.is_none_or(|e| e == *s));
    if !fits {
        let want: Vec<String> = expected.iter().map(|e| e.map_or("_".into(), |e| e.to_string())).collect();
        return Err(fail(format!("shape {shape:?}, expected [{}]", want.join(", "))));
    }
    if npy.order() == npyz::Order::Fortran && shape.len() > 1 {
        return Err(fail("stored in Fortran order; this reader expects C order".into()));
    }
    Ok(npy)
}

/// An f32 array's shape and, when `data`, its values.
fn read_f32<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    path: &Path,
    name: &'static str,
    expected: &[Option<u64>],
    data: bool,
) -> Result<(Vec<u64>, Vec<f32>), MixtureError> {
    let fail = |message: String| MixtureError::Array { path: path.to_owned(), array: name, message };
    let npy = open_npy(zip, path, name, expected)?;
    let is_f32 = matches!(npy.dtype(), npyz::DType::Plain(t)
        if t.type_char() == npyz::TypeChar::Float && t.num_bytes() == Some(4));
    if !is_f32 {
        return Err(fail(format!("dtype {}, expected float32", npy.dtype().descr())));
    }
    let shape = npy.shape().to_vec();
    let values = if data { npy.into_vec::<f32>().map_err(|e| fail(format!("unreadable data: {e}")))? } else { vec![] };
    Ok((shape, values))
}
