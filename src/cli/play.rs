//! `timbrescope play`: play a clip to the end on the default output device.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use timbrescope::audio::{self, Playback};

#[derive(clap::Args)]
pub struct PlayArgs {
    /// Clip to play (WAV, FLAC, MP3, Ogg Vorbis).
    pub clip: PathBuf,
}

pub fn run(args: PlayArgs) -> anyhow::Result<()> {
    let clip = audio::load_clip(&args.clip)?;
    let playback = Playback::start(clip.samples.clone(), clip.sample_rate_hz, 0)
        .with_context(|| format!("cannot play {}", args.clip.display()))?;
    while !playback.is_finished() {
        playback.check()?;
        std::thread::sleep(Duration::from_millis(20));
    }
    // The last buffer handed to the device still has to sound; its length is unknown here, so
    // wait a typical device latency before closing the stream.
    std::thread::sleep(Duration::from_millis(200));
    playback.stop()?;
    println!("played {} ({:.2} s)", args.clip.display(), clip.duration_secs());
    Ok(())
}
