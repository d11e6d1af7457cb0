//! Live mode's side panel: where the stream comes from, start and stop, freeze and keep, the
//! level, the model's current answer and what the stream measures about itself.

use eframe::egui;

use crate::live::{LivePrediction, LiveReport};

/// What the user asked of the panel this frame.
#[derive(Debug, PartialEq)]
pub enum PanelAction {
    None,
    /// Listen to the chosen input device (None: the default input).
    StartDevice(Option<String>),
    /// Choose a file to play as if live.
    ChooseFile,
    Stop,
    ToggleFreeze,
    Keep,
}

/// What the panel shows.
pub struct PanelView<'a> {
    pub running: bool,
    pub frozen: bool,
    pub source: Option<String>,
    pub level_dbfs: f32,
    pub devices: Option<&'a Result<Vec<String>, String>>,
    pub latest: Option<&'a LivePrediction>,
    pub report: Option<&'a LiveReport>,
    pub fps: Option<f64>,
    pub block_to_pixel_ms: Option<f64>,
    pub selection_secs: Option<f64>,
    /// The stages the stream is heard through, when a chain is applied.
    pub chain: Option<&'a str>,
    /// What the saliency tint shows, once it shows something.
    pub saliency_shown: Option<&'a str>,
}

/// What the panel lets the user choose.
pub struct Choices<'a> {
    pub device: &'a mut Option<String>,
    pub predict: &'a mut bool,
    pub saliency: &'a mut bool,
    pub saliency_opacity: &'a mut f32,
}

pub fn panel_ui(ui: &mut egui::Ui, view: &PanelView<'_>, choices: Choices<'_>) -> PanelAction {
    let Choices { device, predict, saliency, saliency_opacity } = choices;
    let mut action = PanelAction::None;
    ui.heading("Live");
    match view.devices {
        Some(Ok(devices)) => {
            let current = device.clone().unwrap_or_else(|| "default input".into());
            ui.add_enabled_ui(!view.running, |ui| {
                egui::ComboBox::from_label("input").selected_text(current).width(150.0).show_ui(ui, |ui| {
                    ui.selectable_value(device, None, "default input");
                    for d in devices {
                        ui.selectable_value(device, Some(d.clone()), d);
                    }
                });
            });
        }
        Some(Err(e)) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        None => {}
    }
    ui.add_enabled(!view.running, egui::Checkbox::new(predict, "running prediction"))
        .on_hover_text("Every 0.25 s the model hears the last 4 s (from the onset in them)");
    ui.horizontal(|ui| {
        if view.running {
            if ui.button("Stop").clicked() {
                action = PanelAction::Stop;
            }
        } else if ui.button("Listen").on_hover_text("Listen to the chosen input").clicked() {
            action = PanelAction::StartDevice(device.clone());
        }
        if ui.add_enabled(!view.running, egui::Button::new("Play a file as live…")).clicked() {
            action = PanelAction::ChooseFile;
        }
    });
    if let Some(source) = &view.source {
        ui.label(format!("from {source}"));
    }
    match view.chain {
        Some(chain) => ui.label(format!("heard through: {chain}")),
        None => ui.small("clean (apply a chain below to hear it through one)"),
    };
    ui.horizontal(|ui| {
        let freeze = if view.frozen { "Follow (Space)" } else { "Freeze (Space)" };
        if ui.add_enabled(view.source.is_some(), egui::Button::new(freeze)).clicked() {
            action = PanelAction::ToggleFreeze;
        }
        let keep = match view.selection_secs {
            Some(s) => format!("Keep {s:.1} s as clip (K)"),
            None => "Keep visible as clip (K)".into(),
        };
        if ui
            .add_enabled(view.source.is_some(), egui::Button::new(keep))
            .on_hover_text("Drag on the waveform to choose a stretch; Escape clears it")
            .clicked()
        {
            action = PanelAction::Keep;
        }
    });
    let fraction = ((view.level_dbfs + 60.0) / 60.0).clamp(0.0, 1.0);
    ui.add(
        egui::ProgressBar::new(fraction).desired_width(200.0).text(format!("{:.0} dBFS", view.level_dbfs.max(-99.0))),
    );
    ui.separator();
    ui.strong("Heard now");
    match view.latest {
        Some(p) => {
            for (name, prob) in &p.top {
                ui.add(egui::ProgressBar::new(prob.clamp(0.0, 1.0)).desired_width(200.0).text(format!(
                    "{} {:.0}%",
                    name.replace('_', " "),
                    100.0 * prob
                )));
            }
            if let Some(present) = &p.present {
                let names: Vec<String> =
                    present.iter().map(|(n, q)| format!("{} ({:.0}%)", n.replace('_', " "), 100.0 * q)).collect();
                ui.label(if names.is_empty() {
                    "present: none above 50%".into()
                } else {
                    format!("present: {}", names.join(", "))
                });
            }
            ui.small(format!("at {:.2} s, answered {:.0} ms after the hop", p.at_secs, p.latency_ms));
        }
        None if view.running => {
            ui.label("listening… (silence is not predicted)");
        }
        None => {
            ui.label("-");
        }
    }
    ui.horizontal(|ui| {
        ui.add_enabled(*predict, egui::Checkbox::new(saliency, "saliency")).on_hover_text(
            "Tint the views where the model finds its evidence for what it hears (integrated gradients)",
        );
        ui.add_enabled(*saliency, egui::Slider::new(saliency_opacity, 0.0..=1.0).text("opacity"));
    });
    if *saliency {
        ui.small(view.saliency_shown.map_or("explaining…".into(), |s| format!("explained: {s}")));
    }
    ui.separator();
    ui.strong("Measured");
    if let Some(r) = view.report {
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1} ms"));
        egui::Grid::new("live stats").num_columns(2).show(ui, |ui| {
            ui.label("blocks dropped");
            let dropped = format!("{} of {}", r.dropped_blocks, r.blocks);
            if r.dropped_blocks > 0 {
                ui.colored_label(ui.visuals().error_fg_color, dropped);
            } else {
                ui.label(dropped);
            }
            ui.end_row();
            ui.label("frames / s");
            ui.label(view.fps.map_or("-".into(), |f| format!("{f:.0}")));
            ui.end_row();
            ui.label("block to pixel (median)");
            ui.label(ms(view.block_to_pixel_ms));
            ui.end_row();
            ui.label("block to columns (median)");
            ui.label(ms(r.block_to_columns.median_ms));
            ui.end_row();
            ui.label("prediction (median)");
            ui.label(ms(r.prediction.median_ms));
            ui.end_row();
            ui.label("CPU (of one core)");
            ui.label(r.cpu_percent.map_or("-".into(), |c| format!("{c:.0}%")));
            ui.end_row();
        });
    }
    action
}
