//! A clip's min/max pyramid: what the waveform view reads to draw any zoom with a few reads a
//! pixel. Built with the clip's other views in the analysis worker, so a long clip's pyramid never
//! holds up the window.

/// Pyramid levels addressable by the waveform shader's offset table.
pub const MAX_LEVELS: usize = 32;

/// Samples a waveform texture holds by default: 4096-value rows, wgpu's default 8192 rows.
pub const DEFAULT_MAX_SAMPLES: usize = 4096 * 8192;

/// A clip's samples (decimated if it is longer than the textures hold) and the min/max of blocks
/// of 2, 4, 8, ... of them.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxPyramid {
    /// Samples of the clip per stored sample: 1 unless the clip holds more than `max_samples`.
    pub step: usize,
    /// The samples a decimated clip keeps (each block's loudest); empty when `step` is 1, where
    /// the clip's own samples are level 0.
    pub decimated: Vec<f32>,
    /// Levels 1, 2, ... concatenated; `offsets[l]` is where level `l` (blocks of 2^l) starts.
    pub values: Vec<[f32; 2]>,
    pub offsets: Vec<u32>,
}

impl MinMaxPyramid {
    /// The pyramid of `samples`, decimated first to at most `max_samples` (at least 1).
    pub fn new(samples: &[f32], max_samples: usize) -> Self {
        let step = samples.len().div_ceil(max_samples.max(1)).max(1);
        let decimated = if step == 1 { Vec::new() } else { loudest_per_block(samples, step) };
        let level0 = if step == 1 { samples } else { &decimated };
        let (values, offsets) = min_max_levels(level0);
        Self { step, decimated, values, offsets }
    }

    /// Level 0: `samples` (the clip's) unless the pyramid keeps decimated ones.
    pub fn level0<'a>(&'a self, samples: &'a [f32]) -> &'a [f32] {
        if self.step == 1 { samples } else { &self.decimated }
    }
}

/// Min/max of blocks of 2, 4, 8, ... samples, concatenated, and where each level starts.
fn min_max_levels(samples: &[f32]) -> (Vec<[f32; 2]>, Vec<u32>) {
    let mut pyramid = Vec::new();
    let mut offsets = vec![0u32];
    let mut level: Vec<[f32; 2]> = samples
        .chunks(2)
        .map(|c| [c.iter().copied().fold(f32::INFINITY, f32::min), c.iter().copied().fold(f32::NEG_INFINITY, f32::max)])
        .collect();
    while !level.is_empty() && offsets.len() < MAX_LEVELS {
        offsets.push(pyramid.len() as u32);
        pyramid.extend_from_slice(&level);
        if level.len() == 1 {
            break;
        }
        level = level
            .chunks(2)
            .map(|c| {
                [
                    c.iter().map(|m| m[0]).fold(f32::INFINITY, f32::min),
                    c.iter().map(|m| m[1]).fold(f32::NEG_INFINITY, f32::max),
                ]
            })
            .collect();
    }
    (pyramid, offsets)
}

/// Each block of `step` samples as its sample of largest magnitude.
fn loudest_per_block(samples: &[f32], step: usize) -> Vec<f32> {
    samples.chunks(step).map(|c| c.iter().copied().fold(0f32, |a, x| if x.abs() > a.abs() { x } else { a })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_levels_hold_block_extremes() {
        let samples: Vec<f32> = (0..10).map(|i| if i == 7 { -3.0 } else { i as f32 * 0.1 }).collect();
        let p = MinMaxPyramid::new(&samples, DEFAULT_MAX_SAMPLES);
        // Level 1: five pairs; level 2: three blocks of four; level 3: two; level 4: one.
        assert_eq!(p.offsets, vec![0, 0, 5, 8, 10]);
        assert_eq!((p.step, p.level0(&samples).len()), (1, 10));
        assert_eq!(p.values[3][0], -3.0);
        assert!((p.values[3][1] - 0.6).abs() < 1e-6);
        let top = p.values[p.offsets[4] as usize];
        assert_eq!(top[0], -3.0);
        assert!((top[1] - 0.9).abs() < 1e-6);
    }

    #[test]
    fn every_level_is_the_extremes_of_its_blocks() {
        // Against the slow oracle: each level-l entry is the min and max of its 2^l samples.
        let samples: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1013) as f32 / 500.0 - 1.0).collect();
        let p = MinMaxPyramid::new(&samples, DEFAULT_MAX_SAMPLES);
        for l in 1..p.offsets.len() {
            let block = 1 << l;
            let end = p.offsets.get(l + 1).map_or(p.values.len(), |&o| o as usize);
            let level = &p.values[p.offsets[l] as usize..end];
            assert_eq!(level.len(), samples.len().div_ceil(block), "level {l}");
            for (i, m) in level.iter().enumerate() {
                let chunk = &samples[i * block..((i + 1) * block).min(samples.len())];
                assert_eq!(m[0], chunk.iter().copied().fold(f32::INFINITY, f32::min));
                assert_eq!(m[1], chunk.iter().copied().fold(f32::NEG_INFINITY, f32::max));
            }
        }
    }

    #[test]
    fn a_clip_longer_than_the_textures_keeps_each_blocks_loudest_sample() {
        let samples = [0.1, -0.5, 0.2, 0.3, 0.9, -0.1, 0.0];
        let p = MinMaxPyramid::new(&samples, 3);
        assert_eq!(p.step, 3);
        assert_eq!(p.level0(&samples), &[-0.5, 0.9, 0.0]);
        assert_eq!(p.values[0], [-0.5, 0.9]);
    }
}
