//! The curves of every watched run: loss, accuracy, temperature and learning rate against the
//! global step, smoothed as TensorBoard does.

use std::collections::BTreeSet;

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints};

use super::run_color;
use crate::learn::TrainStage;
use crate::learn::training::run::MetricRecord;

impl super::TrainPanel {
    pub(super) fn curves_ui(&mut self, ui: &mut egui::Ui) {
        let keys: BTreeSet<String> =
            self.watches.iter().flat_map(|w| w.records.iter().flat_map(|r| r.values.keys().cloned())).collect();
        // The primary head: the instrument, or NSynth's family for a run on its labels.
        let primary = if keys.contains("acc_instrument") || !keys.contains("acc_family") {
            "acc_instrument"
        } else {
            "acc_family"
        };
        let plots: [(&str, &[&str]); 4] = [
            ("loss", &["loss"]),
            // The library-leak probe beside the primary head (dotted): near its chance line, the
            // model has not learnt the recordings apart.
            ("accuracy", &[primary, "retrieval_acc", "probe_library", "probe_chance"]),
            ("learning rate", &["lr"]),
            ("temperature", &["temperature"]),
        ];
        let height = ((ui.available_height() - 110.0) / 5.0).max(120.0);
        for (title, series) in plots {
            ui.label(title);
            self.plot_ui(ui, title, series, height);
        }
        ui.horizontal(|ui| {
            ui.add(egui::Slider::new(&mut self.settings.smoothing, 0.0..=0.99).text("smoothing of train steps"));
        });
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("series").selected_text(self.settings.extra_series.clone()).show_ui(ui, |ui| {
                for key in &keys {
                    ui.selectable_value(&mut self.settings.extra_series, key.clone(), key);
                }
            });
        });
        let extra = self.settings.extra_series.clone();
        self.plot_ui(ui, "extra", &[extra.as_str()], height);
    }

    fn plot_ui(&self, ui: &mut egui::Ui, id: &str, series: &[&str], height: f32) {
        Plot::new(id).height(height).legend(Legend::default()).x_axis_label("step").show(ui, |plot| {
            for (r, watch) in self.watches.iter().enumerate() {
                // Stage 2's steps continue after stage 1's on the axis.
                let offset =
                    watch.records.iter().filter(|x| x.stage == TrainStage::Ssl).map(|x| x.step + 1).max().unwrap_or(0);
                for key in series {
                    for (stage, split) in [
                        (TrainStage::Ssl, "train"),
                        (TrainStage::Ssl, "valid"),
                        (TrainStage::Mtl, "train"),
                        (TrainStage::Mtl, "valid"),
                    ] {
                        let mut points: Vec<[f64; 2]> = watch
                            .records
                            .iter()
                            .filter(|x| x.split == split && x.stage == stage)
                            .filter_map(|x| x.values.get(*key).map(|v| [global_step(x, offset), *v]))
                            .collect();
                        if points.is_empty() {
                            continue;
                        }
                        if split == "train" {
                            smooth(&mut points, self.settings.smoothing);
                        }
                        // One legend entry per run, series and split: both stages share it.
                        let name = format!("{} {key} ({split})", watch.name());
                        let mut line = Line::new(name, PlotPoints::from(points)).color(run_color(r));
                        // The probe and its chance line are dotted, so they read apart from the
                        // accuracy of the same run.
                        line = match *key {
                            "probe_library" => line.style(LineStyle::dotted_dense()).width(2.0),
                            "probe_chance" => line.style(LineStyle::dotted_loose()).width(1.0),
                            _ if split == "valid" => line.style(LineStyle::dashed_loose()).width(2.0),
                            _ => line,
                        };
                        plot.line(line);
                    }
                }
            }
        });
    }
}

/// Exponential moving average of the values in place (TensorBoard's smoothing).
fn smooth(points: &mut [[f64; 2]], weight: f64) {
    for i in 1..points.len() {
        points[i][1] = weight * points[i - 1][1] + (1.0 - weight) * points[i][1];
    }
}

fn global_step(record: &MetricRecord, ssl_steps: usize) -> f64 {
    (if record.stage == TrainStage::Mtl { record.step + ssl_steps } else { record.step }) as f64
}
