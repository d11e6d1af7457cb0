//! The workbench under egui_kittest, rendered by wgpu (Mesa's lavapipe where there is no GPU):
//! the demo clip appears in all three views and the interactions move them.

use std::time::{Duration, Instant};

use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use timbrescope::ui::Workbench;

/// Tall enough that the views keep the resolution the checks below need beside the activity strip.
fn harness() -> Harness<'static, Workbench> {
    Harness::builder().with_size(egui::vec2(1280.0, 1100.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None))
}

/// Steps the app until its background analysis has arrived.
fn wait_for_analysis(harness: &mut Harness<'_, Workbench>) {
    let start = Instant::now();
    while harness.state().is_busy() || harness.state().analysis().is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "analysis never arrived");
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(3);
}

fn luminance(p: &image::Rgba<u8>) -> f64 {
    0.2126 * p[0] as f64 + 0.7152 * p[1] as f64 + 0.0722 * p[2] as f64
}

/// Mean luminance of each pixel row of `rect` (points = pixels here) over its left `fraction`.
fn row_profile(image: &image::RgbaImage, rect: egui::Rect, fraction: f32) -> Vec<f64> {
    let (x0, x1) = (rect.left().ceil() as u32 + 2, (rect.left() + rect.width() * fraction) as u32);
    (rect.top().ceil() as u32 + 2..rect.bottom() as u32 - 2)
        .map(|y| (x0..x1).map(|x| luminance(image.get_pixel(x, y))).sum::<f64>() / (x1 - x0) as f64)
        .collect()
}

#[test]
fn demo_clip_is_drawn_in_all_three_views() {
    let mut harness = harness();
    wait_for_analysis(&mut harness);
    let app = harness.state();
    assert_eq!(app.analysis().unwrap().clip.name, "piano_C4");
    let [wave, stft, cqt] = app.view_rects().expect("views drawn");
    let image = harness.render().expect("wgpu render");

    // Waveform: the trace colour is present around the zero line near the onset.
    let onset_x = wave.left() as u32 + 12;
    let traced = (wave.top() as u32..wave.bottom() as u32)
        .filter(|&y| {
            let p = image.get_pixel(onset_x, y);
            p[2] > 200 && p[0] < 170
        })
        .count();
    assert!(traced > 20, "only {traced} trace pixels at the onset");

    // CQT: the brightest row over the sustained first half is the piano's fundamental, C4.
    let profile = row_profile(&image, cqt, 0.5);
    let brightest = profile.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    let y = cqt.top() + 2.0 + brightest as f32;
    let bin = (cqt.bottom() - y) / cqt.height() * 761.0 - 0.5;
    let hz = 32.703 * 2f64.powf(bin as f64 / 96.0);
    let c4 = 261.63;
    // One semitone either way: a pixel row here spans about 2.5 CQT bins (a quarter semitone).
    assert!((hz / c4).log2().abs() * 12.0 < 1.0, "brightest CQT row at {hz:.1} Hz");

    // STFT: the lowest strong row is the fundamental too (bin 17 of 513 at 16 kHz).
    let profile = row_profile(&image, stft, 0.5);
    let peak = profile.iter().copied().fold(0.0, f64::max);
    let lowest_strong = (0..profile.len()).rev().find(|&i| profile[i] > 0.6 * peak).unwrap();
    let y = stft.top() + 2.0 + lowest_strong as f32;
    let hz = (stft.bottom() - y) / stft.height() * 8000.0;
    // Within two pixel rows: far from the second harmonic at 523 Hz.
    let hz_per_row = 8000.0 / stft.height();
    assert!(hz_per_row < 60.0, "STFT view too short to test: {hz_per_row} Hz per row");
    assert!(
        (hz - 261.63).abs() < 2.0 * hz_per_row,
        "lowest strong STFT row at {hz:.1} Hz ({hz_per_row:.1} Hz per row)"
    );

    // Quiet regions stay dark: the top of the STFT late in the clip is near the colormap's black.
    let late = egui::pos2(stft.right() - 10.0, stft.top() + 10.0);
    assert!(luminance(image.get_pixel(late.x as u32, late.y as u32)) < 40.0);
}

#[test]
fn keyboard_zoom_and_clip_selection() {
    let mut harness = harness();
    wait_for_analysis(&mut harness);
    let full = harness.state().view_window().unwrap().time_secs;
    assert!((full[1] - full[0] - 4.0).abs() < 1e-6);
    harness.key_press(Key::Plus);
    harness.run_steps(2);
    let zoomed = harness.state().view_window().unwrap().time_secs;
    assert!((zoomed[1] - zoomed[0] - 2.0).abs() < 1e-6, "{zoomed:?}");
    harness.key_press(Key::ArrowRight);
    harness.run_steps(2);
    let panned = harness.state().view_window().unwrap().time_secs;
    assert!((panned[0] - zoomed[0] - 0.4).abs() < 1e-6, "{panned:?}");
    harness.key_press(Key::F);
    harness.run_steps(2);
    assert_eq!(harness.state().view_window().unwrap().time_secs, full);

    harness.get_by_label("violin_A4  (4.0 s)").click();
    harness.run_steps(2);
    wait_for_analysis(&mut harness);
    assert_eq!(harness.state().analysis().unwrap().clip.name, "violin_A4");
}

#[test]
fn a_bad_file_is_reported_and_the_app_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not audio.wav");
    std::fs::write(&bad, "this is text, not a RIFF file").unwrap();
    let mut harness =
        Harness::builder().with_size(egui::vec2(1000.0, 700.0)).wgpu().build_eframe(|cc| Workbench::new(cc, Some(bad)));
    let start = Instant::now();
    while harness.state().is_busy() {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(2);
    let status = harness.state().status_text().unwrap_or_default().to_string();
    assert!(status.contains("not audio.wav"), "status: {status}");
    // Still usable: a demo clip loads.
    harness.get_by_label("trumpet_Bb4  (4.0 s)").click();
    harness.run_steps(2);
    wait_for_analysis(&mut harness);
    assert_eq!(harness.state().analysis().unwrap().clip.name, "trumpet_Bb4");
}

#[test]
fn a_twenty_minute_clip_is_drawn_in_all_three_views() {
    // 20 minutes at 48 kHz: 57.6 million samples, 230 MB as f32, whose waveform and pyramid no
    // storage buffer binding of wgpu's default limits holds. A tone whose level steps up every
    // minute, so the whole-clip waveform has an envelope to check.
    let rate = 48_000u32;
    let minutes = 20usize;
    let samples: Vec<f32> = (0..minutes * 60 * rate as usize)
        .map(|i| {
            let level = 0.04 * (1 + i / (60 * rate as usize)) as f32;
            level * (std::f32::consts::TAU * 440.0 * i as f32 / rate as f32).sin()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.wav");
    timbrescope::audio::save_wav_pcm16(&path, &timbrescope::audio::Clip::new("long", samples, rate)).unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 1000.0))
        .wgpu()
        .build_eframe(move |cc| Workbench::new(cc, Some(path.clone())));
    let start = Instant::now();
    while harness.state().is_busy() || harness.state().analysis().is_none_or(|a| a.clip.name != "long") {
        assert!(start.elapsed() < Duration::from_secs(120), "the long clip's analysis never arrived");
        assert!(
            harness.state().status_text().is_none_or(|s| !s.contains("Cannot")),
            "{:?}",
            harness.state().status_text()
        );
        std::thread::sleep(Duration::from_millis(50));
        harness.step();
    }
    harness.run_steps(3);
    let analysis = harness.state().analysis().unwrap().clone();
    assert!((analysis.clip.duration_secs() - 1200.0).abs() < 0.01);
    let [wave, stft, cqt] = harness.state().view_rects().expect("views drawn");
    let image = harness.render().expect("wgpu render");
    // The waveform's trace spans more rows at the end (level 0.8) than at the start (0.04).
    let traced = |x: f32| {
        (wave.top() as u32 + 2..wave.bottom() as u32 - 2)
            .filter(|&y| {
                let p = image.get_pixel(x as u32, y);
                p[2] > 200 && p[0] < 170
            })
            .count()
    };
    let (early, late) = (traced(wave.left() + 0.02 * wave.width()), traced(wave.right() - 0.02 * wave.width()));
    assert!(late > 5 * early.max(1), "trace rows: {early} at the start, {late} at the end");
    // Both spectrograms show the tone: some row is far brighter than the median row.
    for (name, rect) in [("STFT", stft), ("CQT", cqt)] {
        let mut profile = row_profile(&image, rect, 1.0);
        let brightest = profile.iter().copied().fold(0.0, f64::max);
        profile.sort_by(f64::total_cmp);
        let median = profile[profile.len() / 2];
        assert!(brightest > median + 60.0, "{name}: brightest row {brightest}, median {median}");
    }
}
