//! A live stream heard through a degradation chain. Chains work on whole clips; here each chunk
//! of the stream is degraded with the seconds before it as context (so a room's tail, a filter's
//! state and a codec's framing carry across chunks) and only the chunk's own samples are kept.
//! The room is drawn once, so it stays the same room; the noise is drawn afresh per chunk, so it
//! never repeats.

use crate::degrade::{ChainSpec, DegradeError, Stage, apply_chain};

/// Samples per chunk: 64 ms, the delay the chain adds to the views at most.
pub const CHAIN_CHUNK: usize = 1024;
/// Context before each chunk: two seconds, a long room's tail (RT60 2 s) down by 60 dB.
const CONTEXT: usize = 32_000;

pub struct LiveChain {
    stages: Vec<Stage>,
    /// The clean stream's last samples: context, then the chunk being filled.
    clean: Vec<f32>,
    /// Samples of `clean` not yet degraded.
    pending: usize,
    chunks: u64,
    rate_hz: u32,
}

impl LiveChain {
    /// The chain's values drawn from `seed`, as the degradation panel draws them.
    pub fn new(spec: &ChainSpec, seed: u64, rate_hz: u32) -> Result<Self, DegradeError> {
        Ok(Self { stages: spec.draw(seed)?, clean: Vec::new(), pending: 0, chunks: 0, rate_hz })
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Takes clean samples; returns the degraded samples of every chunk they complete.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<f32>, DegradeError> {
        self.clean.extend_from_slice(samples);
        self.pending += samples.len();
        let mut out = Vec::new();
        while self.pending >= CHAIN_CHUNK {
            let end = self.clean.len() - (self.pending - CHAIN_CHUNK);
            let start = end.saturating_sub(CONTEXT + CHAIN_CHUNK);
            let stages: Vec<Stage> = self.stages.iter().map(|s| self.for_chunk(s)).collect();
            let degraded = apply_chain(&self.clean[start..end], self.rate_hz, &stages)?.mid();
            out.extend_from_slice(&degraded[degraded.len() - CHAIN_CHUNK..]);
            self.pending -= CHAIN_CHUNK;
            self.chunks += 1;
        }
        // Keep the context and what waits for the next chunk.
        let keep = CONTEXT + self.pending;
        if self.clean.len() > 2 * keep + CHAIN_CHUNK {
            self.clean.drain(..self.clean.len() - keep);
        }
        Ok(out)
    }

    /// The clean samples still waiting for their chunk, for a stream that leaves the chain
    /// without losing them.
    pub fn into_pending(self) -> Vec<f32> {
        self.clean[self.clean.len() - self.pending..].to_vec()
    }

    /// The stage as chunk `self.chunks` applies it: noise of its own.
    fn for_chunk(&self, stage: &Stage) -> Stage {
        match stage {
            Stage::Noise { color, snr_db, noise_seed } => Stage::Noise {
                color: *color,
                snr_db: *snr_db,
                noise_seed: noise_seed.wrapping_add(self.chunks.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            },
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::degrade::StageSpec;
    use crate::degrade::chain::Param;

    fn spec(stages: Vec<StageSpec>) -> ChainSpec {
        ChainSpec { stage_probability: None, stage: stages }
    }

    #[test]
    fn a_filter_heard_in_chunks_equals_the_whole_clip_through_it() {
        // A high shelf is a recursive filter: its state must carry across chunks, which the
        // context gives it (two seconds is far longer than its impulse response).
        let chain = spec(vec![StageSpec::HighShelf { freq_hz: Param::Fixed(2000.0), gain_db: Param::Fixed(-12.0) }]);
        let signal: Vec<f32> =
            (0..48_000).map(|i| ((i as f32 * 0.37).sin() + (i as f32 * 0.013).sin()) * 0.3).collect();
        let mut live = LiveChain::new(&chain, 3, 16_000).unwrap();
        let mut streamed = Vec::new();
        for piece in signal.chunks(700) {
            streamed.extend(live.push(piece).unwrap());
        }
        assert_eq!(streamed.len(), signal.len() / CHAIN_CHUNK * CHAIN_CHUNK);
        let whole = apply_chain(&signal, 16_000, live.stages()).unwrap().mid();
        let worst = streamed.iter().zip(&whole).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "worst difference {worst}");
    }

    #[test]
    fn noise_is_drawn_afresh_for_every_chunk() {
        let chain =
            spec(vec![StageSpec::Noise { color: crate::degrade::noise::NoiseColor::White, snr_db: Param::Fixed(0.0) }]);
        let tone: Vec<f32> = (0..4 * CHAIN_CHUNK).map(|i| (i as f32 * 0.2).sin() * 0.5).collect();
        let mut live = LiveChain::new(&chain, 3, 16_000).unwrap();
        let out = live.push(&tone).unwrap();
        let noise: Vec<f32> = out.iter().zip(&tone).map(|(o, t)| o - t).collect();
        let (a, b) = (&noise[CHAIN_CHUNK..2 * CHAIN_CHUNK], &noise[2 * CHAIN_CHUNK..3 * CHAIN_CHUNK]);
        // Independent noise: the chunks are uncorrelated (a repeated draw would give 1).
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = (a.iter().map(|x| x * x).sum::<f32>() * b.iter().map(|x| x * x).sum::<f32>()).sqrt();
        assert!((dot / norm).abs() < 0.2, "correlation {}", dot / norm);
        assert!(norm > 0.0);
    }
}
