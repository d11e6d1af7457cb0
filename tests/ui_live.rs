//! Live mode under egui_kittest, driven by a file played as if live: the tone appears in its
//! STFT and CQT rows at its time on screen, freeze holds the view while the stream goes on,
//! a stretch is kept as a clip, and a demo note's running prediction appears in the panel.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::dominant_frequency;
use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use timbrescope::audio::{Clip, save_wav};
use timbrescope::live::{LiveConfig, LiveInput};
use timbrescope::ui::{Mode, Workbench};

fn harness() -> Harness<'static, Workbench> {
    Harness::builder().with_size(egui::vec2(1400.0, 900.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None))
}

/// Silence for 1 s, then 440 Hz (amplitude 0.5) until 3 s.
fn tone_file(dir: &Path) -> std::path::PathBuf {
    let samples =
        (0..48_000)
            .map(|i| {
                if i < 16_000 {
                    0.0
                } else {
                    (0.5 * (std::f64::consts::TAU * 440.0 * i as f64 / 16_000.0).sin()) as f32
                }
            })
            .collect();
    let path = dir.join("tone.wav");
    save_wav(&path, &Clip::new("tone", samples, 16_000)).unwrap();
    path
}

/// Steps the window in real time until `until` holds (at most `limit`).
fn step_until(harness: &mut Harness<'_, Workbench>, limit: Duration, until: impl Fn(&Workbench) -> bool) {
    let start = Instant::now();
    while !until(harness.state()) {
        assert!(start.elapsed() < limit, "not reached in {limit:?}");
        std::thread::sleep(Duration::from_millis(15));
        harness.step();
    }
}

fn luminance(p: &image::Rgba<u8>) -> f64 {
    0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64
}

/// The brightest pixel row of `rect` between x0 and x1, as a fraction of the height from the bottom.
fn brightest_row(image: &image::RgbaImage, rect: egui::Rect, x0: f32, x1: f32) -> f64 {
    let (top, bottom) = (rect.top().ceil() as u32 + 1, rect.bottom() as u32 - 1);
    let row = (top..bottom)
        .max_by(|&a, &b| {
            let mean = |y| (x0 as u32..x1 as u32).map(|x| luminance(image.get_pixel(x, y))).sum::<f64>();
            mean(a).total_cmp(&mean(b))
        })
        .unwrap();
    (rect.bottom() - row as f32 - 0.5) as f64 / rect.height() as f64
}

#[test]
fn a_tone_scrolls_into_its_rows_freeze_holds_and_a_stretch_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = tone_file(dir.path());
    let mut harness = harness();
    // 2.8 s of history for 3 s of stream: every ring, on the GPU too, has wrapped by the end.
    let config = LiveConfig { history_secs: 2.8, ..LiveConfig::default() };
    harness.state_mut().start_live(LiveInput::File { path, looped: false }, None, config);
    assert_eq!(harness.state().mode(), Mode::Live);
    // Freeze a second and a half in: the view stays put while the stream goes on.
    step_until(&mut harness, Duration::from_secs(20), |app| app.live_progress().0 >= 1.5);
    harness.key_press(Key::Space);
    harness.run_steps(2);
    let frozen = harness.state().live_layout().unwrap().1;
    step_until(&mut harness, Duration::from_secs(20), |app| app.live_progress().1);
    harness.run_steps(2);
    assert_eq!(harness.state().live_layout().unwrap().1, frozen);
    assert!(harness.state().live_progress().0 - frozen[1] > 1.0);
    // Space again: following, the right edge is the stream's end (3 s).
    harness.key_press(Key::Space);
    harness.run_steps(3);
    let ([_, stft, cqt, _], time) = harness.state().live_layout().unwrap();
    assert!((time[1] - 3.0).abs() < 1e-6, "{time:?}");
    let image = harness.render().expect("wgpu render");
    let x = |t: f64| stft.left() + ((t - time[0]) / (time[1] - time[0])) as f32 * stft.width();
    // The tone from 1 s: the brightest STFT row is bin 28.2 of 513 (440 Hz), within two rows.
    let up = brightest_row(&image, stft, x(1.3), x(2.7));
    let hz = up * 8000.0;
    let hz_per_row = 8000.0 / stft.height() as f64;
    assert!((hz - 440.0).abs() < 2.0 * hz_per_row, "brightest STFT row at {hz:.1} Hz ({hz_per_row:.1} Hz a row)");
    // The brightest CQT row is A4 to within a semitone.
    let bin = brightest_row(&image, cqt, x(1.3), x(2.7)) * 761.0;
    let hz = 32.703 * 2f64.powf(bin / 96.0);
    assert!((hz / 440.0).log2().abs() * 12.0 < 1.0, "brightest CQT row at {hz:.1} Hz");
    // Before the tone, the same rows are dark.
    let y = stft.bottom() - (440.0 / 8000.0 * stft.height() as f64) as f32;
    assert!(luminance(image.get_pixel(x(0.5) as u32, y as u32)) < 40.0);
    assert!(luminance(image.get_pixel(x(2.0) as u32, y as u32)) > 120.0);
    // Keep 1.2-2.2 s as a clip: it joins the list, 1 s of the tone.
    harness.state_mut().live_window_mut().selection = Some([1.2, 2.2]);
    let before = harness.state().clips().len();
    harness.key_press(Key::K);
    harness.run_steps(2);
    let clips = harness.state().clips();
    assert_eq!(clips.len(), before + 1);
    let kept = clips.last().unwrap();
    assert_eq!(kept.name, "live 1.2-2.2 s");
    assert!((kept.samples.len() as i64 - 16_000).abs() <= 1, "{}", kept.samples.len());
    assert!((dominant_frequency(&kept.samples, 16_000.0) - 440.0).abs() < 2.0);
}

#[test]
fn a_demo_notes_running_prediction_appears_in_the_panel() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("assets/demo/violin_A4.wav");
    let mut harness = harness();
    harness.state_mut().show_live_saliency(true);
    harness.state_mut().start_live(LiveInput::File { path, looped: false }, Some(None), LiveConfig::default());
    // The first hop is 0.25 s of stream; its answer follows within the latency.
    step_until(&mut harness, Duration::from_secs(20), |app| !app.live_predictions().is_empty());
    let first = harness.state().live_predictions()[0].clone();
    assert!(first.latency_ms <= 150.0, "first answer {:.1} ms after its hop", first.latency_ms);
    step_until(&mut harness, Duration::from_secs(30), |app| app.live_progress().1);
    harness.run_steps(3);
    let predictions = harness.state().live_predictions().to_vec();
    let violin = predictions.iter().filter(|p| p.top[0].0 == "violin").count();
    assert!(2 * violin > predictions.len(), "violin won {violin} of {} hops", predictions.len());
    let latest = predictions.last().unwrap();
    let shown = format!("{} {:.0}%", latest.top[0].0.replace('_', " "), 100.0 * latest.top[0].1);
    assert!(harness.query_by_label_contains(&shown).is_some(), "the panel does not show \"{shown}\"");
    // Saliency on: the latest explanation tints the views, and the panel names it.
    let explained = harness.state().live_saliency_shown().expect("an explanation shown").to_string();
    assert!(explained.starts_with("violin at "), "{explained}");
    assert!(harness.query_by_label_contains("explained: violin").is_some());
}
