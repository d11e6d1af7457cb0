//! No verb: open the workbench window.

use std::path::PathBuf;

use timbrescope::ui::Workbench;

pub fn run(clip: Option<PathBuf>) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("timbrescope")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native("timbrescope", options, Box::new(move |cc| Ok(Box::new(Workbench::new(cc, clip)))))
        .map_err(|e| anyhow::anyhow!("the workbench window could not start: {e}"))
}
