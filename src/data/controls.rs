//! The control curves a renderer follows while a note plays (pitch bend and expression, once per
//! block): what every library's renderer understands, whoever draws them.

/// Controls change once per block: rustysynth's own block, 4 ms at 16 kHz.
pub const CONTROL_BLOCK: usize = 64;

/// Per-block control curves a renderer follows: the pitch's offset in cents and a gain in
/// (0, 1] (MIDI expression).
#[derive(Clone, Debug, PartialEq)]
pub struct Controls {
    pub cents: Vec<f32>,
    pub gain: Vec<f32>,
}

impl Controls {
    /// The control values in force at sample `n` (the last block's past the end).
    pub fn at(&self, n: usize) -> (f32, f32) {
        let b = (n / CONTROL_BLOCK).min(self.cents.len().saturating_sub(1));
        (self.cents.get(b).copied().unwrap_or(0.0), self.gain.get(b).copied().unwrap_or(1.0))
    }
}
