//! Live listening from a file played as if live (16-ms blocks at the pace of the clock): the
//! views fill column by column with a tone in its rows at its time, nothing is dropped, the
//! running prediction names a demo note, and the headless command reports the same.

use std::path::Path;
use std::time::{Duration, Instant};

use timbrescope::audio::{Clip, save_wav};
use timbrescope::learn::ModelSource;
use timbrescope::live::{LiveConfig, LiveInput, LiveSession};

/// Silence until `start_secs`, then a 440 Hz tone of amplitude 0.5.
fn tone_file(dir: &Path, secs: f64, start_secs: f64) -> std::path::PathBuf {
    let samples = (0..(secs * 16_000.0) as usize)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            if t < start_secs { 0.0 } else { (0.5 * (std::f64::consts::TAU * 440.0 * t).sin()) as f32 }
        })
        .collect();
    let path = dir.join("tone.wav");
    save_wav(&path, &Clip::new("tone", samples, 16_000)).unwrap();
    path
}

/// Waits until the file has played to its end (at most `limit`).
fn play_out(session: &LiveSession, limit: Duration) {
    let start = Instant::now();
    loop {
        if let Some(end) = &session.state().ended {
            assert!(end.is_ok(), "{end:?}");
            return;
        }
        assert!(start.elapsed() < limit, "the file did not play out in {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn argmax(col: &[f32]) -> usize {
    col.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0
}

#[test]
fn a_file_played_as_live_puts_a_tone_in_its_rows_at_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = tone_file(dir.path(), 2.5, 1.0);
    let started = Instant::now();
    let session = LiveSession::start(LiveInput::File { path, looped: false }, None, LiveConfig::default()).unwrap();
    play_out(&session, Duration::from_secs(20));
    // Played at the pace of the clock, not faster.
    assert!(started.elapsed() >= Duration::from_millis(2400), "{:?}", started.elapsed());
    let state = session.state();
    let a = &state.views;
    assert_eq!(a.samples.end(), 40_000);
    // 40,000 samples in blocks of 256, all delivered.
    assert_eq!((state.stats.blocks, state.stats.dropped_blocks), (157, 0));
    // Column c is centred on c * 16 ms: silence before 1.0 s (column 62.5), the tone after, in
    // STFT bin 440 * 1024 / 16000 = 28.2 and CQT bin 96 * log2(440 / 32.703) = 360.
    for c in [20u64, 55] {
        assert!(a.stft.column(c).unwrap().iter().all(|&v| v < -90.0), "STFT column {c} not silent");
    }
    for c in [70u64, 100, 140] {
        assert_eq!(argmax(a.stft.column(c).unwrap()), 28, "STFT column {c}");
        assert_eq!(argmax(a.cqt.column(c).unwrap()), 360, "CQT column {c}");
    }
    // The envelope holds the tone's amplitude once it sounds.
    let block = |t: f64| a.envelope.column((t * 16_000.0 / 32.0) as u64).unwrap().to_vec();
    assert_eq!(block(0.5), vec![0.0, 0.0]);
    assert!(block(2.0)[1] > 0.45);
    // Silence is not predicted; here there is no model anyway.
    assert!(state.predictions.is_empty());
}

#[test]
fn a_chain_degrades_the_stream_the_views_see() {
    use timbrescope::degrade::chain::{Param, StageSpec};
    use timbrescope::degrade::noise::NoiseColor;
    let dir = tempfile::tempdir().unwrap();
    let path = tone_file(dir.path(), 2.5, 0.0);
    let session = LiveSession::start(LiveInput::File { path, looped: false }, None, LiveConfig::default()).unwrap();
    // White noise at 0 dB SNR: far from the tone, the STFT rises from the floor to the noise.
    let chain = timbrescope::degrade::ChainSpec {
        stage_probability: None,
        stage: vec![StageSpec::Noise { color: NoiseColor::White, snr_db: Param::Fixed(0.0) }],
    };
    session.set_chain(Some((chain, 7)));
    play_out(&session, Duration::from_secs(20));
    let state = session.state();
    assert_eq!(state.chain.as_ref().map(|c| c[0].kind()), Some("noise"));
    assert_eq!(state.stats.dropped_blocks, 0);
    // Column 100 (1.6 s): the tone still in its bin, and bin 400 (6.25 kHz) well above the
    // clean tone's floor (-100 dB), within a few dB of where white noise of the tone's power sits.
    let col = state.views.stft.column(100).unwrap();
    assert_eq!(argmax(col), 28);
    assert!(col[400] > -60.0, "bin 400 at {} dB", col[400]);
    // The stream lost nothing to the chain but what still waits for its 64-ms chunk.
    assert!(state.views.samples.end() > 40_000 - 1024, "{}", state.views.samples.end());
}

#[test]
fn the_running_prediction_names_a_demo_note_within_the_latency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("assets/demo/violin_A4.wav");
    let session =
        LiveSession::start(LiveInput::File { path, looped: false }, Some(ModelSource::Shipped), LiveConfig::default())
            .unwrap();
    assert!(session.classes.iter().any(|c| c == "violin"), "{:?}", session.classes);
    session.set_saliency(true);
    play_out(&session, Duration::from_secs(30));
    // The prediction thread may still be answering the last hop.
    std::thread::sleep(Duration::from_millis(300));
    let state = session.state();
    let predictions: Vec<_> = state.predictions.iter().collect();
    assert!(predictions.len() >= 8, "{} predictions", predictions.len());
    // At hops of 0.25 s of stream (a hop still predicting when the next comes is skipped).
    for pair in predictions.windows(2) {
        let hops = (pair[1].at_secs - pair[0].at_secs) / 0.25;
        assert!(
            hops >= 1.0 - 1e-9 && (hops - hops.round()).abs() < 1e-9,
            "{} then {}",
            pair[0].at_secs,
            pair[1].at_secs
        );
    }
    let violin = predictions.iter().filter(|p| p.top[0].0 == "violin").count();
    assert!(2 * violin > predictions.len(), "violin won {violin} of {} hops", predictions.len());
    let median = state.stats.prediction_latency.quantile(0.5).unwrap();
    assert!(median <= 150.0, "median prediction latency {median:.1} ms");
    // Saliency was asked for: the winner explained over the stretch it heard, on the views' grid
    // (one column per 16 ms of that stretch, ending where the stream had got to).
    let s = state.saliency.as_ref().expect("an explanation");
    assert!(state.saliency_version >= 1);
    assert_eq!(s.class_name, "violin");
    assert_eq!((s.stft.bins, s.cqt.bins), (513, 761));
    assert_eq!(s.stft.frames, s.cqt.frames);
    let end_column = s.first_column as f64 + s.stft.frames as f64 - 1.0;
    assert!((end_column - s.at_secs * 62.5).abs() <= 1.0, "{end_column} against {}", s.at_secs * 62.5);
    assert!(s.stft.values.iter().chain(&s.cqt.values).all(|v| (-1.0..=1.0).contains(v)));
    assert!(s.cqt.values.iter().any(|v| v.abs() > 0.5), "the tint is not empty");
}

#[test]
fn headless_live_reports_peaks_drops_and_timings() {
    let dir = tempfile::tempdir().unwrap();
    let path = tone_file(dir.path(), 2.0, 0.5);
    let report = dir.path().join("live.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timbrescope"))
        .args(["live", "--headless", "--no-model", "--file"])
        .arg(&path)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["dropped_blocks"], 0);
    assert_eq!(json["blocks"], 125);
    assert_eq!(json["ended"], "the file played to its end");
    assert!(json["block_to_columns"]["median_ms"].as_f64().unwrap() >= 0.0);
    // Peaks every 31 columns (0.496 s): silence at 0 s, the tone's rows from 0.99 s.
    let peaks = json["peaks"].as_array().unwrap();
    assert_eq!(peaks.len(), 4, "{peaks:?}");
    assert!(peaks[0]["stft_db"].as_f64().unwrap() < -90.0, "{}", peaks[0]);
    for p in &peaks[2..] {
        assert_eq!((p["stft_bin"].as_u64(), p["cqt_bin"].as_u64()), (Some(28), Some(360)), "{p}");
    }
}

#[test]
fn headless_live_names_a_bad_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("live.json");
    let missing = dir.path().join("missing.wav");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timbrescope"))
        .args(["live", "--headless", "--no-model", "--file"])
        .arg(&missing)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("missing.wav"), "{err}");
    assert!(!report.exists());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_timbrescope"))
        .args(["live", "--headless", "--secs", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--secs"), "{err}");
}
