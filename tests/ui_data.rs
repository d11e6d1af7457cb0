//! The data set browser, the instrument grid and the mixture view under egui_kittest (wgpu).

mod common;

use common::tiny_data;
use common::ui::step_until;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::data::expressive::copy::{PlayedCopyOptions, played_copy};
use timbrescope::data::mixing::{MixOptions, make_mixtures, mixture_path};
use timbrescope::dsp::View;
use timbrescope::jobs::data::{GridRequest, played_copy_of};
use timbrescope::ui::{Mode, Workbench};

fn harness() -> Harness<'static, Workbench> {
    Harness::builder().with_size(egui::vec2(1280.0, 900.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None))
}

/// Fraction of pixels in `rect` brighter than the empty view background.
fn lit_fraction(image: &image::RgbaImage, rect: egui::Rect) -> f64 {
    let rect = rect.shrink(3.0);
    let (x0, x1, y0, y1) = (rect.left() as u32, rect.right() as u32, rect.top() as u32, rect.bottom() as u32);
    let lit = (y0..y1)
        .flat_map(|y| (x0..x1).map(move |x| (x, y)))
        .filter(|&(x, y)| image.get_pixel(x, y).0[..3].iter().any(|&c| c > 40))
        .count();
    lit as f64 / f64::from((x1 - x0) * (y1 - y0))
}

#[test]
fn browse_a_data_set_load_a_note_and_see_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let mut harness = harness();
    step_until(&mut harness, "demo analysis", |app| app.analysis().is_some() && !app.is_busy());
    harness.state_mut().open_dataset(root.clone());
    step_until(&mut harness, "data set open", |app| app.browser().dataset().is_some());
    assert_eq!(harness.state().browser().matches().len(), tiny_data::KEPT_NOTES);

    // Clicking a note in the list loads it into the clip views.
    let first =
        Dataset::open_with(&root, tiny_data::taxonomy(), &Default::default()).unwrap().notes[0].record.note_str.clone();
    harness.get_by_label(&first).click();
    harness.run_steps(2);
    step_until(&mut harness, "note analysis", |app| {
        !app.is_busy() && app.analysis().is_some_and(|a| a.clip.name == first)
    });
    assert_eq!(harness.state().mode(), Mode::Clip);
    let clips = harness.state().clips().len();
    // Browsing on replaces the browsed clip instead of piling up clips.
    harness.state_mut().load_note(7);
    step_until(&mut harness, "second note", |app| {
        !app.is_busy() && app.analysis().is_some_and(|a| a.clip.name != first)
    });
    assert_eq!(harness.state().clips().len(), clips);

    // The grid at pitch 48 of bank A: only tone_a has that pitch (tone_b starts at 55, absent is not in A).
    let request = GridRequest { view: View::Cqt, pitch: 48, velocity: 100, bank: Some("tiny_a".into()) };
    harness.state_mut().request_grid(request);
    step_until(&mut harness, "grid", |app| !app.is_data_busy() && app.grid().is_some());
    let grid = harness.state().grid().unwrap();
    let found: Vec<bool> = grid.cells.iter().map(|c| c.spectrogram.is_some()).collect();
    assert_eq!(found, [true, false, false]);
    let rects = harness.state().panel_rects().to_vec();
    assert_eq!(rects.len(), 3);
    let image = harness.render().expect("wgpu render");
    let (drawn, empty) = (lit_fraction(&image, rects[0]), lit_fraction(&image, rects[1]));
    // A CQT of a three-partial tone lights its partials and onset; an empty cell only its caption.
    assert!(drawn > 0.02 && empty < 0.01, "lit: drawn cell {drawn:.3}, empty cell {empty:.3}");

    // Clicking the drawn cell opens that note in the clip views.
    let centre = rects[0].center();
    harness.event(egui::Event::PointerMoved(centre));
    for pressed in [true, false] {
        let button = egui::PointerButton::Primary;
        harness.event(egui::Event::PointerButton { pos: centre, button, pressed, modifiers: Default::default() });
        harness.step();
    }
    step_until(&mut harness, "cell note", |app| {
        !app.is_busy() && app.analysis().is_some_and(|a| a.clip.name.ends_with("tiny_a_000-048-100"))
    });
    assert_eq!(harness.state().mode(), Mode::Clip);
}

/// Mean absolute RGB difference between two equally sized rects of the image.
fn mean_abs_rgb(image: &image::RgbaImage, a: egui::Rect, b: egui::Rect) -> f64 {
    let (a, b) = (a.shrink(3.0), b.shrink(3.0));
    let (w, h) = (a.width().min(b.width()) as u32, a.height().min(b.height()) as u32);
    let mut sum = 0u64;
    for y in 0..h {
        for x in 0..w {
            let p = image.get_pixel(a.left() as u32 + x, a.top() as u32 + y).0;
            let q = image.get_pixel(b.left() as u32 + x, b.top() as u32 + y).0;
            sum += (0..3).map(|c| u64::from(p[c].abs_diff(q[c]))).sum::<u64>();
        }
    }
    sum as f64 / f64::from(3 * w * h)
}

#[test]
fn a_mixture_shows_its_stft_and_one_mask_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = Dataset::open_with(&root, tiny_data::taxonomy(), &Default::default()).unwrap();
    let out = dir.path().join("mixes");
    let options = MixOptions { out: out.clone(), count: 1, sources: 3..=3, seed: 2, split: None, threads: 1 };
    make_mixtures(&dataset, &options, &|_, _| {}).unwrap();

    let mut harness = harness();
    harness.state_mut().open_mixture(mixture_path(&out, 0));
    step_until(&mut harness, "mixture", |app| app.mixture().is_some() && !app.is_data_busy());
    assert_eq!(harness.state().mode(), Mode::Mixture);
    assert_eq!(harness.state().mixture().unwrap().masks.len(), 3);
    let rects = harness.state().panel_rects().to_vec();
    assert_eq!(rects.len(), 4, "the mixture and three masks");
    let image = harness.render().expect("wgpu render");
    for (row, rect) in rects.iter().enumerate() {
        let lit = lit_fraction(&image, *rect);
        // The STFT of tones of a few partials lights few rows (about 8% measured); a mask lights
        // every bin where its source holds a share during the 3 s of sound. An empty view is 0.
        let least = if row == 0 { 0.02 } else { 0.1 };
        assert!(lit > least, "row {row} is {lit:.3} lit");
    }
    // The audition buttons are there, one per source.
    for label in ["Play mixture", "Play source 0", "Play source 1", "Play source 2"] {
        harness.get_by_label(label);
    }
}

#[test]
fn a_note_and_its_played_version_are_switched_by_b() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let (a, b) = tiny_data::banks(dir.path());
    let copy = played_copy_of(&root);
    let options =
        PlayedCopyOptions { dataset: root.clone(), libraries: vec![a, b], out: copy.clone(), seed: 3, threads: 2 };
    played_copy(&options, &|_, _| {}).unwrap();
    let mut harness = harness();
    step_until(&mut harness, "demo analysis", |app| app.analysis().is_some() && !app.is_busy());
    harness.state_mut().open_dataset(root.clone());
    step_until(&mut harness, "data set open", |app| app.browser().dataset().is_some());
    let dataset = Dataset::open_with(&root, tiny_data::taxonomy(), &Default::default()).unwrap();
    // A train note has a played version; a test note has none.
    let train = dataset.notes.iter().position(|n| n.split == Some(Split::Train)).unwrap();
    let name = dataset.notes[train].record.note_str.clone();
    harness.state_mut().load_note(train);
    step_until(&mut harness, "the played version", |app| {
        !app.is_busy() && app.analysis().is_some_and(|a| a.clip.name == name) && app.compared_note() == Some(&name)
    });
    let label = harness.state().compare_label().unwrap().to_owned();
    assert!(label.starts_with("B: played (held "), "{label}");
    let a_source = harness.state().shown_clip_source().unwrap().to_owned();
    assert!(a_source.starts_with(&root) && !a_source.starts_with(&copy));
    harness.key_press(egui::Key::B);
    harness.run_steps(2);
    assert!(harness.state().showing_compare());
    assert!(harness.state().shown_clip_source().unwrap().starts_with(&copy));
    harness.key_press(egui::Key::B);
    harness.run_steps(2);
    assert_eq!(harness.state().shown_clip_source(), Some(a_source.as_path()));

    // A note without a played version drops the pair.
    let test = dataset.notes.iter().position(|n| n.split == Some(Split::Test)).unwrap();
    let test_name = dataset.notes[test].record.note_str.clone();
    harness.state_mut().load_note(test);
    step_until(&mut harness, "the test note", |app| {
        !app.is_busy() && app.analysis().is_some_and(|a| a.clip.name == test_name)
    });
    assert_eq!(harness.state().compared_note(), None);
}

/// A tiny model with a multi-label head and a mask head, trained on the tiny notes and their
/// mixtures; returns its model file.
fn train_polyphonic(root: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    use timbrescope::learn::notes::polyphony::PolyphonyConfig;
    use timbrescope::learn::{Stages, TrainConfig, TrainOptions, train};
    let text =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.toml")).unwrap();
    let mut config = TrainConfig::parse(&text, "default.toml").unwrap();
    let m = &mut config.model;
    (m.width, m.fused, m.rnn_hidden, m.projection, m.dropout) = (16, 16, 8, 8, 0.0);
    (config.ssl.epochs, config.ssl.batch, config.mtl.epochs, config.mtl.batch) = (1, 16, 8, 16);
    config.mtl.max_lr = 0.01;
    config.pitch_shift = None;
    if let Some(r) = &mut config.feature_reverb {
        r.rooms = 4;
    }
    config.polyphony = Some(PolyphonyConfig { share: 0.5, sources: [2, 2], label_weight: 1.0, mask_weight: 1.0 });
    let run = dir.join("run");
    let options = TrainOptions {
        config,
        dataset: root.to_owned(),
        degraded: Vec::new(),
        played: None,
        run: run.clone(),
        stage: Stages::Both,
        device: candle_core::Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    };
    train(&options, &std::sync::atomic::AtomicBool::new(false), &mut |_| {}).unwrap();
    run.join("best.safetensors")
}

#[test]
fn the_models_masks_stand_beside_the_ideal_ones_and_a_clip_gets_an_activity_strip() {
    use timbrescope::ui::mixture_view::ModelMasks;
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let model = train_polyphonic(&root, dir.path());
    let dataset = Dataset::open_with(&root, tiny_data::taxonomy(), &Default::default()).unwrap();
    let out = dir.path().join("mixes");
    let options = MixOptions { out: out.clone(), count: 1, sources: 2..=2, seed: 3, split: None, threads: 1 };
    make_mixtures(&dataset, &options, &|_, _| {}).unwrap();

    let mut harness = harness();
    harness.state_mut().use_model(model);
    step_until(&mut harness, "model", |app| app.prediction().summary.is_some());
    harness.state_mut().open_mixture(mixture_path(&out, 0));
    step_until(&mut harness, "predicted masks", |app| matches!(app.predicted_masks(), ModelMasks::Ready { .. }));
    harness.run_steps(2);
    let rects = harness.state().panel_rects().to_vec();
    assert_eq!(rects.len(), 1 + 3 * 2, "the mixture, then ideal, predicted and difference per source");
    harness.get_by_label_contains("ideal | predicted by the model | difference");
    let image = harness.render().expect("wgpu render");
    for s in 0..2 {
        let (ideal, predicted, difference) = (rects[1 + s], rects[3 + s], rects[5 + s]);
        // A mask in dB from -40 lights every cell where the source holds more than 1%.
        for (what, rect) in [("ideal", ideal), ("predicted", predicted)] {
            let lit = lit_fraction(&image, rect);
            assert!(lit > 0.1, "source {s}: the {what} mask is {lit:.3} lit");
        }
        // The difference is drawn, and is its own image: neither mask again.
        let lit = lit_fraction(&image, difference);
        assert!(lit > 0.01, "source {s}: the difference is {lit:.3} lit");
        for (what, rect) in [("ideal", ideal), ("predicted", predicted)] {
            let apart = mean_abs_rgb(&image, difference, rect);
            assert!(apart > 2.0, "source {s}: the difference looks like the {what} mask ({apart:.2})");
        }
    }

    // The mixture in the clip views: the strip under them shows what the model hears when.
    harness.get_by_label("Open in clip views").click();
    step_until(&mut harness, "activity", |app| {
        app.analysis().is_some_and(|a| a.clip.name == "mix_000000") && app.prediction().activity.is_some()
    });
    harness.run_steps(2);
    let activity = harness.state().prediction().activity.clone().unwrap();
    assert!(activity.multi_label);
    // 4 s of sound: 1-s windows every 0.25 s.
    assert_eq!(activity.probabilities.len(), 13);
    let active = activity.active(timbrescope::ui::predict_panel::PRESENT);
    assert!(!active.is_empty(), "no instrument reaches 50% in any window: {:?}", activity.probabilities);
    let strip = harness.state().activity_rect().expect("the strip is drawn");
    let image = harness.render().expect("wgpu render");
    let lit = lit_fraction(&image, strip);
    assert!(lit > 0.05, "the strip is {lit:.3} lit");
}
