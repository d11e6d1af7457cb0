//! A computed time-frequency view: values frame-major, with the axes that give them meaning.

use super::db;

/// How the frequency bins are spaced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FrequencyAxis {
    /// STFT: bin k is at k * sample_rate / n_fft.
    Linear { n_fft: usize },
    /// CQT: bin k is at fmin * 2^(k / bins_per_octave).
    Log { fmin_hz: f64, bins_per_octave: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// |X|
    Linear,
    /// 20 log10(max(|X|, 1e-5))
    Db,
}

/// How the values of a spectrogram are laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `[frames][bins]`: [`Spectrogram`]'s.
    FramesByBins,
    /// `[bins][frames]`: librosa's.
    BinsByFrames,
}

impl Layout {
    /// Where value (`bin`, `frame`) lives, per unit step of each.
    pub(crate) fn strides(self, bins: usize, frames: usize) -> (usize, usize) {
        match self {
            Self::FramesByBins => (1, bins),
            Self::BinsByFrames => (frames, 1),
        }
    }
}

/// Values stored frame-major: `values[frame * bins + bin]`, one contiguous run of bins per frame,
/// which is how transforms produce them and how the GPU reads them.
#[derive(Clone, Debug)]
pub struct Spectrogram {
    pub bins: usize,
    pub frames: usize,
    pub values: Vec<f32>,
    pub hop_len: usize,
    pub sample_rate_hz: u32,
    pub axis: FrequencyAxis,
    pub scale: Scale,
}

impl Spectrogram {
    /// A spectrogram of the same grid (bins, frames, hop, axis, scale) with no values yet.
    pub fn clone_shape(&self) -> Self {
        Self { values: Vec::new(), ..*self }
    }

    pub fn frame(&self, frame: usize) -> &[f32] {
        &self.values[frame * self.bins..(frame + 1) * self.bins]
    }

    pub fn get(&self, bin: usize, frame: usize) -> f32 {
        self.values[frame * self.bins + bin]
    }

    /// Centre frequency of a (fractional) bin.
    pub fn bin_to_hz(&self, bin: f64) -> f64 {
        match self.axis {
            FrequencyAxis::Linear { n_fft } => bin * self.sample_rate_hz as f64 / n_fft as f64,
            FrequencyAxis::Log { fmin_hz, bins_per_octave } => fmin_hz * 2f64.powf(bin / bins_per_octave as f64),
        }
    }

    /// Fractional bin of a frequency (inverse of [`Self::bin_to_hz`]).
    pub fn hz_to_bin(&self, freq_hz: f64) -> f64 {
        match self.axis {
            FrequencyAxis::Linear { n_fft } => freq_hz * n_fft as f64 / self.sample_rate_hz as f64,
            FrequencyAxis::Log { fmin_hz, bins_per_octave } => (freq_hz / fmin_hz).log2() * bins_per_octave as f64,
        }
    }

    /// Frames are centred: frame t describes the signal around t * hop.
    pub fn frame_to_secs(&self, frame: f64) -> f64 {
        frame * self.hop_len as f64 / self.sample_rate_hz as f64
    }

    pub fn secs_to_frame(&self, secs: f64) -> f64 {
        secs * self.sample_rate_hz as f64 / self.hop_len as f64
    }

    /// The same view in dB (a no-op when already in dB).
    pub fn into_db(mut self) -> Self {
        if self.scale == Scale::Linear {
            db::amplitudes_to_db_in_place(&mut self.values);
            self.scale = Scale::Db;
        }
        self
    }

    /// Values as [bins, frames] row-major, librosa's orientation.
    pub fn to_bins_by_frames(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.values.len()];
        for (t, frame) in self.values.chunks_exact(self.bins).enumerate() {
            for (k, &v) in frame.iter().enumerate() {
                out[k * self.frames + t] = v;
            }
        }
        out
    }

    /// `self - reference`, value by value, each first raised to `floor` (dB views): the Δ view of
    /// a degraded clip against its clean one, where what both leave below the floor counts as
    /// equal. Both must have the same shape (the same transform of clips of the same length).
    pub fn difference(&self, reference: &Spectrogram, floor: f32) -> Option<Spectrogram> {
        if (self.bins, self.frames, self.axis, self.scale)
            != (reference.bins, reference.frames, reference.axis, reference.scale)
        {
            return None;
        }
        let values = self.values.iter().zip(&reference.values).map(|(a, b)| a.max(floor) - b.max(floor)).collect();
        Some(Spectrogram { values, ..*self })
    }

    /// Largest value, or None when empty.
    pub fn max_value(&self) -> Option<f32> {
        self.values.iter().copied().reduce(f32::max)
    }
}
