//! The Gravis Ultrasound patch format (`.pat`, "GF1PATCH110"): one instrument, one layer, and
//! its samples with key ranges, loops and a six-stage envelope, as TiMidity reads them.

use thiserror::Error;

/// Fixed header sizes of the format: file, instrument, layer and sample headers.
const FILE_HEADER: usize = 129;
const INSTRUMENT_HEADER: usize = 63;
const LAYER_HEADER: usize = 47;
const SAMPLE_HEADER: usize = 96;

/// Sample mode bits (the GF1's voice control register).
pub const MODE_16BIT: u8 = 1;
pub const MODE_UNSIGNED: u8 = 2;
pub const MODE_LOOPING: u8 = 4;
pub const MODE_PINGPONG: u8 = 8;
pub const MODE_REVERSE: u8 = 16;
pub const MODE_SUSTAIN: u8 = 32;
pub const MODE_ENVELOPE: u8 = 64;

#[derive(Debug, Error, PartialEq)]
pub enum PatchError {
    #[error("not a GUS patch (no GF1PATCH110 or GF1PATCH100 header)")]
    NotAPatch,
    #[error("the file ends inside {0}")]
    Truncated(&'static str),
    #[error("{0} instruments or layers; only one of each is supported")]
    Layers(u8),
    #[error("sample {index}: {problem}")]
    BadSample { index: usize, problem: String },
}

/// One sample of a patch, its data as floats in -1..1 and its loop in samples.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchSample {
    pub data: Vec<f32>,
    pub sample_rate_hz: u32,
    /// Inclusive key range and root, in millihertz as the format stores them.
    pub low_freq_mhz: u32,
    pub high_freq_mhz: u32,
    pub root_freq_mhz: u32,
    /// Loop start and end in samples, with their 1/16 fractions; end is exclusive.
    pub loop_start: f64,
    pub loop_end: f64,
    /// Envelope stages 0-5: rates and target offsets as stored (0-255 each).
    pub envelope_rates: [u8; 6],
    pub envelope_offsets: [u8; 6],
    pub modes: u8,
}

impl PatchSample {
    pub fn looping(&self) -> bool {
        self.modes & MODE_LOOPING != 0
    }

    pub fn sustains(&self) -> bool {
        self.modes & MODE_SUSTAIN != 0
    }

    pub fn has_envelope(&self) -> bool {
        self.modes & MODE_ENVELOPE != 0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub samples: Vec<PatchSample>,
}

/// Little-endian reads over a byte slice, each naming what it reads when the data ends.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PatchError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(PatchError::Truncated(what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, PatchError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, PatchError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PatchError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Parses a whole patch file.
pub fn parse(bytes: &[u8]) -> Result<Patch, PatchError> {
    if bytes.len() < 22 || !(bytes.starts_with(b"GF1PATCH110\0") || bytes.starts_with(b"GF1PATCH100\0")) {
        return Err(PatchError::NotAPatch);
    }
    let mut r = Reader { bytes, pos: 0 };
    let header = r.take(FILE_HEADER, "the file header")?;
    // TiMidity accepts 0 or 1 instruments (byte 82) and layers (byte 151).
    if header[82] > 1 {
        return Err(PatchError::Layers(header[82]));
    }
    let instrument = r.take(INSTRUMENT_HEADER, "the instrument header")?;
    if instrument[22] > 1 {
        return Err(PatchError::Layers(instrument[22]));
    }
    let layer = r.take(LAYER_HEADER, "the layer header")?;
    let count = usize::from(layer[6]);
    let mut samples = Vec::with_capacity(count);
    for index in 0..count {
        samples.push(read_sample(&mut r).map_err(|e| match e {
            PatchError::BadSample { .. } | PatchError::Truncated(_) => e,
            other => PatchError::BadSample { index, problem: other.to_string() },
        })?);
        let last = samples.last().expect("just pushed");
        if last.data.is_empty() {
            return Err(PatchError::BadSample { index, problem: "no sample data".into() });
        }
        if last.sample_rate_hz == 0 || last.root_freq_mhz == 0 {
            return Err(PatchError::BadSample { index, problem: "a zero sample rate or root frequency".into() });
        }
    }
    Ok(Patch { samples })
}

fn read_sample(r: &mut Reader) -> Result<PatchSample, PatchError> {
    let start = r.pos;
    r.take(7, "a sample name")?;
    let fractions = r.u8("a sample header")?;
    let data_bytes = r.u32("a sample header")? as usize;
    let loop_start = r.u32("a sample header")?;
    let loop_end = r.u32("a sample header")?;
    let sample_rate_hz = u32::from(r.u16("a sample header")?);
    let low_freq_mhz = r.u32("a sample header")?;
    let high_freq_mhz = r.u32("a sample header")?;
    let root_freq_mhz = r.u32("a sample header")?;
    r.take(3, "a sample header")?; // tune (unused by TiMidity) and panning: the render is mono
    let mut envelope_rates = [0u8; 6];
    envelope_rates.copy_from_slice(r.take(6, "a sample header")?);
    let mut envelope_offsets = [0u8; 6];
    envelope_offsets.copy_from_slice(r.take(6, "a sample header")?);
    r.take(6, "a sample header")?; // tremolo and vibrato: not applied (see voice.rs)
    let modes = r.u8("a sample header")?;
    r.pos = start + SAMPLE_HEADER;
    let raw = r.take(data_bytes, "sample data")?;
    let wide = modes & MODE_16BIT != 0;
    let unsigned = modes & MODE_UNSIGNED != 0;
    let mut data: Vec<f32> = if wide {
        raw.chunks_exact(2)
            .map(|b| {
                let v = u16::from_le_bytes([b[0], b[1]]);
                let s = if unsigned { v.wrapping_sub(0x8000) as i16 } else { v as i16 };
                f32::from(s) / 32768.0
            })
            .collect()
    } else {
        raw.iter()
            .map(|&b| {
                let s = if unsigned { b.wrapping_sub(0x80) as i8 } else { b as i8 };
                f32::from(s) / 128.0
            })
            .collect()
    };
    let bytes_per_sample = if wide { 2.0 } else { 1.0 };
    // The low and high nibbles are the loop start's and end's sixteenths of a sample.
    let mut loop_start = f64::from(loop_start) / bytes_per_sample + f64::from(fractions & 0x0f) / 16.0;
    let mut loop_end = f64::from(loop_end) / bytes_per_sample + f64::from(fractions >> 4) / 16.0;
    let len = data.len() as f64;
    if modes & MODE_REVERSE != 0 {
        // Played backwards: store it reversed so the voice always reads forwards.
        data.reverse();
        (loop_start, loop_end) = (len - loop_end, len - loop_start);
    }
    let mut sample = PatchSample {
        data,
        sample_rate_hz,
        low_freq_mhz,
        high_freq_mhz,
        root_freq_mhz,
        loop_start,
        loop_end,
        envelope_rates,
        envelope_offsets,
        modes,
    };
    // A loop outside the data or of no length cannot be played: treat the sample as one-shot.
    // The voice loops on either flag, so both are checked.
    if sample.modes & (MODE_LOOPING | MODE_PINGPONG) != 0
        && !(0.0 <= loop_start && loop_start + 1.0 <= loop_end && loop_end <= len)
    {
        sample.modes &= !(MODE_LOOPING | MODE_PINGPONG);
    }
    Ok(sample)
}

/// Builds a patch file from samples, for tests and fuzzing seeds: the inverse of [`parse`] for
/// 16-bit signed data whose loop points are whole samples.
pub fn write(samples: &[PatchSample]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut header = vec![0u8; FILE_HEADER];
    header[..12].copy_from_slice(b"GF1PATCH110\0");
    header[12..22].copy_from_slice(b"ID#000002\0");
    header[82] = 1;
    header[83] = 14;
    header[85] = samples.len() as u8;
    header[87] = 127;
    out.extend(header);
    let mut instrument = vec![0u8; INSTRUMENT_HEADER];
    instrument[22] = 1;
    out.extend(instrument);
    let mut layer = vec![0u8; LAYER_HEADER];
    layer[6] = samples.len() as u8;
    out.extend(layer);
    for s in samples {
        let mut h = Vec::with_capacity(SAMPLE_HEADER);
        h.extend(b"tiny\0\0\0");
        h.push(0);
        h.extend((s.data.len() as u32 * 2).to_le_bytes());
        h.extend((s.loop_start as u32 * 2).to_le_bytes());
        h.extend((s.loop_end as u32 * 2).to_le_bytes());
        h.extend((s.sample_rate_hz as u16).to_le_bytes());
        h.extend(s.low_freq_mhz.to_le_bytes());
        h.extend(s.high_freq_mhz.to_le_bytes());
        h.extend(s.root_freq_mhz.to_le_bytes());
        h.extend([0, 0, 7]);
        h.extend(s.envelope_rates);
        h.extend(s.envelope_offsets);
        h.extend([0; 6]);
        h.push(s.modes | MODE_16BIT);
        h.resize(SAMPLE_HEADER, 0);
        out.extend(h);
        for &v in &s.data {
            out.extend(((v.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(modes: u8) -> PatchSample {
        PatchSample {
            data: (0..100).map(|i| (i as f32 / 100.0) - 0.5).collect(),
            sample_rate_hz: 22_050,
            low_freq_mhz: 100_000,
            high_freq_mhz: 10_000_000,
            root_freq_mhz: 440_000,
            loop_start: 20.0,
            loop_end: 80.0,
            envelope_rates: [63, 63, 63, 63, 63, 63],
            envelope_offsets: [245, 245, 245, 10, 10, 10],
            modes,
        }
    }

    #[test]
    fn written_patches_read_back() {
        let s = sample(MODE_LOOPING | MODE_SUSTAIN | MODE_ENVELOPE);
        let patch = parse(&write(std::slice::from_ref(&s))).unwrap();
        assert_eq!(patch.samples.len(), 1);
        let p = &patch.samples[0];
        assert_eq!((p.loop_start, p.loop_end, p.root_freq_mhz, p.sample_rate_hz), (20.0, 80.0, 440_000, 22_050));
        assert_eq!(p.modes, s.modes | MODE_16BIT);
        // 16-bit quantisation: half a step of 1/32768.
        for (a, b) in p.data.iter().zip(&s.data) {
            assert!((a - b).abs() < 1.0 / 32768.0 + 1e-6);
        }
    }

    #[test]
    fn bad_files_are_named_not_panicked_on() {
        assert_eq!(parse(b"RIFF0000WAVE"), Err(PatchError::NotAPatch));
        let bytes = write(&[sample(MODE_LOOPING)]);
        for cut in [30, FILE_HEADER + 10, FILE_HEADER + INSTRUMENT_HEADER + LAYER_HEADER + 40, bytes.len() - 1] {
            assert!(matches!(parse(&bytes[..cut]), Err(PatchError::Truncated(_))), "cut at {cut}");
        }
    }

    #[test]
    fn a_loop_outside_the_data_plays_once() {
        let mut s = sample(MODE_LOOPING);
        s.loop_end = 90.0;
        s.loop_start = 95.0;
        let p = parse(&write(&[s])).unwrap();
        assert!(!p.samples[0].looping());
    }

    #[test]
    fn reversed_samples_are_stored_forwards() {
        let s = sample(MODE_REVERSE | MODE_LOOPING);
        let p = &parse(&write(std::slice::from_ref(&s))).unwrap().samples[0];
        assert!((p.data[0] - s.data[99]).abs() < 1e-4);
        assert_eq!((p.loop_start, p.loop_end), (20.0, 80.0));
    }
}
