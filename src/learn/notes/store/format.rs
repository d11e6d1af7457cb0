//! One shard's bytes: a header, each note's audio fingerprint, where each note's record ends,
//! each record's checksum, the records, and the raw frames' per-bin sums of each split; the last
//! 8 bytes checksum everything but the records. A record is checked against its own checksum
//! when it is read, so opening a store need not read every record, and none goes unchecked.
//!
//! A record holds the note's power (f64), each view's loudest value (f32) and the time-pooled
//! views as 8-bit steps below it. Each step is stored as its difference from the same bin in the
//! frame before, and the record compressed with zstd (level 1): a note changes slowly from frame
//! to frame and decays into silence, so the differences are small and mostly repeat. On the
//! scale benchmark's notes this takes a record from 79 KB to 33.8 KB, and decoding one takes
//! tens of microseconds. The record ends are kept in memory, so note `i` is still one
//! positional read.

use super::super::inputs::RawViews;
use super::super::moments::Moments;

pub const MAGIC: [u8; 8] = *b"TSSTORE\0";
pub const HEADER_BYTES: usize = 64;
/// The splits whose raw-frame sums a shard keeps: train, valid, test, test_bank, and notes
/// without one.
pub const GROUPS: usize = 5;

/// The geometry of a store's notes, from its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub frames: usize,
    pub stft_bins: usize,
    pub cqt_bins: usize,
}

impl Geometry {
    pub fn values(&self) -> usize {
        self.frames * (self.stft_bins + self.cqt_bins)
    }

    /// Power, two tops, the quantised values, padded to 8 bytes: a record before compression.
    pub fn record_bytes(&self) -> usize {
        (16 + self.values()).div_ceil(8) * 8
    }

    pub fn moments_bytes(&self) -> usize {
        GROUPS * (8 + 16 * (self.stft_bins + self.cqt_bins))
    }

    /// Where the record ends start: after the header and the fingerprints.
    pub fn ends_offset(notes: usize) -> usize {
        HEADER_BYTES + 8 * notes
    }

    /// Where the records' checksums start: after the record ends.
    pub fn sums_offset(notes: usize) -> usize {
        HEADER_BYTES + 16 * notes
    }

    pub fn records_offset(notes: usize) -> usize {
        HEADER_BYTES + 24 * notes
    }

    /// The size of a complete shard of `notes` notes whose compressed records take `records`
    /// bytes.
    pub fn shard_bytes(&self, notes: usize, records: usize) -> usize {
        Self::records_offset(notes) + records + self.moments_bytes() + 8
    }
}

/// A compressed record's checksum.
pub fn record_sum(record: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(record)
}

/// What a shard's header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub format: u32,
    pub notes: u32,
    pub first: u64,
    pub geometry: Geometry,
    pub key: u64,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut out = [0u8; HEADER_BYTES];
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&self.format.to_le_bytes());
        out[12..16].copy_from_slice(&self.notes.to_le_bytes());
        out[16..24].copy_from_slice(&self.first.to_le_bytes());
        out[24..28].copy_from_slice(&(self.geometry.frames as u32).to_le_bytes());
        out[28..32].copy_from_slice(&(self.geometry.stft_bins as u32).to_le_bytes());
        out[32..36].copy_from_slice(&(self.geometry.cqt_bins as u32).to_le_bytes());
        out[40..48].copy_from_slice(&self.key.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < HEADER_BYTES || bytes[..8] != MAGIC {
            return Err("it is not a timbrescope store shard".into());
        }
        let u32_at = |k: usize| u32::from_le_bytes(bytes[k..k + 4].try_into().expect("4 bytes"));
        let u64_at = |k: usize| u64::from_le_bytes(bytes[k..k + 8].try_into().expect("8 bytes"));
        Ok(Self {
            format: u32_at(8),
            notes: u32_at(12),
            first: u64_at(16),
            geometry: Geometry {
                frames: u32_at(24) as usize,
                stft_bins: u32_at(28) as usize,
                cqt_bins: u32_at(32) as usize,
            },
            key: u64_at(40),
        })
    }
}

/// The raw frames' sums of each group, appended after the records.
pub fn encode_moments(groups: &[(Moments, Moments); GROUPS], out: &mut Vec<u8>) {
    for (stft, cqt) in groups {
        out.extend_from_slice(&stft.count.to_le_bytes());
        for m in [stft, cqt] {
            for v in m.sum.iter().chain(&m.sum_sq) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

pub fn decode_moments(bytes: &[u8], g: &Geometry) -> [(Moments, Moments); GROUPS] {
    let mut at = 0;
    let mut next = || {
        let v = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        at += 8;
        v
    };
    std::array::from_fn(|_| {
        let count = next();
        let mut views = [g.stft_bins, g.cqt_bins].map(|bins| {
            let sum = (0..bins).map(|_| f64::from_bits(next())).collect();
            let sum_sq = (0..bins).map(|_| f64::from_bits(next())).collect();
            Moments { count, sum, sum_sq }
        });
        let cqt = std::mem::replace(&mut views[1], Moments::new(0));
        let stft = std::mem::replace(&mut views[0], Moments::new(0));
        (stft, cqt)
    })
}

/// Steps of the stored dB values below each view's loudest.
pub const STEP_DB: f32 = 0.5;

/// Quantises one view: 0 at its loudest value, one step per [`STEP_DB`], 255 (127.5 dB down) at
/// most. The default floor limits the range to 80 dB, and the dB scale itself ends at -100 dB.
fn quantise(values: &[f32], out: &mut Vec<u8>) -> f32 {
    let top = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    out.extend(values.iter().map(|&x| ((top - x) / STEP_DB).round().min(255.0) as u8));
    top
}

/// zstd's level for records: higher levels gained under 1% on the scale benchmark's notes.
const ZSTD_LEVEL: i32 = 1;

thread_local! {
    // One context per thread, kept: making one per record costs more than decoding it.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// A note's record, compressed: its power and its time-pooled views.
pub fn encode_record(power: f64, raw: &RawViews, g: &Geometry) -> Vec<u8> {
    let mut plain = plain_record(power, raw, g);
    for (at, bins) in view_spans(g) {
        let view = &mut plain[at..at + g.frames * bins];
        // Differences from the frame before, last frame first so each reads its predecessor.
        for f in (1..g.frames).rev() {
            let (before, this) = view.split_at_mut(f * bins);
            for (x, &p) in this[..bins].iter_mut().zip(&before[(f - 1) * bins..]) {
                *x = x.wrapping_sub(p);
            }
        }
    }
    zstd::bulk::compress(&plain, ZSTD_LEVEL).expect("zstd compresses into a growing buffer")
}

/// A compressed record back as [`plain_record`] wrote it, or why it cannot be.
pub fn decompress_record(compressed: &[u8], g: &Geometry) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(g.record_bytes());
    let decoded = DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = match slot {
            Some(d) => d,
            None => slot.insert(zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?),
        };
        decompressor.decompress_to_buffer(compressed, &mut out).map_err(|e| e.to_string())
    });
    match decoded {
        Ok(n) if n == g.record_bytes() => {}
        Ok(n) => return Err(format!("a record decompresses to {n} bytes, not {}", g.record_bytes())),
        Err(e) => return Err(format!("a record does not decompress ({e})")),
    }
    for (at, bins) in view_spans(g) {
        let view = &mut out[at..at + g.frames * bins];
        for f in 1..g.frames {
            let (before, this) = view.split_at_mut(f * bins);
            for (x, &p) in this[..bins].iter_mut().zip(&before[(f - 1) * bins..]) {
                *x = x.wrapping_add(p);
            }
        }
    }
    Ok(out)
}

/// Where each view's steps start in a record, and its bins.
fn view_spans(g: &Geometry) -> [(usize, usize); 2] {
    [(16, g.stft_bins), (16 + g.frames * g.stft_bins, g.cqt_bins)]
}

fn plain_record(power: f64, raw: &RawViews, g: &Geometry) -> Vec<u8> {
    let mut out = Vec::with_capacity(g.record_bytes());
    out.extend_from_slice(&power.to_le_bytes());
    out.extend_from_slice(&[0u8; 8]);
    let stft_top = quantise(&raw.stft, &mut out);
    let cqt_top = quantise(&raw.cqt, &mut out);
    out[8..12].copy_from_slice(&stft_top.to_le_bytes());
    out[12..16].copy_from_slice(&cqt_top.to_le_bytes());
    out.resize(g.record_bytes(), 0);
    out
}

/// A view as stored: its loudest value and its byte steps below it.
pub type Stepped<'a> = (f32, &'a [u8]);

/// A record's power and each view as stored.
pub fn record_parts<'a>(bytes: &'a [u8], g: &Geometry) -> (f64, Stepped<'a>, Stepped<'a>) {
    let power = f64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let top = |k: usize| f32::from_le_bytes(bytes[k..k + 4].try_into().expect("4 bytes"));
    let split = 16 + g.frames * g.stft_bins;
    (power, (top(8), &bytes[16..split]), (top(12), &bytes[split..split + g.frames * g.cqt_bins]))
}

pub fn decode_record(bytes: &[u8], g: &Geometry) -> (f64, RawViews) {
    let (power, (stft_top, stft), (cqt_top, cqt)) = record_parts(bytes, g);
    // A table of the 256 levels below each top: one lookup per value.
    let view = |q: &[u8], top: f32| {
        let levels: [f32; 256] = std::array::from_fn(|v| top - v as f32 * STEP_DB);
        q.iter().map(|&v| levels[usize::from(v)]).collect()
    };
    let raw = RawViews {
        stft: view(stft, stft_top),
        cqt: view(cqt, cqt_top),
        stft_bins: g.stft_bins,
        cqt_bins: g.cqt_bins,
        frames: g.frames,
    };
    (power, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_each_value_within_half_a_step() {
        let g = Geometry { frames: 3, stft_bins: 2, cqt_bins: 5 };
        // Values spread over 140 dB: those more than 127.5 dB below the top sit at the last step.
        let stft: Vec<f32> = (0..6).map(|k| -100.0 + 23.3 * k as f32).collect();
        let cqt: Vec<f32> = (0..15).map(|k| 12.0 - 9.7 * k as f32).collect();
        let raw = RawViews { stft: stft.clone(), cqt: cqt.clone(), stft_bins: 2, cqt_bins: 5, frames: 3 };
        let bytes = decompress_record(&encode_record(0.125, &raw, &g), &g).unwrap();
        assert_eq!(bytes.len(), g.record_bytes());
        let (power, back) = decode_record(&bytes, &g);
        assert_eq!(power, 0.125);
        for (orig, got) in [(&stft, &back.stft), (&cqt, &back.cqt)] {
            let top = orig.iter().copied().fold(f32::MIN, f32::max);
            for (x, y) in orig.iter().zip(got) {
                let expected = x.max(top - 255.0 * STEP_DB);
                assert!((expected - y).abs() <= STEP_DB / 2.0 + 1e-4, "{x} came back as {y}");
            }
        }
        let compressed = encode_record(0.125, &raw, &g);
        assert!(decompress_record(&compressed[..compressed.len() - 1], &g).is_err());
        let header = Header { format: 1, notes: 7, first: 14, geometry: g, key: 0xfeed };
        assert_eq!(Header::decode(&header.encode()).unwrap(), header);
        assert!(Header::decode(&[0u8; HEADER_BYTES]).is_err());
    }
}
