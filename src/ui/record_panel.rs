//! Recording: pick an input device, watch the level, record and stop; the take becomes a clip.

use eframe::egui;

use crate::audio::Clip;
use crate::audio::capture::Capture;
use crate::audio::devices::input_devices;

#[derive(Default)]
pub struct RecordPanel {
    devices: Option<Result<Vec<String>, String>>,
    /// None: the system default.
    selected: Option<String>,
    capture: Option<Capture>,
    level_dbfs: f32,
    pub error: Option<String>,
    takes: usize,
}

impl RecordPanel {
    pub fn is_recording(&self) -> bool {
        self.capture.is_some()
    }

    /// Moves captured audio out of the ring buffer and updates the meter; call every frame.
    pub fn logic(&mut self, ctx: &egui::Context) {
        if let Some(capture) = &mut self.capture {
            if let Err(e) = capture.drain() {
                self.error = Some(e.to_string());
                self.capture = None;
                return;
            }
            // Meter ballistics: instant attack, ~20 dB/s release at 60 fps.
            self.level_dbfs = capture.level_dbfs().max(self.level_dbfs - 0.35);
            ctx.request_repaint();
        }
    }

    /// Starts or stops; a stopped take is returned.
    pub fn toggle(&mut self) -> Option<Clip> {
        match self.capture.take() {
            Some(capture) => match capture.stop() {
                Ok(mut clip) => {
                    self.takes += 1;
                    clip.name = format!("take {}", self.takes);
                    Some(clip)
                }
                Err(e) => {
                    self.error = Some(e.to_string());
                    None
                }
            },
            None => {
                match Capture::start(self.selected.as_deref()) {
                    Ok(capture) => {
                        self.capture = Some(capture);
                        self.error = None;
                        self.level_dbfs = -120.0;
                    }
                    Err(e) => self.error = Some(e.to_string()),
                }
                None
            }
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<Clip> {
        ui.heading("Record");
        if self.devices.is_none() {
            self.devices = Some(input_devices().map_err(|e| e.to_string()));
        }
        let mut take = None;
        match self.devices.as_ref() {
            Some(Ok(devices)) if !devices.is_empty() => {
                let current = self.selected.clone().unwrap_or_else(|| "default input".into());
                ui.add_enabled_ui(!self.is_recording(), |ui| {
                    egui::ComboBox::from_label("input").selected_text(current).width(130.0).show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.selected, None, "default input");
                        for d in devices {
                            ui.selectable_value(&mut self.selected, Some(d.clone()), d);
                        }
                    });
                });
            }
            Some(Ok(_)) => {
                ui.label("No audio input device found.");
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
        ui.horizontal(|ui| {
            let label = if self.is_recording() { "Stop (R)" } else { "Record (R)" };
            if ui.button(label).clicked() {
                take = self.toggle();
            }
            if ui.small_button("Rescan").on_hover_text("Look for input devices again").clicked() {
                self.devices = None;
            }
        });
        if let Some(capture) = &self.capture {
            let fraction = ((self.level_dbfs + 60.0) / 60.0).clamp(0.0, 1.0);
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(180.0)
                    .text(format!("{:.0} dBFS", self.level_dbfs.max(-99.0))),
            );
            ui.label(format!("{:.1} s from {}", capture.captured_secs(), capture.device_name()));
        }
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        take
    }
}
