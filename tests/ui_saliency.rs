//! The saliency overlay under egui_kittest (wgpu): turning it on tints the STFT and CQT, and with
//! a chain on it is computed for the degraded clip too, again whenever the chain changes.

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use timbrescope::degrade::Stage;
use timbrescope::ui::Workbench;
use timbrescope::ui::degrade_panel::{DegradePanel, PanelStage};

fn wait(harness: &mut Harness<'_, Workbench>, what: &str, done: impl Fn(&Workbench) -> bool) {
    let start = Instant::now();
    while !done(harness.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} never happened: {:?}",
            harness.state().status_text()
        );
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(3);
}

/// Mean absolute difference of the RGB values of two renders over `rect`.
fn difference(a: &image::RgbaImage, b: &image::RgbaImage, rect: egui::Rect) -> f64 {
    let rect = rect.shrink(3.0);
    let (x0, x1, y0, y1) = (rect.left() as u32, rect.right() as u32, rect.top() as u32 + 16, rect.bottom() as u32);
    let mut sum = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            sum += (0..3).map(|k| f64::from(p[k].abs_diff(q[k]))).sum::<f64>() / 3.0;
        }
    }
    sum / f64::from((x1 - x0) * (y1 - y0))
}

#[test]
fn the_saliency_overlay_tints_the_views_and_follows_the_chain() {
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 1100.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None));
    wait(&mut harness, "the demo clip's analysis and prediction", |app| {
        !app.is_busy() && app.analysis().is_some() && app.prediction().clean.is_some()
    });
    let [_, stft, cqt] = harness.state().view_rects().expect("views drawn");
    let plain = harness.render().expect("wgpu render");

    harness.state_mut().show_saliency(true);
    wait(&mut harness, "the clean clip's saliency", |app| app.prediction().explained[0].is_some());
    let e = harness.state().prediction().explained[0].clone().unwrap();
    assert_eq!(
        Some(e.class_name.as_str()),
        harness.state().prediction().clean.as_ref().map(|p| p.heads[0].top[0].0.as_str())
    );
    let tinted = harness.render().expect("wgpu render");
    let (d_stft, d_cqt) = (difference(&plain, &tinted, stft), difference(&plain, &tinted, cqt));
    assert!(
        d_stft > 5.0 && d_cqt > 5.0,
        "the overlay changed the STFT by {d_stft:.1} and the CQT by {d_cqt:.1} a channel"
    );

    // A chain on: the degraded clip is explained as well, and again when the chain changes.
    let room = |rt60_s| DegradePanel {
        enabled: true,
        stages: vec![PanelStage { stage: Stage::Reverb { rt60_s, binaural: false, room_seed: 0 }, bypass: false }],
        ..DegradePanel::default()
    };
    harness.state_mut().set_degrade_panel(room(0.4));
    wait(&mut harness, "the degraded clip's saliency", |app| {
        app.degraded().is_some() && app.prediction().explained[1].is_some()
    });
    let first = harness.state().prediction().explained[1].clone().unwrap();
    harness.state_mut().set_degrade_panel(room(2.0));
    wait(&mut harness, "the saliency after the chain changed", |app| {
        app.prediction().explained[1].as_ref().is_some_and(|e| *e.cqt.values != *first.cqt.values)
    });

    // Off: the views are drawn as before.
    harness.state_mut().set_degrade_panel(DegradePanel::default());
    harness.state_mut().show_saliency(false);
    harness.run_steps(4);
    let again = harness.render().expect("wgpu render");
    assert!(difference(&plain, &again, cqt) < 1.0, "with the saliency off the CQT is drawn as before");
}
