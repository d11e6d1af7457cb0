//! A tiny but valid SF2 SoundFont built in memory, so data-set tests need not ship or find the
//! 148 MB FluidR3 bank.
//!
//! Each [`TinyPreset`] becomes one melodic preset (bank 0) -> one instrument -> one zone -> one
//! looped mono sample. The sample is stored at [`SAMPLE_RATE_HZ`] = 44 kHz with root key
//! [`ROOT_KEY`] = 69 (440 Hz), so one period is exactly [`PERIOD_SAMPLES`] = 100 samples and a loop
//! of whole periods is seamless. rustysynth resamples with linear interpolation and no band
//! limiting: partials above the output Nyquist alias, so keep `harmonics` short for high keys.
//!
//! The layout follows SF2 2.01 as rustysynth 1.3 reads it: INFO, sdta, pdta lists in that order;
//! every pdta sub-chunk present, each ending in its terminal record; every chunk size even
//! (rustysynth does not skip RIFF pad bytes, so strings are zero-padded to even length instead).

use std::path::{Path, PathBuf};

/// One melodic preset (bank 0) of the tiny bank.
pub struct TinyPreset {
    pub program: u8,
    pub name: &'static str,
    /// Lowest and highest MIDI key that sound; other keys find no zone and render silence.
    pub key_lo: u8,
    pub key_hi: u8,
    /// Amplitudes of partials 1, 2, 3, ... (sine phase) of the looped waveform; normalised to a
    /// fixed peak, so only their ratios matter.
    pub harmonics: Vec<f32>,
}

/// Sample rate of the stored waveforms: 440 Hz is then an integer period.
pub const SAMPLE_RATE_HZ: u32 = 44_000;
/// MIDI key the samples sound at when played unshifted.
pub const ROOT_KEY: u8 = 69;
/// One period of the root key's fundamental, in samples (44000 / 440).
pub const PERIOD_SAMPLES: usize = 100;
/// Volume-envelope release in timecents: 2^(-2400/1200) = 0.25 s to -80 dB, so a note is silent
/// well within NSynth's 1 s of release.
pub const RELEASE_TIMECENTS: i16 = -2400;

/// Periods stored per sample: one before the loop and one after, as SF2 asks for at least eight
/// data points either side of the loop for interpolation.
const PERIODS: usize = 8;
/// SF2 requires at least 46 zero samples after each sample.
const ZERO_TAIL: usize = 46;
/// Peak of each waveform, as a fraction of i16 full scale (headroom for rounding).
const PEAK: f32 = 0.8;

// Generator operators (SF2 2.01 section 8.1.2).
const GEN_RELEASE_VOL_ENV: u16 = 38;
const GEN_INSTRUMENT: u16 = 41;
const GEN_KEY_RANGE: u16 = 43;
const GEN_SAMPLE_ID: u16 = 53;
const GEN_SAMPLE_MODES: u16 = 54;
/// sampleModes value: loop continuously, also through the release.
const LOOP_CONTINUOUSLY: u16 = 1;
/// shdr sampleType of a mono sample.
const MONO_SAMPLE: u16 = 1;

/// Bytes of a complete SF2 file: RIFF 'sfbk' with INFO, sdta (16-bit smpl) and pdta lists.
pub fn tiny_sf2(presets: &[TinyPreset]) -> Vec<u8> {
    assert!(!presets.is_empty(), "an SF2 bank needs at least one preset");
    assert!(presets.len() < usize::from(u16::MAX), "bag indices are 16-bit");

    // Sample data and one header per preset.
    let mut smpl = Vec::new();
    let mut shdr = Vec::new();
    for (i, preset) in presets.iter().enumerate() {
        let start = (smpl.len() / 2) as u32;
        for s in waveform(&preset.harmonics) {
            smpl.extend_from_slice(&s.to_le_bytes());
        }
        smpl.resize(smpl.len() + 2 * ZERO_TAIL, 0);
        let period = PERIOD_SAMPLES as u32;
        shdr.extend(name20(&format!("sample{i}")));
        for v in [start, start + PERIODS as u32 * period, start + period, start + (PERIODS as u32 - 1) * period] {
            shdr.extend(v.to_le_bytes()); // start, end, loop start, loop end (first sample after the loop)
        }
        shdr.extend(SAMPLE_RATE_HZ.to_le_bytes());
        shdr.extend([ROOT_KEY, 0]); // original pitch, pitch correction (cents)
        shdr.extend(0_u16.to_le_bytes()); // sample link: none, it is mono
        shdr.extend(MONO_SAMPLE.to_le_bytes());
    }
    shdr.extend(name20("EOS"));
    shdr.resize(shdr.len() + 26, 0);

    // Presets: one zone each, whose only generator selects the instrument of the same index.
    let (mut phdr, mut pbag, mut pgen) = (Vec::new(), Vec::new(), Vec::new());
    for (i, preset) in presets.iter().enumerate() {
        phdr.extend(name20(preset.name));
        phdr.extend(u16::from(preset.program).to_le_bytes());
        phdr.extend(0_u16.to_le_bytes()); // bank 0: melodic
        phdr.extend((i as u16).to_le_bytes()); // first pbag entry
        phdr.resize(phdr.len() + 12, 0); // library, genre, morphology: reserved
        pbag.extend(bag(i, 0));
        pgen.extend(generator(GEN_INSTRUMENT, i as u16));
    }
    // Terminal records point one past the last zone/generator, so the last real one has an end.
    phdr.extend(name20("EOP"));
    phdr.resize(phdr.len() + 4, 0);
    phdr.extend((presets.len() as u16).to_le_bytes());
    phdr.resize(phdr.len() + 12, 0);
    pbag.extend(bag(presets.len(), 0));
    pgen.extend(generator(0, 0));

    // Instruments: one zone each; keyRange must come first and sampleID last (SF2 8.1.2).
    let (mut inst, mut ibag, mut igen) = (Vec::new(), Vec::new(), Vec::new());
    for (i, preset) in presets.iter().enumerate() {
        assert!(preset.key_lo <= preset.key_hi && preset.key_hi <= 127, "bad key range in {}", preset.name);
        inst.extend(name20(preset.name));
        inst.extend((i as u16).to_le_bytes());
        ibag.extend(bag(igen.len() / 4, 0));
        igen.extend(generator(GEN_KEY_RANGE, u16::from_le_bytes([preset.key_lo, preset.key_hi])));
        igen.extend(generator(GEN_SAMPLE_MODES, LOOP_CONTINUOUSLY));
        igen.extend(generator(GEN_RELEASE_VOL_ENV, RELEASE_TIMECENTS as u16));
        igen.extend(generator(GEN_SAMPLE_ID, i as u16));
    }
    inst.extend(name20("EOI"));
    inst.extend((presets.len() as u16).to_le_bytes());
    ibag.extend(bag(igen.len() / 4, 0));
    igen.extend(generator(0, 0));

    let terminal_mod = [0_u8; 10]; // no modulators: only the terminal record
    let info = list(
        b"INFO",
        &[
            chunk(b"ifil", &[2, 0, 1, 0]), // SF2 version 2.01
            chunk(b"isng", &zstr("EMU8000")),
            chunk(b"INAM", &zstr("timbrescope tiny test bank")),
        ],
    );
    let sdta = list(b"sdta", &[chunk(b"smpl", &smpl)]);
    let pdta = list(
        b"pdta",
        &[
            chunk(b"phdr", &phdr),
            chunk(b"pbag", &pbag),
            chunk(b"pmod", &terminal_mod),
            chunk(b"pgen", &pgen),
            chunk(b"inst", &inst),
            chunk(b"ibag", &ibag),
            chunk(b"imod", &terminal_mod),
            chunk(b"igen", &igen),
            chunk(b"shdr", &shdr),
        ],
    );
    let mut body = b"sfbk".to_vec();
    body.extend(info.into_iter().chain(sdta).chain(pdta));
    chunk(b"RIFF", &body)
}

/// Writes [`tiny_sf2`] to `dir/name` and returns the path.
pub fn write_tiny_sf2(dir: &Path, name: &str, presets: &[TinyPreset]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, tiny_sf2(presets)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// `PERIODS` whole periods of the partials, scaled so the peak is `PEAK` of full scale.
fn waveform(harmonics: &[f32]) -> Vec<i16> {
    let period: Vec<f64> = (0..PERIOD_SAMPLES)
        .map(|n| {
            let phase = std::f64::consts::TAU * n as f64 / PERIOD_SAMPLES as f64;
            harmonics.iter().enumerate().map(|(k, &a)| f64::from(a) * ((k + 1) as f64 * phase).sin()).sum()
        })
        .collect();
    let peak = period.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let scale = if peak > 0.0 { f64::from(PEAK) * f64::from(i16::MAX) / peak } else { 0.0 };
    period.iter().map(|v| (v * scale).round() as i16).cycle().take(PERIODS * PERIOD_SAMPLES).collect()
}

/// A RIFF chunk; every size here is even, so no pad byte is ever needed.
fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    assert!(data.len().is_multiple_of(2), "odd chunk {}", String::from_utf8_lossy(id));
    let mut out = id.to_vec();
    out.extend((data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

fn list(kind: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
    chunk(b"LIST", &[kind.as_slice(), &chunks.concat()].concat())
}

/// Zero-terminated string padded with zeros to an even length, as SF2 INFO strings must be.
fn zstr(s: &str) -> Vec<u8> {
    let mut out = s.as_bytes().to_vec();
    out.resize((s.len() + 2) & !1, 0);
    out
}

/// A 20-byte record name: at most 19 ASCII characters and a terminating zero.
fn name20(s: &str) -> [u8; 20] {
    let mut out = [0; 20];
    let bytes = s.as_bytes();
    let len = bytes.len().min(19);
    out[..len].copy_from_slice(&bytes[..len]);
    out
}

fn bag(generator_index: usize, modulator_index: u16) -> [u8; 4] {
    let g = (generator_index as u16).to_le_bytes();
    let m = modulator_index.to_le_bytes();
    [g[0], g[1], m[0], m[1]]
}

fn generator(operator: u16, amount: u16) -> [u8; 4] {
    let (o, a) = (operator.to_le_bytes(), amount.to_le_bytes());
    [o[0], o[1], a[0], a[1]]
}
