//! Which instruments sound when: the model over sliding windows of a clip, each window heard as
//! a note is (zero-padded to the model's 4 s), and the masks the mask head gives the instruments
//! it hears.

use candle_core::Device;
use serde::Serialize;

use crate::features::Analyzer;
use crate::learn::error::LearnError;
use crate::learn::explanation::predict::Predictor;
use crate::learn::notes::batch::to_tensors;
use crate::learn::notes::inputs::{InputShape, NOTE_RATE_HZ, NOTE_SAMPLES, NoteInputs, raw_views};
use crate::learn::scoring::vote::Voter;

/// Windows scored per pass through the network.
const BATCH: usize = 32;

/// Per-class presence over time: `probabilities[w][class]` for the window starting at
/// `w * hop_secs`, each `window_secs` long.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Activity {
    pub hop_secs: f64,
    pub window_secs: f64,
    pub classes: Vec<String>,
    pub probabilities: Vec<Vec<f32>>,
    /// Scores from the multi-label head (each class its own sigmoid), or else the softmax of the
    /// instrument head (the classes share each window).
    pub multi_label: bool,
}

impl Activity {
    /// The classes that reach `threshold` in some window, most active first.
    pub fn active(&self, threshold: f32) -> Vec<usize> {
        let peak = |c: usize| self.probabilities.iter().map(|p| p[c]).fold(0f32, f32::max);
        let mut active: Vec<usize> = (0..self.classes.len()).filter(|&c| peak(c) >= threshold).collect();
        active.sort_by(|&a, &b| peak(b).total_cmp(&peak(a)));
        active
    }
}

/// The model over windows of `window_secs` every `hop_secs` (the last one reaching the clip's
/// end; a clip shorter than a window is one window).
pub fn activity(
    predictor: &Predictor,
    samples: &[f32],
    window_secs: f64,
    hop_secs: f64,
) -> Result<Activity, LearnError> {
    let bad = |problem: String| LearnError::Config { path: "activity".into(), problem };
    if !(window_secs > 0.0 && window_secs <= NOTE_SAMPLES as f64 / f64::from(NOTE_RATE_HZ)) {
        return Err(bad(format!("the window must last (0, 4] s, got {window_secs}")));
    }
    if !(hop_secs > 0.0 && hop_secs <= window_secs) {
        return Err(bad(format!("the hop must lie in (0, window], got {hop_secs}")));
    }
    let rate = f64::from(NOTE_RATE_HZ);
    let (window, hop) = ((window_secs * rate) as usize, ((hop_secs * rate) as usize).max(1));
    let windows = if samples.len() <= window { 1 } else { (samples.len() - window).div_ceil(hop) + 1 };
    let starts: Vec<usize> = (0..windows).map(|w| w * hop).collect();
    let meta = &predictor.model.meta;
    let c = &meta.spec.classes;
    let instruments = c.heads[0].1;
    let multi_label = !c.multi_label.is_empty();
    let mut analyzer = Analyzer::default();
    let mut probabilities = Vec::with_capacity(starts.len());
    for chunk in starts.chunks(BATCH) {
        let inputs: Vec<NoteInputs> = chunk
            .iter()
            .map(|&s| {
                let piece = &samples[s.min(samples.len())..(s + window).min(samples.len())];
                meta.standardizer.apply(&raw_views(&mut analyzer, piece), &meta.spec.input)
            })
            .collect();
        let refs: Vec<&NoteInputs> = inputs.iter().collect();
        let shape = predictor.shape();
        let p = Voter::none().probabilities(&predictor.model.model, &shape, &refs, &Device::Cpu)?;
        if multi_label {
            probabilities.extend(p.multi.into_iter().map(|row| row[..instruments].to_vec()));
        } else {
            probabilities.extend(p.classes.into_iter().next().unwrap_or_default());
        }
    }
    Ok(Activity {
        hop_secs: hop as f64 / rate,
        window_secs: window as f64 / rate,
        classes: meta.primary_classes().to_vec(),
        probabilities,
        multi_label,
    })
}

/// The mask head's masks for some classes over a clip's 4 s from its onset, normalised to share
/// each cell: `masks[k][frame * bins + bin]` on the model's grid (pooled frames and bins).
#[derive(Clone, Debug, PartialEq)]
pub struct PredictedMasks {
    pub classes: Vec<usize>,
    pub frames: usize,
    pub bins: usize,
    pub time_pool: usize,
    pub bin_pool: usize,
    /// Where the masked 4 s start in the clip, in samples.
    pub start: usize,
    pub masks: Vec<Vec<f32>>,
}

impl PredictedMasks {
    /// Mask `k` spread over a full-resolution grid of `bins` x `frames` (bin-major, as a
    /// mixture file's masks), for a clip whose frames start at sample 0 every `hop` samples:
    /// outside the masked 4 s, 0.
    pub fn on_grid(&self, k: usize, bins: usize, frames: usize, hop: usize) -> Vec<f32> {
        let first = self.start / hop.max(1);
        let mut out = vec![0f32; bins * frames];
        for b in 0..bins {
            let pb = (b / self.bin_pool).min(self.bins - 1);
            for f in first..frames {
                let pf = (f - first) / self.time_pool;
                if pf >= self.frames {
                    break;
                }
                out[b * frames + f] = self.masks[k][pf * self.bins + pb];
            }
        }
        out
    }
}

impl Predictor {
    /// The masks of `classes` over the clip's 4 s from its onset; None for a model without a
    /// mask head.
    pub fn masks(&mut self, samples: &[f32], classes: &[usize]) -> Result<Option<PredictedMasks>, LearnError> {
        let (inputs, shape, start) = self.inputs(samples);
        let model = &self.model.model;
        let Some(head) = model.mask_head() else { return Ok(None) };
        if classes.is_empty() {
            return Ok(None);
        }
        let device = Device::Cpu;
        let x = to_tensors(&shape, &[(inputs.stft.as_slice(), inputs.cqt.as_slice())], &device)?;
        let masks = crate::learn::network::runtime::on_workers(|| {
            let (_, frames) = model.embed_frames(&x.stft, &x.cqt, false)?;
            let rows = vec![0u32; classes.len()];
            let which: Vec<u32> = classes.iter().map(|&c| c as u32).collect();
            head.source_masks(&x.stft, &frames, &rows, &which)?.to_vec3::<f32>()
        })?;
        let mut masks: Vec<Vec<f32>> = masks.into_iter().map(|m| m.concat()).collect();
        // Shared as the ideal masks share each cell (a lone class keeps its own mask).
        if masks.len() > 1 {
            for c in 0..masks[0].len() {
                let total: f32 = masks.iter().map(|m| m[c]).sum::<f32>().max(1e-6);
                masks.iter_mut().for_each(|m| m[c] /= total);
            }
        }
        let input = &self.model.meta.spec.input;
        Ok(Some(PredictedMasks {
            classes: classes.to_vec(),
            frames: shape.frames,
            bins: shape.stft_bins,
            time_pool: input.time_pool,
            bin_pool: input.stft_pool,
            start,
            masks,
        }))
    }
}

impl Predictor {
    /// The shape of the inputs the model reads.
    pub fn shape(&self) -> InputShape {
        let spec = &self.model.meta.spec;
        let frames = crate::learn::notes::inputs::CACHE_FRAMES / spec.input.time_pool;
        InputShape { frames, stft_bins: spec.stft_bins, cqt_bins: spec.cqt_bins }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masks_cells_cover_the_frames_and_bins_they_pool() {
        let m = PredictedMasks {
            classes: vec![0],
            frames: 2,
            bins: 2,
            time_pool: 2,
            bin_pool: 2,
            start: 256,
            masks: vec![vec![0.1, 0.2, 0.3, 0.4]],
        };
        // 5 bins (the last pooled with the one before), 6 frames, starting one frame in.
        let grid = m.on_grid(0, 5, 6, 256);
        let row = |b: usize| grid[b * 6..(b + 1) * 6].to_vec();
        assert_eq!(row(0), vec![0.0, 0.1, 0.1, 0.3, 0.3, 0.0]);
        assert_eq!(row(3), vec![0.0, 0.2, 0.2, 0.4, 0.4, 0.0]);
        assert_eq!(row(4), row(3));
    }

    #[test]
    fn active_classes_are_those_reaching_the_threshold_most_active_first() {
        let a = Activity {
            hop_secs: 0.5,
            window_secs: 1.0,
            classes: vec!["a".into(), "b".into(), "c".into()],
            probabilities: vec![vec![0.1, 0.6, 0.0], vec![0.9, 0.2, 0.4]],
            multi_label: true,
        };
        assert_eq!(a.active(0.5), vec![0, 1]);
        assert_eq!(a.active(0.95), Vec::<usize>::new());
    }
}
