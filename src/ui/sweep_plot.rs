//! Robustness sweeps (`timbrescope eval --sweep`) as curves: accuracy against the degradation's
//! parameter, one line a report, each model's clean accuracy dashed beside its curve. A model
//! trained with degradations overlaid on one trained without is the robustness claim, drawn.

use std::path::{Path, PathBuf};

use eframe::egui;
use egui_plot::{Corner, Legend, Line, LineStyle, Plot, PlotPoints};

use crate::learn::assessment::sweep::{SweepParam, SweepReport};

/// The report's primary head: instruments, or NSynth's families.
fn head(report: &SweepReport) -> &'static str {
    if report.clean.accuracy.contains_key("acc_instrument") { "instrument" } else { "family" }
}

/// Reads a sweep report, naming the file in the error.
pub fn read_sweep(path: &Path) -> Result<SweepReport, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a sweep report: {e}", path.display()))
}

/// One plot per swept parameter, every report of it overlaid, report `i` in `color(i)`.
pub fn sweep_ui(ui: &mut egui::Ui, reports: &[(PathBuf, SweepReport)], color: impl Fn(usize) -> egui::Color32) {
    for param in SweepParam::ALL {
        let of: Vec<(usize, &PathBuf, &SweepReport)> =
            reports.iter().enumerate().filter(|(_, (_, r))| r.param == param).map(|(i, (p, r))| (i, p, r)).collect();
        let Some((_, _, first)) = of.first() else { continue };
        ui.label(format!("{} accuracy by {} ({})", head(first), param.name(), first.unit));
        Plot::new(format!("sweep_{}", param.name()))
            .height(220.0)
            .legend(Legend::default().position(Corner::RightBottom))
            .x_axis_label(format!("{} ({})", param.name(), first.unit))
            .y_axis_label("accuracy %")
            .include_y(0.0)
            .include_y(100.0)
            .show(ui, |plot| {
                for (i, path, report) in &of {
                    let color = color(*i);
                    let name =
                        path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into());
                    let points: Vec<[f64; 2]> =
                        report.curve(head(report)).into_iter().map(|(x, a)| [x, 100.0 * a]).collect();
                    let (lo, hi) =
                        points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| (l.min(p[0]), h.max(p[0])));
                    if let Some(clean) = report.clean.accuracy.get(&format!("acc_{}", head(report)))
                        && lo <= hi
                    {
                        let flat = vec![[lo, 100.0 * clean], [hi, 100.0 * clean]];
                        plot.line(
                            Line::new(format!("{name} clean"), PlotPoints::from(flat))
                                .color(color)
                                .style(LineStyle::dashed_loose()),
                        );
                    }
                    plot.line(Line::new(name, PlotPoints::from(points)).color(color).width(2.0));
                }
            });
    }
}
