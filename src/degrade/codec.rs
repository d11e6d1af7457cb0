//! Lossy codecs, encoded and decoded in memory: MP3 (LAME, constant bit rate) and Opus
//! (libopus, constant bit rate, 20 ms frames). The codec's delay is removed so the output lines
//! up with the input to the sample and has its length.

use std::mem::MaybeUninit;

use mp3lame_encoder::{Builder, FlushNoGap, MonoPcm};

use super::DegradeError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Mp3,
    Opus,
}

/// MPEG-2 layer III bit rates (16, 22.05 and 24 kHz) that LAME can be set to.
pub const MP3_KBPS: [u32; 12] = [8, 16, 24, 32, 40, 48, 64, 80, 96, 112, 128, 160];
/// Opus accepts any rate in this range (kbit/s).
pub const OPUS_KBPS: [u32; 2] = [6, 510];
/// LAME's encoder delay (576) plus the layer III decoder's (528 + 1), in samples.
const MP3_DELAY: usize = 576 + 529;
/// Opus frames of 20 ms.
const OPUS_FRAME_SECS: f64 = 0.02;
/// libopus's encoder effort (0-10; its default is 10). At 1 the encoder is several times faster
/// here, which keeps a whole chain within its time budget; the stream is still a real Opus
/// stream at the requested rate, with slightly coarser coding decisions.
pub const OPUS_COMPLEXITY: i32 = 1;

/// The decoded signal and what the stream cost.
pub struct CodecOutput {
    pub samples: Vec<f32>,
    /// Bits of the encoded stream over its duration, in kbit/s.
    pub actual_kbps: f64,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Mp3 => "mp3",
            Codec::Opus => "opus",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Codec::Mp3, Codec::Opus].into_iter().find(|c| c.name() == s)
    }

    /// Checks a bit rate against what this codec can do.
    pub fn check_kbps(self, kbps: f64) -> Result<u32, DegradeError> {
        let whole = kbps.round();
        let ok = kbps.is_finite()
            && (kbps - whole).abs() < 1e-9
            && match self {
                Codec::Mp3 => MP3_KBPS.contains(&(whole as u32)),
                Codec::Opus => (f64::from(OPUS_KBPS[0])..=f64::from(OPUS_KBPS[1])).contains(&whole),
            };
        if ok {
            return Ok(whole as u32);
        }
        let allowed = match self {
            Codec::Mp3 => format!("MP3 at 16 kHz takes one of {MP3_KBPS:?} kbit/s"),
            Codec::Opus => format!("Opus takes whole kbit/s from {} to {}", OPUS_KBPS[0], OPUS_KBPS[1]),
        };
        Err(DegradeError::parameter("kbps", kbps, allowed))
    }

    /// The nearest bit rate this codec accepts (what a slider or a drawn value snaps to).
    pub fn nearest_kbps(self, kbps: f64) -> u32 {
        match self {
            Codec::Mp3 => *MP3_KBPS
                .iter()
                .min_by(|a, b| (f64::from(**a) - kbps).abs().total_cmp(&(f64::from(**b) - kbps).abs()))
                .expect("non-empty"),
            Codec::Opus => kbps.round().clamp(f64::from(OPUS_KBPS[0]), f64::from(OPUS_KBPS[1])) as u32,
        }
    }

    /// Encodes and decodes `samples` (mono, `sample_rate_hz`) at `kbps`.
    pub fn round_trip(self, samples: &[f32], sample_rate_hz: u32, kbps: f64) -> Result<CodecOutput, DegradeError> {
        let kbps = self.check_kbps(kbps)?;
        match self {
            Codec::Mp3 => mp3(samples, sample_rate_hz, kbps),
            Codec::Opus => opus(samples, sample_rate_hz, kbps),
        }
    }
}

fn codec_error(codec: &'static str, reason: impl std::fmt::Display) -> DegradeError {
    DegradeError::Codec { codec, reason: reason.to_string() }
}

fn mp3_bitrate(kbps: u32) -> mp3lame_encoder::Bitrate {
    use mp3lame_encoder::Bitrate::*;
    match kbps {
        8 => Kbps8,
        16 => Kbps16,
        24 => Kbps24,
        32 => Kbps32,
        40 => Kbps40,
        48 => Kbps48,
        64 => Kbps64,
        80 => Kbps80,
        96 => Kbps96,
        112 => Kbps112,
        128 => Kbps128,
        _ => Kbps160,
    }
}

fn mp3(samples: &[f32], sample_rate_hz: u32, kbps: u32) -> Result<CodecOutput, DegradeError> {
    if ![16_000, 22_050, 24_000].contains(&sample_rate_hz) {
        return Err(DegradeError::parameter(
            "sample_rate_hz",
            sample_rate_hz,
            "MP3 here runs at 16000, 22050 or 24000 Hz",
        ));
    }
    let err = |e: &dyn std::fmt::Display| codec_error("mp3", e);
    let mut builder = Builder::new().ok_or_else(|| err(&"LAME could not allocate an encoder"))?;
    builder.set_num_channels(1).map_err(|e| err(&e))?;
    builder.set_sample_rate(sample_rate_hz).map_err(|e| err(&e))?;
    // Without this LAME picks a lower output rate by itself at low bit rates.
    builder.set_output_sample_rate(std::num::NonZeroU32::new(sample_rate_hz)).map_err(|e| err(&e))?;
    builder.set_brate(mp3_bitrate(kbps)).map_err(|e| err(&e))?;
    builder.set_vbr_mode(mp3lame_encoder::VbrMode::Off).map_err(|e| err(&e))?;
    builder.set_mode(mp3lame_encoder::Mode::Mono).map_err(|e| err(&e))?;
    builder.set_quality(mp3lame_encoder::Quality::Good).map_err(|e| err(&e))?;
    builder.set_to_write_vbr_tag(false).map_err(|e| err(&e))?;
    let mut encoder = builder.build().map_err(|e| err(&e))?;
    // Silence after the clip carries its end out past the codec delay (and gives a clip shorter
    // than a frame whole frames to fill).
    let clamped: Vec<f32> =
        samples.iter().map(|s| s.clamp(-1.0, 1.0)).chain(std::iter::repeat_n(0.0, MP3_DELAY + 2 * 576)).collect();
    // LAME writes past a buffer without spare capacity: reserve its documented worst case, and
    // 7200 bytes more for the flush.
    let mut out: Vec<u8> = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(clamped.len()) + 7200);
    let written = encoder.encode(MonoPcm(clamped.as_slice()), out.spare_capacity_mut()).map_err(|e| err(&e))?;
    // SAFETY: LAME initialised `written` bytes of the spare capacity.
    unsafe { out.set_len(written) };
    let spare: &mut [MaybeUninit<u8>] = out.spare_capacity_mut();
    let flushed = encoder.flush::<FlushNoGap>(spare).map_err(|e| err(&e))?;
    // SAFETY: as above, for the flush.
    unsafe { out.set_len(written + flushed) };
    let decoded = crate::audio::load_clip_from_bytes("mp3 stream", &out).map_err(|e| err(&e))?;
    let stream_secs = decoded.samples.len() as f64 / f64::from(sample_rate_hz);
    let actual_kbps = out.len() as f64 * 8.0 / stream_secs.max(1e-9) / 1000.0;
    Ok(CodecOutput { samples: aligned(&decoded.samples, MP3_DELAY, samples.len()), actual_kbps })
}

fn opus(samples: &[f32], sample_rate_hz: u32, kbps: u32) -> Result<CodecOutput, DegradeError> {
    if ![8_000, 12_000, 16_000, 24_000, 48_000].contains(&sample_rate_hz) {
        return Err(DegradeError::parameter("sample_rate_hz", sample_rate_hz, "Opus runs at 8, 12, 16, 24 or 48 kHz"));
    }
    let err = |e: opus::Error| codec_error("opus", e);
    let mut encoder =
        opus::Encoder::new(sample_rate_hz, opus::Channels::Mono, opus::Application::Audio).map_err(err)?;
    encoder.set_bitrate(opus::Bitrate::Bits(kbps as i32 * 1000)).map_err(err)?;
    encoder.set_vbr(false).map_err(err)?;
    encoder.set_complexity(OPUS_COMPLEXITY).map_err(err)?;
    // Instruments, not speech: the encoder need not spend effort detecting which.
    encoder.set_signal(opus::Signal::Music).map_err(err)?;
    let lookahead = encoder.get_lookahead().map_err(err)?.max(0) as usize;
    let mut decoder = opus::Decoder::new(sample_rate_hz, opus::Channels::Mono).map_err(err)?;
    let frame = (OPUS_FRAME_SECS * f64::from(sample_rate_hz)) as usize;
    // Enough frames to carry the whole input out past the encoder's look-ahead.
    let frames = (samples.len() + lookahead).div_ceil(frame).max(1);
    let mut input = vec![0.0f32; frames * frame];
    input.iter_mut().zip(samples).for_each(|(d, s)| *d = s.clamp(-1.0, 1.0));
    let mut packet = [0u8; 1500];
    let mut decoded = vec![0.0f32; frames * frame];
    let mut bytes = 0usize;
    for (chunk, out) in input.chunks(frame).zip(decoded.chunks_mut(frame)) {
        let len = encoder.encode_float(chunk, &mut packet).map_err(err)?;
        bytes += len;
        let got = decoder.decode_float(&packet[..len], out, false).map_err(err)?;
        if got != frame {
            return Err(codec_error("opus", format!("decoded {got} samples from a {frame}-sample frame")));
        }
    }
    let actual_kbps = bytes as f64 * 8.0 / (frames as f64 * OPUS_FRAME_SECS) / 1000.0;
    Ok(CodecOutput { samples: aligned(&decoded, lookahead, samples.len()), actual_kbps })
}

/// `len` samples of `decoded` from `delay` on, zero-padded if the stream ended early.
fn aligned(decoded: &[f32], delay: usize, len: usize) -> Vec<f32> {
    let mut out = vec![0.0; len];
    if let Some(tail) = decoded.get(delay..) {
        let n = tail.len().min(len);
        out[..n].copy_from_slice(&tail[..n]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates_the_codec_refuses_are_named() {
        let e = Codec::Mp3.check_kbps(30.0).unwrap_err().to_string();
        assert!(e.contains("kbps = 30") && e.contains("MP3"), "{e}");
        let e = Codec::Opus.check_kbps(600.0).unwrap_err().to_string();
        assert!(e.contains("kbps = 600") && e.contains("6 to 510"), "{e}");
        assert!(Codec::Opus.check_kbps(f64::NAN).is_err());
        assert!(Codec::Opus.check_kbps(24.5).is_err());
        assert_eq!(Codec::Mp3.nearest_kbps(30.0), 32);
        assert_eq!(Codec::Mp3.nearest_kbps(55.0), 48);
        assert_eq!(Codec::Opus.nearest_kbps(24.4), 24);
    }
}
