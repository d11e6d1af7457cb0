//! NSynth's schema in the window under egui_kittest (wgpu): the browser offers NSynth's family,
//! source and quality filters, and the prediction panel shows a model's NSynth heads.

mod common;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use candle_core::Device;
use common::nsynth_data::download;
use common::ui::step_until;
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use timbrescope::data::dataset::Dataset;
use timbrescope::data::schema::PitchLabels;
use timbrescope::learn::{Stages, TrainConfig, TrainOptions, train};
use timbrescope::ui::Workbench;

/// Picks `option` in the combo box labelled `label`.
fn choose(harness: &mut Harness<'_, Workbench>, label: &str, option: &str) {
    harness.get_by_label(label).click_accesskit();
    harness.run_steps(2);
    harness.get_by_label(option).click_accesskit();
    harness.run_steps(2);
}

#[test]
fn the_browser_filters_and_the_prediction_panel_follow_nsynth_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = download(dir.path());
    let dataset = Dataset::open(&root).unwrap();
    let schema = dataset.schema(PitchLabels::Midi);
    let family = schema.head("family").unwrap();
    let count = |keep: &dyn Fn(usize) -> bool| (0..dataset.notes.len()).filter(|&i| keep(i)).count();

    let mut harness =
        Harness::builder().with_size(egui::vec2(1400.0, 950.0)).wgpu().build_eframe(|cc| Workbench::new(cc, None));
    step_until(&mut harness, "demo analysis", |app| app.analysis().is_some() && !app.is_busy());
    harness.state_mut().open_dataset(root.clone());
    step_until(&mut harness, "data set open", |app| app.browser().dataset().is_some());
    assert_eq!(harness.state().browser().matches().len(), dataset.notes.len());

    // NSynth's own families, among them three our taxonomy lacks, and its sources and qualities.
    choose(&mut harness, "family", "synth_lead");
    let synth_lead = schema.heads[family].classes.iter().position(|c| c == "synth_lead").unwrap() as u16;
    let of_family = |i: usize| dataset.classes(i, &schema).unwrap().classes[family] == synth_lead;
    assert_eq!(harness.state().browser().matches().len(), count(&of_family));
    assert_eq!(count(&of_family), 10);
    choose(&mut harness, "quality", "percussive");
    let percussive = schema.qualities.iter().position(|q| q == "percussive").unwrap();
    let both = |i: usize| of_family(i) && dataset.classes(i, &schema).unwrap().qualities >> percussive & 1 == 1;
    assert_eq!(harness.state().browser().matches().len(), count(&both));
    choose(&mut harness, "family", "guitar");
    let guitar = schema.heads[family].classes.iter().position(|c| c == "guitar").unwrap() as u16;
    let percussive_guitar = |i: usize| {
        let c = dataset.classes(i, &schema).unwrap();
        c.classes[family] == guitar && c.qualities >> percussive & 1 == 1
    };
    // The fixture marks every third family percussive: guitar (3) is one, synth_lead (9) too.
    assert!(count(&percussive_guitar) > 0);
    assert_eq!(harness.state().browser().matches().len(), count(&percussive_guitar));

    // A model trained on the download answers with NSynth's heads in the prediction panel.
    let mut config = TrainConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/nsynth.toml")).unwrap();
    (config.model.width, config.model.fused, config.model.rnn_hidden, config.model.projection) = (16, 16, 8, 8);
    (config.mtl.epochs, config.mtl.batch) = (1, 16);
    let run = dir.path().join("run");
    let options = TrainOptions {
        config,
        dataset: root,
        degraded: Vec::new(),
        played: None,
        run: run.clone(),
        stage: Stages::Mtl,
        device: Device::Cpu,
        resume: false,
        init: None,
        threads: 2,
    };
    train(&options, &AtomicBool::new(false), &mut |_| {}).unwrap();
    harness.state_mut().use_model(run.join("best.safetensors"));
    step_until(&mut harness, "the NSynth model's prediction", |app| {
        app.prediction().pending[0].is_none() && app.prediction().clean.is_some()
    });
    let prediction = harness.state().prediction().clean.clone().unwrap();
    let heads: Vec<&str> = prediction.heads.iter().map(|h| h.head.as_str()).collect();
    assert_eq!(heads, ["family", "source", "pitch", "velocity", "qualities"]);
    assert!(prediction.heads[0].top.iter().all(|(f, _)| schema.heads[family].classes.contains(f)));
    // The panel writes the heads after the first as lines of text.
    harness.get_by_label_contains("source: ");
    harness.get_by_label_contains("qualities: ");
}
