//! Decoding audio files (WAV, FLAC, MP3, Ogg Vorbis) into mono clips at the analysis rate.
//!
//! The format is sniffed from the content, never the file name. WAV goes through hound; anything
//! hound refuses, and every compressed format, goes through symphonia. Decoding, downmixing (mean
//! of the channels) and resampling run block by block, so memory holds the 16 kHz result and
//! one block of the source, whatever the source's rate and channel count.
//!
//! Damaged input policy: a WAV whose data stops before the length its header states is an error
//! (the header makes truncation certain, and a silently shortened clip would skew any analysis).
//! Compressed streams carry no such promise and are often cut mid-frame by tools, so for those
//! whatever decodes is kept, with a `log::warn!` saying how many packets were skipped or that the
//! stream ended early. A decoder panic on malformed data is caught and reported as corruption.

use std::fs::File;
use std::io::{self, Cursor, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::clip::Clip;
pub use super::sink::{AudioError, MAX_CLIP_SECS};
use super::sink::{MonoSink, Rate, check_duration, read_up_to};
use super::wav::{HoundFailure, decode_wav_hound};

/// Loads any supported audio file as a mono clip at [`ANALYSIS_RATE_HZ`](super::ANALYSIS_RATE_HZ).
pub fn load_clip(path: &Path) -> Result<Clip, AudioError> {
    load(path, Rate::Analysis)
}

/// Loads an audio file as a mono clip at its own rate (the mean of its channels, nothing
/// resampled): what the decoders give, to compare with reference decoders.
pub fn load_clip_native(path: &Path) -> Result<Clip, AudioError> {
    load(path, Rate::Native)
}

fn load(path: &Path, rate: Rate) -> Result<Clip, AudioError> {
    let label = path.display().to_string();
    let unreadable = |error| AudioError::Unreadable { path: label.clone(), error };
    let file = File::open(path).map_err(unreadable)?;
    let byte_len = file.metadata().map_err(unreadable)?.len();
    if byte_len == 0 {
        return Err(AudioError::NotAudio { path: label, detail: "the file is empty".into() });
    }
    let (samples, rate_hz) = decode(&label, file, rate)?;
    let name = path.file_stem().map_or_else(|| label.clone(), |s| s.to_string_lossy().into_owned());
    let mut clip = Clip::new(name, samples, rate_hz);
    clip.source = Some(PathBuf::from(path));
    Ok(clip)
}

/// Loads an in-memory audio file; `name` labels the clip and every error message.
pub fn load_clip_from_bytes(name: &str, bytes: &[u8]) -> Result<Clip, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::NotAudio { path: name.into(), detail: "the data is empty".into() });
    }
    let (samples, rate_hz) = decode(name, Cursor::new(bytes), Rate::Analysis)?;
    Ok(Clip::new(name, samples, rate_hz))
}

/// Sniffs, decodes, downmixes and resamples; catches decoder panics on malformed data.
fn decode<S: MediaSource>(label: &str, source: S, rate: Rate) -> Result<(Vec<f32>, u32), AudioError> {
    match catch_unwind(AssertUnwindSafe(|| decode_inner(label, source, rate))) {
        Ok(result) => result,
        Err(_) => {
            Err(AudioError::Corrupt { path: label.into(), detail: "the decoder failed on malformed data".into() })
        }
    }
}

fn decode_inner<S: MediaSource>(label: &str, mut source: S, rate: Rate) -> Result<(Vec<f32>, u32), AudioError> {
    let unreadable = |error| AudioError::Unreadable { path: label.into(), error };
    // Enough for a WAV's fmt chunk, wherever a few chunks before it put it.
    let mut head = [0u8; 512];
    let head_len = read_up_to(&mut source, &mut head).map_err(unreadable)?;
    let head = &head[..head_len];
    source.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    if head_len >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        match decode_wav_hound(label, &mut source, head, rate) {
            Err(HoundFailure::Refused { malformed, detail: hound_detail }) => {
                // hound reads only plain PCM and float and is strict about the header; symphonia
                // knows more WAV encodings. If it cannot read the file either, hound's reason is
                // the clearer one.
                source.seek(SeekFrom::Start(0)).map_err(unreadable)?;
                decode_symphonia(label, Box::new(source), rate).map_err(|e| match e {
                    AudioError::NotAudio { path, .. } | AudioError::Corrupt { path, .. } if malformed => {
                        AudioError::Corrupt { path, detail: format!("malformed WAV header ({hound_detail})") }
                    }
                    AudioError::NotAudio { path, detail } | AudioError::UnsupportedFormat { path, detail } => {
                        AudioError::UnsupportedFormat {
                            path,
                            detail: format!("WAV encoding not supported ({hound_detail}; {detail})"),
                        }
                    }
                    other => other,
                })
            }
            Err(HoundFailure::Fatal(e)) => Err(e),
            Ok(samples) => Ok(samples),
        }
    } else {
        decode_symphonia(label, Box::new(source), rate)
    }
}

fn decode_symphonia(label: &str, source: Box<dyn MediaSource + '_>, rate: Rate) -> Result<(Vec<f32>, u32), AudioError> {
    let mss = MediaSourceStream::new(source, Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(&Hint::new(), mss, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| match e {
            SymphoniaError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => AudioError::Corrupt {
                path: label.into(),
                detail: "the data ends before the header is complete (truncated?)".into(),
            },
            SymphoniaError::Unsupported(_) => {
                AudioError::NotAudio { path: label.into(), detail: "the content matches no known audio format".into() }
            }
            SymphoniaError::IoError(error) => AudioError::Unreadable { path: label.into(), error },
            other => AudioError::Corrupt { path: label.into(), detail: other.to_string() },
        })?;
    let track = format.default_track(TrackType::Audio).ok_or_else(|| AudioError::NotAudio {
        path: label.into(),
        detail: "the container has no audio track".into(),
    })?;
    let track_id = track.id;
    let params = track.codec_params.as_ref().and_then(|p| p.audio()).cloned().ok_or_else(|| AudioError::NotAudio {
        path: label.into(),
        detail: "the audio track has no codec parameters".into(),
    })?;
    if let (Some(frames), Some(rate_hz)) = (track.num_frames, params.sample_rate)
        && rate_hz > 0
    {
        check_duration(label, frames, rate_hz)?;
    }
    let expected_frames = track.num_frames;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::UnsupportedFormat { path: label.into(), detail: e.to_string() })?;

    let mut sink: Option<MonoSink> = None;
    let mut interleaved: Vec<f32> = Vec::new();
    let mut skipped_packets = 0u64;
    let mut last_error = String::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                log::warn!("{label}: the stream ends mid-packet; keeping what decoded");
                break;
            }
            Err(SymphoniaError::ResetRequired) => {
                log::warn!("{label}: the stream changes its track layout; keeping the first part");
                break;
            }
            Err(SymphoniaError::IoError(error)) => {
                return Err(AudioError::Unreadable { path: label.into(), error });
            }
            Err(e) => {
                if sink.is_none() {
                    return Err(AudioError::Corrupt { path: label.into(), detail: e.to_string() });
                }
                log::warn!("{label}: stopped at malformed data ({e}); keeping what decoded");
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(msg)) => {
                skipped_packets += 1;
                last_error = msg.to_string();
                continue;
            }
            Err(SymphoniaError::IoError(e)) => {
                skipped_packets += 1;
                last_error = e.to_string();
                continue;
            }
            Err(e @ SymphoniaError::Unsupported(_)) => {
                return Err(AudioError::UnsupportedFormat { path: label.into(), detail: e.to_string() });
            }
            Err(e) => return Err(AudioError::Corrupt { path: label.into(), detail: e.to_string() }),
        };
        if buffer.frames() == 0 {
            continue;
        }
        let rate_hz = buffer.spec().rate();
        let channels = buffer.spec().channels().count();
        let sink = match &mut sink {
            Some(sink) if sink.rate_hz != rate_hz => {
                return Err(AudioError::UnsupportedFormat {
                    path: label.into(),
                    detail: format!("the sample rate changes mid-stream ({} Hz to {rate_hz} Hz)", sink.rate_hz),
                });
            }
            Some(sink) => sink,
            None => sink.insert(MonoSink::new(label, rate_hz, expected_frames, rate)?),
        };
        buffer.copy_to_vec_interleaved(&mut interleaved);
        sink.push_interleaved(&interleaved, channels)?;
    }
    match sink {
        Some(sink) => {
            if skipped_packets > 0 {
                log::warn!("{label}: skipped {skipped_packets} undecodable packets ({last_error})");
            }
            sink.finish()
        }
        None if skipped_packets > 0 => Err(AudioError::Corrupt {
            path: label.into(),
            detail: format!("none of {skipped_packets} packets decoded ({last_error})"),
        }),
        None => Err(AudioError::Empty { path: label.into() }),
    }
}
