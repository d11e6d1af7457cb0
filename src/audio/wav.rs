//! WAV through hound. hound parses the header; the samples of the common layouts (8, 16, 24 and
//! 32-bit PCM and 32-bit float, each in a container of its own width) are then read in bulk and
//! converted a block at a time: hound's sample-by-sample reads took longer than the STFT of the
//! clip. Other layouts go through hound's reader.

use std::io::{self, BufReader, Read};

use super::sink::{AudioError, BLOCK_FRAMES, MonoSink, Rate, read_up_to};

pub(super) enum HoundFailure {
    /// hound does not handle this WAV flavour (`malformed`: or finds its header invalid);
    /// another decoder may.
    Refused {
        malformed: bool,
        detail: String,
    },
    Fatal(AudioError),
}

impl From<AudioError> for HoundFailure {
    fn from(e: AudioError) -> Self {
        HoundFailure::Fatal(e)
    }
}

/// Decodes a WAV whose first bytes are `head` (where its fmt chunk usually is).
pub(super) fn decode_wav_hound<R: Read>(
    label: &str,
    source: R,
    head: &[u8],
    rate: Rate,
) -> Result<(Vec<f32>, u32), HoundFailure> {
    let mut reader = match hound::WavReader::new(BufReader::with_capacity(1 << 16, source)) {
        Ok(reader) => reader,
        Err(hound::Error::IoError(e)) if is_eof(&e) => {
            return Err(HoundFailure::Fatal(AudioError::Corrupt {
                path: label.into(),
                detail: "the WAV header is incomplete".into(),
            }));
        }
        Err(hound::Error::IoError(error)) => {
            return Err(HoundFailure::Fatal(AudioError::Unreadable { path: label.into(), error }));
        }
        Err(e @ hound::Error::FormatError(_)) => {
            return Err(HoundFailure::Refused { malformed: true, detail: e.to_string() });
        }
        Err(e) => return Err(HoundFailure::Refused { malformed: false, detail: e.to_string() }),
    };
    let spec = reader.spec();
    let channels = spec.channels as usize;
    let frames_promised = reader.duration() as u64;
    let mut sink = MonoSink::new(label, spec.sample_rate, Some(frames_promised), rate)?;
    // Whole frames only, at least one, however many channels the header claims.
    let block_len = (BLOCK_FRAMES * 8 / channels).max(1) * channels;
    let mut block: Vec<f32> = Vec::with_capacity(block_len);
    let truncated = |sink: &MonoSink, block: &[f32]| {
        let frames_read = sink.frames() + (block.len() / channels) as u64;
        AudioError::Corrupt {
            path: label.into(),
            detail: format!(
                "truncated: the header promises {frames_promised} frames but the data stops after {frames_read}"
            ),
        }
    };
    let read_error = |e: hound::Error, sink: &MonoSink, block: &[f32]| match e {
        hound::Error::IoError(e) if is_eof(&e) => truncated(sink, block),
        hound::Error::IoError(error) => AudioError::Unreadable { path: label.into(), error },
        other => AudioError::Corrupt { path: label.into(), detail: other.to_string() },
    };
    if let Some(layout) = Bulk::of(&spec, head) {
        let samples = reader.len() as u64;
        let mut data = reader.into_inner();
        let mut bytes = vec![0u8; block_len * layout.bytes()];
        let mut remaining = samples * layout.bytes() as u64;
        while remaining > 0 {
            let want = remaining.min(bytes.len() as u64) as usize;
            let got = read_up_to(&mut data, &mut bytes[..want])
                .map_err(|error| AudioError::Unreadable { path: label.into(), error })?;
            block.clear();
            layout.convert(&bytes[..got - got % layout.bytes()], &mut block);
            if got < want {
                return Err(truncated(&sink, &block).into());
            }
            sink.push_interleaved(&block, channels)?;
            remaining -= got as u64;
        }
        return Ok(sink.finish()?);
    }
    match spec.sample_format {
        hound::SampleFormat::Float if spec.bits_per_sample == 32 => {
            for sample in reader.samples::<f32>() {
                block.push(sample.map_err(|e| read_error(e, &sink, &block))?);
                if block.len() == block_len {
                    sink.push_interleaved(&block, channels)?;
                    block.clear();
                }
            }
        }
        hound::SampleFormat::Int if (8..=32).contains(&spec.bits_per_sample) => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            for sample in reader.samples::<i32>() {
                let value = sample.map_err(|e| read_error(e, &sink, &block))?;
                block.push((value as f64 * scale) as f32);
                if block.len() == block_len {
                    sink.push_interleaved(&block, channels)?;
                    block.clear();
                }
            }
        }
        format => {
            return Err(HoundFailure::Refused {
                malformed: false,
                detail: format!("{}-bit {format:?} samples", spec.bits_per_sample),
            });
        }
    }
    sink.push_interleaved(&block, channels)?;
    Ok(sink.finish()?)
}

/// End of data where more was promised. hound reports it as `Other` with a fixed message.
fn is_eof(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
        || (e.kind() == io::ErrorKind::Other && e.to_string() == "Failed to read enough bytes.")
}

/// A sample layout read in bulk: the encoding and its width in bytes, equal to its container's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bulk {
    /// Unsigned, offset by 128 (WAV's 8-bit PCM).
    U8,
    I16,
    I24,
    I32,
    F32,
}

impl Bulk {
    /// The bulk layout of a file, when its fmt chunk is in `head` and its container is as wide as
    /// its samples (a 20-bit sample in a 24-bit container is left to hound).
    fn of(spec: &hound::WavSpec, head: &[u8]) -> Option<Self> {
        let container_bits = 8 * container_bytes(head)?;
        if container_bits != spec.bits_per_sample as usize {
            return None;
        }
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 8) => Some(Self::U8),
            (hound::SampleFormat::Int, 16) => Some(Self::I16),
            (hound::SampleFormat::Int, 24) => Some(Self::I24),
            (hound::SampleFormat::Int, 32) => Some(Self::I32),
            (hound::SampleFormat::Float, 32) => Some(Self::F32),
            _ => None,
        }
    }

    fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I32 | Self::F32 => 4,
        }
    }

    /// Appends the samples of `bytes` (whole samples) as floats in [-1, 1), with the values
    /// hound's reader gives scaled by 2^(1 - bits): every step is exact, or one rounding to f32.
    fn convert(self, bytes: &[u8], out: &mut Vec<f32>) {
        match self {
            Self::U8 => out.extend(bytes.iter().map(|&b| (i32::from(b) - 128) as f32 * (1.0 / 128.0))),
            Self::I16 => out
                .extend(bytes.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / 32_768.0))),
            Self::I24 => out.extend(
                bytes
                    .chunks_exact(3)
                    .map(|b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 * (1.0 / 8_388_608.0)),
            ),
            Self::I32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 * (1.0 / 2_147_483_648.0)),
            ),
            Self::F32 => out.extend(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        }
    }
}

/// Bytes per sample container (block align over channels), from the fmt chunk in `head`.
fn container_bytes(head: &[u8]) -> Option<usize> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(head.get(at..at + 2)?.try_into().ok()?) as usize);
    let mut at = 12;
    while at + 8 <= head.len() {
        let size = u32::from_le_bytes(head[at + 4..at + 8].try_into().ok()?) as usize;
        if &head[at..at + 4] == b"fmt " {
            let (channels, block_align) = (u16_at(at + 10)?, u16_at(at + 20)?);
            return (channels > 0 && block_align.is_multiple_of(channels)).then(|| block_align / channels);
        }
        // Chunks are padded to an even length.
        at = at.checked_add(8)?.checked_add(size.checked_add(size & 1)?)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A WAV of `values` (raw sample values of the format) through hound's writer.
    fn wav(spec: hound::WavSpec, values: &[i32]) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut bytes, spec).unwrap();
        for &v in values {
            if spec.sample_format == hound::SampleFormat::Float {
                writer.write_sample(v as f32 / 1e6).unwrap();
            } else {
                writer.write_sample(v).unwrap();
            }
        }
        writer.finalize().unwrap();
        bytes.into_inner()
    }

    /// hound's own reader, sample by sample: the oracle of the bulk path.
    fn by_hound(bytes: &[u8]) -> Vec<f32> {
        let mut reader = hound::WavReader::new(bytes).unwrap();
        let spec = reader.spec();
        match spec.sample_format {
            hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
                reader.samples::<i32>().map(|v| (v.unwrap() as f64 * scale) as f32).collect()
            }
        }
    }

    #[test]
    fn bulk_reads_give_houds_samples_for_every_layout() {
        let mut state = 12_345u64;
        for (bits, format) in [
            (8, hound::SampleFormat::Int),
            (16, hound::SampleFormat::Int),
            (24, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Int),
            (32, hound::SampleFormat::Float),
        ] {
            let spec =
                hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: bits, sample_format: format };
            let range = if format == hound::SampleFormat::Float { 1_000_000 } else { 1i64 << (bits - 1) };
            // Values across the whole range, its ends included, longer than one block.
            let mut values: Vec<i32> = vec![(-range) as i32, (range - 1) as i32, 0];
            values.extend((0..3 * BLOCK_FRAMES * 8 + 5).map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((state >> 33) as i64 % (2 * range) - range) as i32
            }));
            let bytes = wav(spec, &values);
            assert_eq!(Bulk::of(&spec, &bytes[..64]).map(Bulk::bytes), Some(bits as usize / 8), "{bits} {format:?}");
            let mut bulk = Vec::new();
            let data = &bytes[bytes.len() - values.len() * bits as usize / 8..];
            Bulk::of(&spec, &bytes[..64]).unwrap().convert(data, &mut bulk);
            assert_eq!(bulk, by_hound(&bytes), "{bits}-bit {format:?}");
        }
    }

    #[test]
    fn a_wider_container_or_no_fmt_chunk_in_the_head_is_left_to_hound() {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let bytes = wav(spec, &[1, 2, 3, 4]);
        assert_eq!(container_bytes(&bytes), Some(2));
        assert_eq!(Bulk::of(&spec, &bytes[..20]), None, "the fmt chunk is cut off");
        let wide = hound::WavSpec { bits_per_sample: 12, ..spec };
        assert_eq!(Bulk::of(&wide, &bytes), None, "12-bit samples in 16-bit containers");
    }
}
