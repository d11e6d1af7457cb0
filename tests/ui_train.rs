//! The training tab under egui_kittest: a tiny job started with the button runs to completion
//! on its worker, its curves and confusion matrix appear, a click on a cell lists its notes, a
//! click on a note loads it into the views, and the new model drives the prediction panel; a
//! run that fails on its worker says so in the panel and the status bar, and can start again;
//! a played copy that is no data set is named before anything starts; mixtures chosen in the
//! form reach the run's config, and the form keeps their share in range.

mod common;

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use timbrescope::learn::notes::polyphony::PolyphonyConfig;
use timbrescope::learn::training::run::RunState;
use timbrescope::learn::{ModelSource, TrainConfig, TrainStage};
use timbrescope::ui::train_panel::MixtureChoice;
use timbrescope::ui::{Mode, Workbench};

fn wait(harness: &mut Harness<'_, Workbench>, what: &str, secs: u64, done: impl Fn(&Workbench) -> bool) {
    let start = Instant::now();
    while !done(harness.state()) {
        let app = harness.state();
        let panel = app.train_panel();
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} never happened (message: {:?}, progress: {:?}, status: {:?})",
            panel.message,
            panel.progress,
            app.status_text()
        );
        std::thread::sleep(Duration::from_millis(50));
        harness.step();
    }
    harness.run_steps(3);
}

/// A primary click at a point: hover first, so the widget under it sees the press and release.
fn click_at(harness: &mut Harness<'_, Workbench>, pos: egui::Pos2) {
    harness.hover_at(pos);
    harness.run_steps(1);
    for pressed in [true, false] {
        let button = egui::PointerButton::Primary;
        harness.event(egui::Event::PointerButton { pos, button, pressed, modifiers: Default::default() });
        harness.run_steps(1);
    }
}

/// The training tab of a workbench whose form names a tiny data set, `config` (the default
/// recipe shrunk, changed by `change`) and a runs folder, all under `dir`.
fn tiny_form(dir: &std::path::Path, change: impl FnOnce(&mut TrainConfig)) -> Harness<'static, Workbench> {
    let (data, _) = common::tiny_data::build(dir);
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/models/default.toml")).unwrap();
    let mut config = TrainConfig::parse(&text, "default.toml").unwrap();
    (config.model.width, config.model.fused, config.model.rnn_hidden) = (16, 16, 8);
    (config.ssl.epochs, config.ssl.batch, config.mtl.epochs, config.mtl.batch) = (1, 16, 2, 16);
    change(&mut config);
    let config_path = dir.join("tiny.toml");
    std::fs::write(&config_path, config.to_toml()).unwrap();
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 1000.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None));
    harness.state_mut().set_mode(Mode::Training);
    {
        let panel = harness.state_mut().train_panel_mut();
        panel.settings.dataset = data.display().to_string();
        panel.settings.config = config_path.display().to_string();
        panel.settings.runs_dir = dir.join("runs").display().to_string();
    }
    harness
}

#[test]
fn the_training_panel_runs_a_tiny_job_and_shows_where_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = tiny_form(dir.path(), |_| {});
    let data = std::path::PathBuf::from(&harness.state().train_panel().settings.dataset);
    harness.run_steps(2);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    assert!(harness.state().train_panel().is_running(), "{:?}", harness.state().train_panel().message);
    wait(&mut harness, "the run's end", 120, |app| {
        let panel = app.train_panel();
        !panel.is_running()
            && panel.watches.iter().any(|w| w.status.as_ref().is_some_and(|s| s.state == RunState::Done))
    });
    let panel = harness.state().train_panel();
    let progress = panel.progress.clone().unwrap();
    assert_eq!((progress.stage, progress.step), (Some(TrainStage::Mtl), progress.steps), "{progress:?}");
    assert!(progress.samples_per_sec > 0.0);
    let watch = &panel.watches[0];
    assert!(
        watch.records.iter().any(|r| r.stage == TrainStage::Ssl)
            && watch.records.iter().any(|r| r.stage == TrainStage::Mtl)
    );
    // Three instruments in the tiny taxonomy: a 3 x 3 heatmap.
    wait(&mut harness, "the confusion matrix", 10, |app| app.train_panel().confusion.cell_rects.len() == 9);
    let live = harness.state().train_panel().live_run().unwrap().to_owned();
    assert_eq!(harness.state().prediction().model, Some(ModelSource::File(live.join("best.safetensors"))));

    // Click the cell of the first validation note, wherever the tiny model put it (a few steps of
    // training decide little): the cell's notes are listed; click that note to load it.
    let confusion = harness.state().train_panel().watches[0].confusion.clone().unwrap();
    let first = confusion.notes.first().expect("the valid split has notes").clone();
    let (n, cell_index) = (confusion.labels.len(), (first.truth, first.predicted));
    let cell = harness.state().train_panel().confusion.cell_rects[first.truth * n + first.predicted];
    click_at(&mut harness, cell.center());
    assert_eq!(harness.state().train_panel().confusion.cell, Some(cell_index));
    let note = first.note;
    harness.get_by_label(note.as_str()).click();
    harness.run_steps(2);
    assert_eq!(harness.state().mode(), Mode::Clip);
    wait(&mut harness, "the note's analysis and its prediction", 30, |app| {
        app.analysis().is_some_and(|a| a.clip.name.contains(&note))
            && app.prediction().pending[0].is_none()
            && app.prediction().clean.is_some()
    });
    let prediction = harness.state().prediction().clean.clone().unwrap();
    assert_eq!(prediction.head("instrument").unwrap().top.len(), 3, "three instruments, all listed");

    // A note and, beside it, the training note of the class it was heard as that lies nearest in
    // the model's embedding. The tiny taxonomy's "absent" has no training notes (bank B, the only
    // one with it, is held out whole): a note heard as absent is answered with that, by name.
    harness.state_mut().set_mode(Mode::Training);
    harness.run_steps(2);
    let absent = confusion.labels.iter().position(|l| l == "absent").unwrap();
    let pick = confusion.notes.iter().find(|x| x.predicted != absent).unwrap_or(&confusion.notes[0]).clone();
    let cell = harness.state().train_panel().confusion.cell_rects[pick.truth * n + pick.predicted];
    click_at(&mut harness, cell.center());
    let label = format!("nearest {}", confusion.labels[pick.predicted]);
    let button = harness.get_all_by_label(&label).next().expect("a nearest-note button per listed note");
    button.click();
    harness.run_steps(2);
    if pick.predicted == absent {
        wait(&mut harness, "the answer for a class without training notes", 60, |app| {
            app.status_text().is_some_and(|s| s.contains("no note of absent"))
        });
        return;
    }
    wait(&mut harness, "the nearest training note", 60, |app| app.compared_note().is_some() && !app.is_busy());
    let nearest = harness.state().compared_note().unwrap().to_owned();
    let note = pick.note;
    assert_ne!(nearest, note);
    let dataset = timbrescope::data::dataset::Dataset::open(&data).unwrap();
    let n = dataset.notes.iter().find(|n| n.record.note_str == nearest).expect("a note of the data set");
    assert_eq!(n.split, Some(timbrescope::data::dataset::Split::Train));
    assert_eq!(n.labels.instrument.map(usize::from), Some(pick.predicted));
    assert!(harness.state().shown_clip_name().is_some_and(|c| c.contains(&note)));
    harness.key_press(egui::Key::B);
    harness.run_steps(2);
    assert_eq!(harness.state().shown_clip_name(), Some(nearest.as_str()));
    harness.key_press(egui::Key::B);
    harness.run_steps(2);
    assert!(harness.state().shown_clip_name().is_some_and(|c| c.contains(&note)));
}

#[test]
fn a_run_that_fails_on_its_worker_is_reported_and_the_panel_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = common::tiny_data::build(dir.path());
    // The notes' audio is gone: the run starts, then fails building the feature store.
    std::fs::remove_dir_all(data.join("audio")).unwrap();
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 1000.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None));
    // The demo clip's analysis writes the status line too: let it land before the failure does.
    wait(&mut harness, "the demo clip's analysis", 60, |app| app.analysis().is_some() && !app.is_busy());
    harness.state_mut().set_mode(Mode::Training);
    {
        let panel = harness.state_mut().train_panel_mut();
        panel.settings.dataset = data.display().to_string();
        panel.settings.config = String::new();
        panel.settings.runs_dir = dir.path().join("runs").display().to_string();
    }
    harness.run_steps(2);
    for attempt in 0..2 {
        harness.get_by_label("Start training").click();
        harness.run_steps(2);
        let panel = harness.state().train_panel();
        assert!(panel.is_running() || panel.message.as_ref().is_some_and(|m| m.1), "attempt {attempt}: not started");
        wait(&mut harness, "the failure", 60, |app| !app.train_panel().is_running());
        let (message, is_error) = harness.state().train_panel().message.clone().unwrap();
        assert!(is_error && message.contains("audio"), "attempt {attempt}: {message}");
        let status = harness.state().status_text().unwrap_or_default().to_owned();
        assert!(status.starts_with("Training failed") && status.contains("audio"), "attempt {attempt}: {status}");
        // Shown once: the next frames leave the panel as it is.
        harness.run_steps(3);
        assert!(!harness.state().train_panel().is_running());
    }
}

#[test]
fn the_leave_one_library_out_heatmap_lists_a_cells_notes_and_loads_one() {
    use timbrescope::learn::assessment::lolo::{LoloFold, LoloReport};
    use timbrescope::learn::scoring::confusion::ConfusedNote;
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = common::tiny_data::build(dir.path());
    let dataset = timbrescope::data::dataset::Dataset::open(&data).unwrap();
    // One fold per tiny bank, every note of tone_b heard as tone_a in bank B's fold.
    let fold = |bank: &str, wrong: bool| {
        let confused: Vec<ConfusedNote> = dataset
            .notes
            .iter()
            .filter(|n| n.record.bank.as_deref() == Some(bank))
            .map(|n| {
                let truth = usize::from(n.labels.instrument.unwrap());
                let predicted = if wrong && truth == 1 { 0 } else { truth };
                ConfusedNote { note: n.record.note_str.clone(), truth, predicted }
            })
            .collect();
        let recall = (0..3)
            .map(|i| {
                let of: Vec<&ConfusedNote> = confused.iter().filter(|n| n.truth == i).collect();
                (!of.is_empty()).then(|| of.iter().filter(|n| n.predicted == i).count() as f64 / of.len() as f64)
            })
            .collect();
        LoloFold {
            held_out: bank.into(),
            dataset: data.display().to_string(),
            notes: confused.len(),
            accuracy: 0.5,
            balanced_accuracy: 0.5,
            recall,
            confused,
        }
    };
    let report = LoloReport {
        instruments: vec!["tone_a".into(), "tone_b".into(), "absent".into()],
        folds: vec![fold("tiny_a", false), fold("tiny_b", true)],
    };
    let path = dir.path().join("lolo.json");
    std::fs::write(&path, serde_json::to_string(&report).unwrap()).unwrap();

    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 1000.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None));
    harness.state_mut().set_mode(Mode::Training);
    harness.state_mut().train_panel_mut().open_lolo(path);
    harness.run_steps(3);
    // Two held-out libraries by three instruments.
    assert_eq!(harness.state().train_panel().lolo_state.cell_rects.len(), 6);
    let cell = harness.state().train_panel().lolo_state.cell_rects[3 + 1];
    click_at(&mut harness, cell.center());
    assert_eq!(harness.state().train_panel().lolo_state.cell, Some((1, 1)));
    let note = report.folds[1].confused.iter().find(|n| n.truth == 1).unwrap().note.clone();
    harness.get_by_label(format!("x {note}: tone_a").as_str()).click();
    harness.run_steps(2);
    assert_eq!(harness.state().mode(), Mode::Clip);
    wait(&mut harness, "the note's analysis", 30, |app| app.analysis().is_some_and(|a| a.clip.name.contains(&note)));

    // A file that is not a report is named, and the panel keeps working.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[1, 2]").unwrap();
    harness.state_mut().train_panel_mut().open_lolo(bad);
    let message = harness.state().train_panel().message.clone().unwrap();
    assert!(message.1 && message.0.contains("bad.json") && message.0.contains("not a LOLO report"), "{message:?}");
}

#[test]
fn a_played_copy_is_chosen_in_the_form_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = common::tiny_data::build(dir.path());
    let mut harness =
        Harness::builder().with_size(egui::vec2(1500.0, 1000.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None));
    harness.state_mut().set_mode(Mode::Training);
    {
        let panel = harness.state_mut().train_panel_mut();
        panel.settings.dataset = data.display().to_string();
        panel.settings.played = dir.path().join("tiny-played").display().to_string();
        panel.settings.runs_dir = dir.path().join("runs").display().to_string();
    }
    harness.run_steps(2);
    // The field is in the form, labelled, beside its browse button.
    harness.get_by_label("played copy");
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    let panel = harness.state().train_panel();
    let (message, is_error) = panel.message.clone().unwrap();
    assert!(is_error && message.contains("played copy") && message.contains("tiny-played"), "{message}");
    assert!(!panel.is_running());
}

#[test]
fn mixtures_chosen_in_the_form_reach_the_runs_config_and_its_share_stays_in_range() {
    let dir = tempfile::tempdir().unwrap();
    // A config without mixtures: the form adds them.
    let mut harness = tiny_form(dir.path(), |c| {
        c.mtl.epochs = 1;
        c.polyphony = None;
    });
    harness.state_mut().train_panel_mut().settings.mixtures = MixtureChoice::Share { share: 1.5, mask_weight: 1.0 };
    harness.run_steps(2);
    // The form's fields hold a share the config accepts (`MixtureChoice::apply` names a bad one).
    let clamped = MixtureChoice::Share { share: 0.9, mask_weight: 1.0 };
    assert_eq!(harness.state().train_panel().settings.mixtures, clamped);

    // Chosen with the mouse: the row's combo box, then its third choice.
    harness.state_mut().train_panel_mut().settings.mixtures = MixtureChoice::FromConfig;
    harness.run_steps(2);
    let combo = harness
        .query_all_by_role(egui::accesskit::Role::ComboBox)
        .find(|n| n.value().as_deref() == Some("as the config says"))
        .expect("the mixtures row's combo box shows the choice");
    combo.click();
    harness.run_steps(2);
    harness.get_by_label("a share of each batch").click();
    harness.run_steps(2);
    assert_eq!(harness.state().train_panel().settings.mixtures, MixtureChoice::SHARE);
    harness.get_by_label("Start training").click();
    harness.run_steps(2);
    let run = harness.state().train_panel().live_run().unwrap().to_owned();
    wait(&mut harness, "the run's end", 300, |app| {
        let panel = app.train_panel();
        !panel.is_running()
            && panel.watches.iter().any(|w| w.status.as_ref().is_some_and(|s| s.state == RunState::Done))
    });
    let saved = TrainConfig::load(&run.join("config.toml")).unwrap();
    let expected = PolyphonyConfig { share: 0.25, sources: [2, 3], label_weight: 1.0, mask_weight: 1.0 };
    assert_eq!(saved.polyphony, Some(expected));
}
