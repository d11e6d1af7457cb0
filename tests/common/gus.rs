//! A tiny GUS patch sample for the patch reader's and the data set's tests.

use timbrescope::data::gus::patch::PatchSample;

/// A 440 Hz sine at 22 kHz has a period of exactly 50 samples, so a loop of whole periods is
/// seamless; the data lasts 0.18 s.
pub fn sine_sample(amplitude: f32, modes: u8, rates: [u8; 6], offsets: [u8; 6]) -> PatchSample {
    PatchSample {
        data: (0..4000).map(|n| amplitude * (std::f32::consts::TAU * n as f32 / 50.0).sin()).collect(),
        sample_rate_hz: 22_000,
        low_freq_mhz: 0,
        high_freq_mhz: 20_000_000,
        root_freq_mhz: 440_000,
        loop_start: 1000.0,
        loop_end: 3000.0,
        envelope_rates: rates,
        envelope_offsets: offsets,
        modes,
    }
}
