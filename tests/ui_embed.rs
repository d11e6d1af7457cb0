//! The embedding map under egui_kittest (wgpu): a file of embeddings opens as points, a click on
//! a point loads its note into the views, and a shift-drag box lists the notes inside it.

mod common;

use common::tiny_data;
use common::ui::step_until;
use eframe::egui;
use egui_kittest::Harness;
use timbrescope::data::dataset::{Dataset, Split};
use timbrescope::learn::explanation::embed::{EmbeddingMeta, Embeddings, Matrix};
use timbrescope::ui::{Mode, Workbench};

fn harness() -> Harness<'static, Workbench> {
    Harness::builder().with_size(egui::vec2(1280.0, 900.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None))
}

fn press(harness: &mut Harness<'_, Workbench>, pos: egui::Pos2, pressed: bool, modifiers: egui::Modifiers) {
    let button = egui::PointerButton::Primary;
    harness.event(egui::Event::PointerButton { pos, button, pressed, modifiers });
    harness.run_steps(2);
}

#[test]
fn a_click_on_a_point_loads_its_note_and_a_box_lists_the_notes_inside() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = tiny_data::build(dir.path());
    let dataset = Dataset::open_with(&root, tiny_data::taxonomy(), &Default::default()).unwrap();
    // Four test notes at the corners of a square in a 2-D "embedding": PCA keeps them apart.
    let notes: Vec<String> = dataset
        .notes
        .iter()
        .filter(|n| n.split == Some(Split::Test))
        .take(4)
        .map(|n| n.record.note_str.clone())
        .collect();
    assert_eq!(notes.len(), 4);
    let corners = [[0.0f32, 0.0], [10.0, 0.5], [0.5, 6.0], [10.5, 6.5]];
    let rows: Vec<Vec<f32>> = corners.iter().map(|c| c.to_vec()).collect();
    let embeddings = Embeddings {
        meta: EmbeddingMeta {
            model: "test".into(),
            dataset: root.display().to_string(),
            split: "test".into(),
            classes: vec!["tone_a".into(), "tone_b".into(), "absent".into()],
            notes: notes.clone(),
            families: vec![String::new(); 4],
            libraries: vec!["tiny_a".into(); 4],
            ..Default::default()
        },
        label: vec![0, 1, 0, 1],
        predicted: vec![0, 1, 1, 1],
        fused: Matrix::from_rows(&rows),
        z_stft: Matrix::from_rows(&rows),
        z_cqt: Matrix::from_rows(&rows),
    };
    let file = dir.path().join("emb.npz");
    embeddings.write(&file).unwrap();

    let mut harness = harness();
    step_until(&mut harness, "demo analysis", |app| app.analysis().is_some() && !app.is_busy());
    harness.state_mut().set_mode(Mode::Embedding);
    harness.state_mut().open_embeddings(file, false);
    step_until(&mut harness, "the map", |app| {
        app.embedding_map().is_some() && !app.is_embed_busy() && app.embedding_point_pos(0).is_some()
    });
    assert_eq!(harness.state().embeddings().unwrap().len(), 4);

    // A shift-drag box around the two left points lists those two notes.
    let (a, c) = (harness.state().embedding_point_pos(0).unwrap(), harness.state().embedding_point_pos(2).unwrap());
    let (lo, hi) = (a.min(c) - egui::vec2(12.0, 12.0), a.max(c) + egui::vec2(12.0, 12.0));
    let shift = egui::Modifiers::SHIFT;
    harness.event(egui::Event::ModifiersChanged(shift));
    harness.hover_at(lo);
    press(&mut harness, lo, true, shift);
    for k in 1..=6 {
        harness.hover_at(lo + (hi - lo) * (k as f32 / 6.0));
    }
    press(&mut harness, hi, false, shift);
    harness.event(egui::Event::ModifiersChanged(egui::Modifiers::NONE));
    harness.run_steps(3);
    let selected = harness.state().embedding_selection().to_vec();
    assert_eq!(selected, vec![0, 2], "the box held points 0 and 2");

    // A click on point 3 opens its note in the clip views.
    let p = harness.state().embedding_point_pos(3).unwrap();
    harness.hover_at(p);
    press(&mut harness, p, true, egui::Modifiers::NONE);
    press(&mut harness, p, false, egui::Modifiers::NONE);
    step_until(&mut harness, "the clicked note in the views", |app| {
        !app.is_busy() && app.analysis().is_some_and(|a| a.clip.name == notes[3])
    });
    assert_eq!(harness.state().mode(), Mode::Clip);
}
