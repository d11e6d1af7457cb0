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
use timbrescope::jobs::data::GridRequest;
use timbrescope::jobs::data::played_copy_of;
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
