//! Where a live stream's samples come from: an input device, or a file played as if live (in
//! blocks, at the pace of the clock), which is how tests and demos drive Live mode.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::audio::{ANALYSIS_RATE_HZ, load_clip};

/// Samples per block of a file played as if live: 16 ms, a typical device period.
pub const FILE_BLOCK: usize = 256;
/// Seconds of blocks waiting for the analysis before new ones are dropped.
const QUEUE_SECS: usize = 10;

/// Where the stream comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveInput {
    /// An input device by name; the default input when `None`.
    Device(Option<String>),
    /// A file played as if live, from its start; again and again when `looped`.
    File { path: PathBuf, looped: bool },
}

impl LiveInput {
    pub fn describe(&self) -> String {
        match self {
            LiveInput::Device(None) => "the default input".into(),
            LiveInput::Device(Some(name)) => format!("input \"{name}\""),
            LiveInput::File { path, looped } => {
                format!("{}{}", path.display(), if *looped { " (looped)" } else { "" })
            }
        }
    }
}

/// Samples at the analysis rate and when they arrived.
pub struct Block {
    pub samples: Vec<f32>,
    pub arrived: Instant,
}

/// Blocks and drops as counted where they arrive.
#[derive(Default)]
pub struct SourceCounts {
    pub blocks: AtomicU64,
    pub dropped_blocks: AtomicU64,
}

/// A running source, read by the analysis thread.
pub enum Feed {
    File(FileFeed),
    #[cfg(feature = "audio-io")]
    Device(Box<DeviceFeed>),
}

impl Feed {
    /// Starts `input`. A device must be opened on the thread that reads it (some backends'
    /// streams cannot move between threads).
    pub fn start(input: &LiveInput, counts: Arc<SourceCounts>) -> Result<Feed, String> {
        match input {
            LiveInput::File { path, looped } => FileFeed::start(path, *looped, counts).map(Feed::File),
            #[cfg(feature = "audio-io")]
            LiveInput::Device(name) => DeviceFeed::start(name.as_deref(), counts).map(|d| Feed::Device(Box::new(d))),
            #[cfg(not(feature = "audio-io"))]
            LiveInput::Device(_) => Err("this build has no audio devices (feature audio-io)".into()),
        }
    }

    /// The blocks that arrived, waiting up to `wait` for the first; `Ok(None)` once a file has
    /// played to its end.
    pub fn next(&mut self, wait: Duration) -> Result<Option<Vec<Block>>, String> {
        match self {
            Feed::File(f) => f.next(wait),
            #[cfg(feature = "audio-io")]
            Feed::Device(d) => d.next(wait).map(Some),
        }
    }
}

/// A file's blocks pushed by a thread at the pace of the clock.
pub struct FileFeed {
    blocks: Receiver<Block>,
    stop: Arc<AtomicBool>,
    pacer: Option<JoinHandle<()>>,
}

impl FileFeed {
    fn start(path: &std::path::Path, looped: bool, counts: Arc<SourceCounts>) -> Result<FileFeed, String> {
        let clip = load_clip(path).map_err(|e| e.to_string())?;
        if clip.samples.is_empty() {
            return Err(format!("{}: no samples to play", path.display()));
        }
        let (tx, blocks) = sync_channel(QUEUE_SECS * ANALYSIS_RATE_HZ as usize / FILE_BLOCK);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let pacer = std::thread::Builder::new()
            .name("live file".into())
            .spawn(move || pace(&clip.samples, looped, &tx, &flag, &counts))
            .map_err(|e| format!("the file's thread could not start: {e}"))?;
        Ok(FileFeed { blocks, stop, pacer: Some(pacer) })
    }

    fn next(&mut self, wait: Duration) -> Result<Option<Vec<Block>>, String> {
        let first = match self.blocks.recv_timeout(wait) {
            Ok(b) => b,
            Err(RecvTimeoutError::Timeout) => return Ok(Some(Vec::new())),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        };
        let mut blocks = vec![first];
        blocks.extend(self.blocks.try_iter());
        Ok(Some(blocks))
    }
}

impl Drop for FileFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(pacer) = self.pacer.take() {
            let _ = pacer.join();
        }
    }
}

/// Sends block i at start + i blocks of time; a block the queue cannot take is dropped and
/// counted, as a device's would be.
fn pace(samples: &[f32], looped: bool, tx: &SyncSender<Block>, stop: &AtomicBool, counts: &SourceCounts) {
    let period = Duration::from_secs_f64(FILE_BLOCK as f64 / f64::from(ANALYSIS_RATE_HZ));
    let start = Instant::now();
    let mut sent: u32 = 0;
    loop {
        for chunk in samples.chunks(FILE_BLOCK) {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let due = start + period * sent;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            sent += 1;
            counts.blocks.fetch_add(1, Ordering::Relaxed);
            match tx.try_send(Block { samples: chunk.to_vec(), arrived: Instant::now() }) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    counts.dropped_blocks.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        if !looped {
            return;
        }
    }
}

/// An input device, resampled to the analysis rate as it arrives.
#[cfg(feature = "audio-io")]
pub struct DeviceFeed {
    capture: crate::audio::Capture,
    resampler: crate::audio::resample::StreamResampler,
    counts: Arc<SourceCounts>,
    raw: Vec<f32>,
    /// Device frames per block, for counting blocks and drops.
    block_frames: u64,
    frames: u64,
}

#[cfg(feature = "audio-io")]
impl DeviceFeed {
    fn start(name: Option<&str>, counts: Arc<SourceCounts>) -> Result<DeviceFeed, String> {
        let capture = crate::audio::Capture::start(name).map_err(|e| e.to_string())?;
        let rate = capture.device_rate_hz();
        let resampler =
            crate::audio::resample::StreamResampler::new(rate, ANALYSIS_RATE_HZ).map_err(|e| e.to_string())?;
        let block_frames = (FILE_BLOCK as u64 * u64::from(rate)).div_ceil(u64::from(ANALYSIS_RATE_HZ));
        Ok(DeviceFeed { capture, resampler, counts, raw: Vec::new(), block_frames, frames: 0 })
    }

    fn next(&mut self, wait: Duration) -> Result<Vec<Block>, String> {
        // The callback queues into a ring; polling it every few ms keeps the added delay small.
        let deadline = Instant::now() + wait;
        self.raw.clear();
        loop {
            self.capture.drain_into(&mut self.raw).map_err(|e| e.to_string())?;
            if !self.raw.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let arrived = Instant::now();
        self.frames += self.raw.len() as u64;
        self.counts.blocks.store(self.frames / self.block_frames, Ordering::Relaxed);
        self.counts.dropped_blocks.store(self.capture.dropped_frames().div_ceil(self.block_frames), Ordering::Relaxed);
        self.resampler.push(&self.raw).map_err(|e| e.to_string())?;
        let samples = self.resampler.take_output();
        Ok(if samples.is_empty() { Vec::new() } else { vec![Block { samples, arrived }] })
    }
}
