//! The training form: data set, degraded and played copies, config, stage and threads, and the
//! start, cancel and open-run buttons with the live progress line.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use super::{Pick, run_color};
use crate::learn::{Stages, TrainStage};

impl super::TrainPanel {
    pub(super) fn controls_ui(&mut self, ui: &mut egui::Ui, notify: Arc<dyn Fn() + Send + Sync>) {
        ui.heading("Training");
        let running = self.is_running();
        egui::Grid::new("train_form").num_columns(3).show(ui, |ui| {
            let row = |ui: &mut egui::Ui, label: &str, value: &mut String, pick: Pick, hint: &str| {
                let l = ui.label(label);
                ui.add_enabled(!running, egui::TextEdit::singleline(value).desired_width(190.0).hint_text(hint))
                    .labelled_by(l.id);
                if ui.add_enabled(!running, egui::Button::new("…")).on_hover_text("Browse").clicked() {
                    self.pick(pick, ui.ctx());
                }
                ui.end_row();
            };
            let mut s = self.settings.clone();
            row(ui, "data set", &mut s.dataset, Pick::Dataset, "folder with examples.json");
            row(ui, "degraded copies", &mut s.degraded, Pick::Degraded, "optional: `dataset degrade` folders; a; b");
            row(ui, "played copy", &mut s.played, Pick::Played, "optional: `dataset played` folder");
            row(ui, "config", &mut s.config, Pick::Config, "empty: the shipped models/default.toml");
            self.settings = s;
            self.mixtures_ui(ui, running);
            ui.label("stage");
            ui.add_enabled_ui(!running, |ui| {
                egui::ComboBox::from_id_salt("stage").selected_text(self.settings.stage.name()).show_ui(ui, |ui| {
                    for stage in Stages::ALL {
                        ui.selectable_value(&mut self.settings.stage, stage, stage.name());
                    }
                });
            });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            if ui.add_enabled(!running, egui::Button::new("Start training")).clicked()
                && let Err(e) = self.start(notify)
            {
                self.message = Some((e, true));
            }
            if ui
                .add_enabled(running, egui::Button::new("Cancel"))
                .on_hover_text("Stops after the current step")
                .clicked()
            {
                self.cancel();
            }
            if ui.button("Open run…").on_hover_text("Watch a run folder, e.g. one training on a GPU server").clicked()
            {
                self.pick(Pick::Run, ui.ctx());
            }
            if ui
                .button("Open LOLO…")
                .on_hover_text("A leave-one-library-out report (`timbrescope lolo`): recall by held-out library")
                .clicked()
            {
                self.pick(Pick::Lolo, ui.ctx());
            }
            if ui
                .button("Open sweep…")
                .on_hover_text("A robustness sweep (`timbrescope eval --sweep`): accuracy per step, overlaid by model")
                .clicked()
            {
                self.pick(Pick::Sweep, ui.ctx());
            }
        });
        if let Some(p) = &self.progress {
            if let Some((what, done, total)) = &p.preparing {
                ui.add(
                    egui::ProgressBar::new(*done as f32 / (*total).max(1) as f32)
                        .text(format!("{what}: {done}/{total}")),
                );
            } else if p.steps > 0 {
                let text = format!(
                    "{} step {}/{} · {:.0} samples/s · ETA {}",
                    p.stage.map_or("", TrainStage::name),
                    p.step,
                    p.steps,
                    p.samples_per_sec,
                    format_secs(p.eta_secs)
                );
                ui.add(egui::ProgressBar::new(p.step as f32 / p.steps as f32).text(text));
            }
        }
        if let Some((text, is_error)) = &self.message {
            let color = if *is_error { ui.visuals().error_fg_color } else { ui.visuals().text_color() };
            ui.colored_label(color, text);
        }
        let mut remove = None;
        for (i, w) in self.watches.iter().enumerate() {
            ui.horizontal(|ui| {
                let (swatch, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                ui.painter().rect_filled(swatch, 2.0, run_color(i));
                let state = w.status.as_ref().map_or("no status yet".to_string(), |s| {
                    let state = if s.is_orphaned() {
                        "stopped (its process is gone; --resume continues it)".to_string()
                    } else {
                        format!("{:?}", s.state).to_lowercase()
                    };
                    format!("{state}, {} epoch {}/{}", s.stage.map_or("preparing", TrainStage::name), s.epoch, s.epochs)
                });
                ui.label(format!("{}: {state}", w.name())).on_hover_text(w.folder.dir.display().to_string());
                if Some(&w.folder.dir) != self.live.as_ref()
                    && ui.small_button("x").on_hover_text("Stop watching").clicked()
                {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            let gone = self.watches.remove(i);
            self.settings.watched.retain(|p| *p != gone.folder.dir);
            self.confusion_run = self.confusion_run.min(self.watches.len().saturating_sub(1));
        }
    }
}

fn format_secs(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The degraded copies named in the form's field: folders separated by ';', blanks skipped.
pub(super) fn degraded_copies(field: &str) -> Vec<PathBuf> {
    field.split(';').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copies_field_splits_on_semicolons() {
        assert_eq!(degraded_copies(" data/a ;; data/b c;"), vec![PathBuf::from("data/a"), PathBuf::from("data/b c")]);
        assert!(degraded_copies("  ").is_empty());
    }
}
