//! The degradation panel under egui_kittest: turning the chain on draws the Δ views, moving a
//! slider renders again and changes them, and B flips between clean and degraded.

use std::time::{Duration, Instant};

use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use timbrescope::audio::clip::ANALYSIS_RATE_HZ;
use timbrescope::degrade::Stage;
use timbrescope::jobs::predict::{AnswerRows, TOP};
use timbrescope::learn::{ModelSource, Predictor};
use timbrescope::ui::Workbench;
use timbrescope::ui::degrade_panel::{DegradePanel, Listen, PanelStage};
use timbrescope::ui::predict_panel::PredictPanel;

fn harness() -> Harness<'static, Workbench> {
    Harness::builder().with_size(egui::vec2(1500.0, 1100.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None))
}

fn wait(harness: &mut Harness<'_, Workbench>, what: &str, done: impl Fn(&Workbench) -> bool) {
    let start = Instant::now();
    while !done(harness.state()) {
        let app = harness.state();
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} never happened (status: {:?}, chain on: {}, rendering: {}, rendered: {:?})",
            app.status_text(),
            app.degrade_panel().enabled,
            app.is_degrade_busy(),
            degraded_rt60(app)
        );
        std::thread::sleep(Duration::from_millis(20));
        harness.step();
    }
    harness.run_steps(3);
}

fn degraded_rt60(app: &Workbench) -> Option<f64> {
    app.degraded()?.applied.iter().find_map(|a| match a.stage {
        Stage::Reverb { rt60_s, .. } => Some(rt60_s),
        _ => None,
    })
}

/// Mean chroma (max minus min of R, G, B) over `rect` below its title: zero where the diverging
/// map is white (no difference), large where it is red or blue.
fn colourfulness(image: &image::RgbaImage, rect: egui::Rect) -> f64 {
    let (x0, x1) = (rect.left() as u32 + 2, rect.right() as u32 - 2);
    let (y0, y1) = (rect.top() as u32 + 20, rect.bottom() as u32 - 2);
    let mut sum = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = image.get_pixel(x, y);
            let (hi, lo) = (p[0].max(p[1]).max(p[2]), p[0].min(p[1]).min(p[2]));
            sum += f64::from(hi - lo);
        }
    }
    sum / f64::from((x1 - x0) * (y1 - y0))
}

#[test]
fn moving_the_rt60_slider_changes_the_delta_views() {
    let mut harness = harness();
    // The prediction panel above the chain keeps the room of an answer, so the checkbox stays
    // where it is whenever the first answer comes: only the analysis is waited for.
    wait(&mut harness, "the demo clip's analysis", |app| !app.is_busy() && app.analysis().is_some());
    assert!(harness.state().delta_rects().is_none(), "no Δ views while the chain is off");

    // A short mono room alone, switched on the way a user would: the checkbox.
    let panel = DegradePanel {
        stages: vec![PanelStage { stage: Stage::Reverb { rt60_s: 0.3, binaural: false, room_seed: 0 }, bypass: false }],
        ..DegradePanel::default()
    };
    harness.state_mut().set_degrade_panel(panel);
    harness.get_by_label("apply the chain").click();
    harness.run_steps(2);
    wait(&mut harness, "the first rendering", |app| {
        !app.is_degrade_busy() && degraded_rt60(app).is_some_and(|t| (t - 0.3).abs() < 1e-9)
    });
    let [delta_stft, delta_cqt] = harness.state().delta_rects().expect("Δ views drawn");
    let before = harness.render().expect("wgpu render");
    let (stft_before, cqt_before) = (colourfulness(&before, delta_stft), colourfulness(&before, delta_cqt));

    // Drag the RT60 to 2.5 s: a far longer tail after the piano's release.
    harness.get_by_role_and_label(egui::accesskit::Role::Slider, "RT60").set_value_accesskit(2.5);
    harness.run_steps(2);
    wait(&mut harness, "the re-rendering", |app| {
        !app.is_degrade_busy() && degraded_rt60(app).is_some_and(|t| (t - 2.5).abs() < 1e-9)
    });
    let after = harness.render().expect("wgpu render");
    let (stft_after, cqt_after) = (colourfulness(&after, delta_stft), colourfulness(&after, delta_cqt));
    // A longer room smears every partial further in time: far more of both Δ views departs from
    // white (no difference).
    assert!(stft_after > 1.5 * stft_before + 5.0, "Δ STFT colour {stft_before:.1} -> {stft_after:.1}");
    assert!(cqt_after > 1.5 * cqt_before + 5.0, "Δ CQT colour {cqt_before:.1} -> {cqt_after:.1}");
    let measured = harness.state().degraded().unwrap().applied[0].measured["rt60_s"].as_f64().unwrap();
    assert!((measured / 2.5 - 1.0).abs() < 0.1, "measured T30 {measured}");

    // B: the views and the speakers switch to the degraded clip; B again returns.
    harness.key_press(Key::B);
    harness.run_steps(2);
    assert_eq!(harness.state().degrade_panel().listen, Listen::Degraded);
    harness.key_press(Key::B);
    harness.run_steps(2);
    assert_eq!(harness.state().degrade_panel().listen, Listen::Clean);

    // Off again: the Δ views go.
    harness.get_by_label("apply the chain").click();
    harness.run_steps(3);
    assert!(harness.state().delta_rects().is_none());
}

#[test]
fn a_first_launch_predicts_with_the_model_inside_the_binary_and_a_shipped_chain_loads_from_its_menu() {
    let mut harness = harness();
    wait(&mut harness, "the demo clip's prediction", |app| {
        let p = app.prediction();
        !app.is_busy() && (p.clean.is_some() || p.error.is_some())
    });
    let p = harness.state().prediction();
    assert_eq!(p.model, Some(ModelSource::Shipped));
    assert_eq!(p.error, None);
    // The first demo clip is the piano's C4.
    let top = &p.clean.as_ref().unwrap().head("instrument").unwrap().top[0].0;
    assert_eq!(top, "acoustic_grand_piano");

    harness.get_by_label("shipped").click();
    harness.run_steps(2);
    harness.get_by_label("eval/pink_10db").click_accesskit();
    harness.run_steps(2);
    wait(&mut harness, "the shipped chain's rendering", |app| !app.is_degrade_busy() && app.degraded().is_some());
    let panel = harness.state().degrade_panel();
    assert!(panel.enabled);
    assert!(
        matches!(panel.stages[..], [PanelStage { stage: Stage::Noise { snr_db, .. }, .. }] if snr_db == 10.0),
        "{:?}",
        panel.stages
    );
}

/// The prediction panel alone, so the moment before the first answer is set rather than raced
/// for: the shipped model's answer to a tone, given to a panel that has shown the wait.
#[test]
fn the_first_answer_does_not_move_what_is_under_the_prediction() {
    let mut predictor = Predictor::open(&ModelSource::Shipped).unwrap();
    let sr = ANALYSIS_RATE_HZ as f32;
    let tone: Vec<f32> =
        (0..4 * ANALYSIS_RATE_HZ).map(|i| 0.3 * (2.0 * std::f32::consts::PI * 261.63 * i as f32 / sr).sin()).collect();
    let answer = predictor.predict(&tone, TOP).unwrap();
    let mut panel = PredictPanel::default();
    panel.model = Some(ModelSource::Shipped);
    panel.answer_rows = AnswerRows::of_model(&predictor.model.meta);
    let mut harness = Harness::builder().with_size(egui::vec2(420.0, 900.0)).build_ui_state(
        |ui, panel: &mut PredictPanel| {
            panel.ui(ui, false);
        },
        panel,
    );
    harness.run();
    let before = harness.get_by_label("saliency").rect();
    let panel = harness.state_mut();
    panel.clean = Some(answer);
    panel.millis = Some(12.0);
    harness.run();
    harness.get_by_label("clean");
    let after = harness.get_by_label("saliency").rect();
    assert!((after.top() - before.top()).abs() < 0.5, "the saliency checkbox moved from {before:?} to {after:?}");
}
