//! No verb: open the workbench window.

use std::path::PathBuf;

use timbrescope::ui::{Mode, Workbench};

/// What the window opens with besides the demo clips.
pub struct Start {
    pub clip: Option<PathBuf>,
    pub dataset: Option<PathBuf>,
    pub mixture: Option<PathBuf>,
    /// Show the instrument grid at this MIDI pitch once the data set is open.
    pub grid_pitch: Option<u8>,
    /// A degradation chain to load into the panel and apply.
    pub chain: Option<PathBuf>,
    /// Run folders to watch in the training tab (opened on it).
    pub runs: Vec<PathBuf>,
    /// A model file for the prediction panel.
    pub model: Option<PathBuf>,
    /// A leave-one-library-out report for the training tab (opened on it).
    pub lolo: Option<PathBuf>,
    /// Embeddings for the map (opened on it), and optionally the same notes degraded.
    pub embeddings: Vec<PathBuf>,
    /// Sweep reports to plot in the training tab (opened on it).
    pub sweeps: Vec<PathBuf>,
    /// Show the saliency over the views from the start.
    pub saliency: bool,
    /// A note of the data set to open beside its nearest training note.
    pub nearest: Option<String>,
    /// A note of the data set to open as the browser does.
    pub note: Option<String>,
}

fn options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("timbrescope")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        ..Default::default()
    }
}

/// `timbrescope live` with a window: Live mode from the start.
pub fn run_live(args: super::live::LiveArgs) -> anyhow::Result<()> {
    if let Some(secs) = args.quit_after
        && !(secs.is_finite() && secs > 0.0)
    {
        anyhow::bail!("--quit-after must be a positive number of seconds, got {secs}");
    }
    let model = (!args.no_model).then(|| args.model.clone());
    let input = args.input();
    let config = args.config();
    eframe::run_native(
        "timbrescope",
        options(),
        Box::new(move |cc| {
            let mut app = Workbench::new(cc, None);
            app.start_live(input, model, config);
            if let Some(secs) = args.quit_after {
                app.close_live_after(secs, args.stats.clone());
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the workbench window could not start: {e}"))
}

pub fn run(start: Start) -> anyhow::Result<()> {
    eframe::run_native(
        "timbrescope",
        options(),
        Box::new(move |cc| {
            let mut app = Workbench::new(cc, start.clip);
            if let Some(dir) = start.dataset.clone() {
                app.open_dataset(dir);
            }
            if let Some(pitch) = start.grid_pitch {
                app.show_grid_when_open(pitch);
            }
            if let Some(note) = start.note {
                app.open_note_when_open(note);
            }
            if let Some(path) = start.chain {
                app.load_chain(path);
            }
            if let Some(note) = start.nearest
                && let Some(dataset) = start.dataset.clone()
            {
                let model = start
                    .model
                    .clone()
                    .unwrap_or_else(|| timbrescope::learn::assessment::eval::shipped_model_path().into());
                app.open_with_nearest(model, dataset, note);
            }
            if let Some(path) = start.model {
                app.use_model(path);
            }
            if !start.runs.is_empty() {
                for run in start.runs {
                    app.train_panel_mut().watch(run);
                }
                app.set_mode(Mode::Training);
            }
            if let Some(path) = start.lolo {
                app.train_panel_mut().open_lolo(path);
                app.set_mode(Mode::Training);
            }
            if let Some(path) = start.mixture {
                app.open_mixture(path);
                app.set_mode(Mode::Mixture);
            }
            if start.saliency {
                app.show_saliency(true);
            }
            for path in start.sweeps {
                app.train_panel_mut().open_sweep(path);
                app.set_mode(Mode::Training);
            }
            for (i, path) in start.embeddings.into_iter().enumerate() {
                app.open_embeddings(path, i == 1);
                app.set_mode(Mode::Embedding);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the workbench window could not start: {e}"))
}
