//! The degradation panel: the chain as a list of stages to add, remove, reorder and bypass,
//! a slider for every parameter, the seed, and what the last rendering drew and measured.

use eframe::egui::{self, RichText};

use crate::degrade::chain::MAX_EQ_HZ;
use crate::degrade::codec::{Codec, MP3_KBPS, OPUS_KBPS};
use crate::degrade::eq::{GAIN_RANGE_DB, MIN_HZ};
use crate::degrade::noise::{NoiseColor, SNR_RANGE_DB};
use crate::degrade::rir::RT60_RANGE_S;
use crate::degrade::{ChainSpec, Stage};
use crate::jobs::degrade::DegradedView;

/// The slider ranges: what the GUI lets a value be (chain files are clamped into them).
const RT60_S: std::ops::RangeInclusive<f64> = RT60_RANGE_S[0]..=RT60_RANGE_S[1];
const SNR_DB: std::ops::RangeInclusive<f64> = SNR_RANGE_DB[0]..=SNR_RANGE_DB[1];
const EQ_HZ: std::ops::RangeInclusive<f64> = MIN_HZ..=MAX_EQ_HZ;
const GAIN_DB: std::ops::RangeInclusive<f64> = GAIN_RANGE_DB[0]..=GAIN_RANGE_DB[1];

/// Which version the views show and the speakers play.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Listen {
    /// A: the clean clip.
    #[default]
    Clean,
    /// B: the degraded clip.
    Degraded,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PanelStage {
    pub stage: Stage,
    pub bypass: bool,
}

/// The panel's state; kept between sessions.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DegradePanel {
    pub enabled: bool,
    pub stages: Vec<PanelStage>,
    pub seed: u64,
    /// The Δ views map -range..+range dB onto the diverging colormap.
    pub delta_range_db: f32,
    pub listen: Listen,
}

impl Default for DegradePanel {
    fn default() -> Self {
        Self {
            enabled: false,
            stages: vec![
                PanelStage { stage: Stage::Reverb { rt60_s: 0.8, binaural: true, room_seed: 0 }, bypass: false },
                PanelStage {
                    stage: Stage::Noise { color: NoiseColor::Pink, snr_db: 20.0, noise_seed: 0 },
                    bypass: false,
                },
                PanelStage { stage: Stage::HighShelf { freq_hz: 4000.0, gain_db: -6.0 }, bypass: true },
                PanelStage { stage: Stage::Opus { kbps: 32 }, bypass: false },
            ],
            seed: 1,
            delta_range_db: 30.0,
            listen: Listen::Clean,
        }
    }
}

/// What a frame of the panel asks of the app.
#[derive(Debug, Default, PartialEq)]
pub struct PanelResponse {
    /// The chain (or whether it applies) changed: render again.
    pub changed: bool,
    pub load_chain: bool,
    pub save_chain: bool,
    /// A chain shipped inside the binary, by name (`assets/chains`).
    pub shipped_chain: Option<&'static str>,
}

/// The stages the panel can add, with a fresh stage of each kind.
fn new_stage(kind: &str) -> Stage {
    match kind {
        "reverb" => Stage::Reverb { rt60_s: 0.5, binaural: false, room_seed: 0 },
        "noise" => Stage::Noise { color: NoiseColor::White, snr_db: 20.0, noise_seed: 0 },
        "low shelf" => Stage::LowShelf { freq_hz: 200.0, gain_db: 6.0 },
        "high shelf" => Stage::HighShelf { freq_hz: 4000.0, gain_db: -6.0 },
        "band-pass" => Stage::BandPass { low_hz: 300.0, high_hz: 3400.0 },
        "mp3" => Stage::Mp3 { kbps: 32 },
        _ => Stage::Opus { kbps: 32 },
    }
}
const KINDS: [&str; 7] = ["reverb", "noise", "low shelf", "high shelf", "band-pass", "mp3", "opus"];

impl DegradePanel {
    /// The stages that apply, each room and noise seeded from the panel's seed, the stage's kind
    /// and its place among stages of that kind (so reordering keeps every room and noise).
    pub fn active_stages(&self) -> Vec<Stage> {
        let mut seen = std::collections::HashMap::<&str, u64>::new();
        self.stages
            .iter()
            .filter_map(|s| {
                let nth = seen.entry(s.stage.kind()).or_default();
                let seed =
                    xxhash_rust::xxh3::xxh3_64_with_seed(format!("{}/{nth}", s.stage.kind()).as_bytes(), self.seed);
                *nth += 1;
                if s.bypass {
                    return None;
                }
                let mut stage = s.stage.clone();
                match &mut stage {
                    Stage::Reverb { room_seed, .. } => *room_seed = seed,
                    Stage::Noise { noise_seed, .. } => *noise_seed = seed,
                    _ => {}
                }
                Some(stage)
            })
            .collect()
    }

    /// A new seed: rooms and noises are drawn again.
    pub fn draw_again(&mut self) {
        self.seed = xxhash_rust::xxh3::xxh3_64(&self.seed.to_le_bytes()) % 1_000_000;
    }

    pub fn toggle_listen(&mut self) {
        self.listen = match self.listen {
            Listen::Clean => Listen::Degraded,
            Listen::Degraded => Listen::Clean,
        };
    }

    /// Replaces the chain with `spec` drawn from the panel's seed, clamped into the sliders'
    /// ranges; returns a sentence for each value that had to be clamped.
    pub fn load(&mut self, spec: &ChainSpec) -> Result<Vec<String>, String> {
        let stages = spec.draw(self.seed).map_err(|e| e.to_string())?;
        let mut notes = Vec::new();
        self.stages = stages
            .into_iter()
            .map(|mut stage| {
                notes.extend(clamp_stage(&mut stage));
                PanelStage { stage, bypass: false }
            })
            .collect();
        Ok(notes)
    }

    /// The active chain as a chain file of fixed values.
    pub fn to_spec(&self) -> ChainSpec {
        ChainSpec {
            stage_probability: None,
            stage: self.stages.iter().filter(|s| !s.bypass).map(|s| s.stage.to_spec()).collect(),
        }
    }

    /// `latency_ms`: from the last change to its views on the GPU.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        last: Option<&DegradedView>,
        latency_ms: Option<f64>,
        rendering: bool,
    ) -> PanelResponse {
        let before = self.clone();
        let mut response = PanelResponse::default();
        ui.horizontal(|ui| {
            ui.heading("Degradation");
            if rendering {
                ui.spinner();
            }
        });
        // Loading a chain turns it on, so loading is offered while the chain is off too.
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.enabled, "apply the chain").on_hover_text("Show the degraded clip and the Δ views");
            response.load_chain = ui.button("load chain…").on_hover_text("A TOML or JSON chain file").clicked();
            ui.menu_button("shipped", |ui| {
                for (name, _) in crate::degrade::shipped::CHAINS {
                    if ui.button(*name).clicked() {
                        response.shipped_chain = Some(name);
                        ui.close();
                    }
                }
            })
            .response
            .on_hover_text("The chains of assets/chains, inside the binary");
        });
        ui.add_enabled_ui(self.enabled, |ui| {
            ui.horizontal(|ui| {
                ui.label("hear and see");
                ui.selectable_value(&mut self.listen, Listen::Clean, "A clean");
                ui.selectable_value(&mut self.listen, Listen::Degraded, "B degraded");
            })
            .response
            .on_hover_text("B flips between them, keeping the playhead");
            ui.horizontal(|ui| {
                let label = ui.label("seed");
                ui.add(egui::DragValue::new(&mut self.seed).range(0..=u32::MAX as u64)).labelled_by(label.id);
                if ui.button("draw again").on_hover_text("A new room and new noise (N)").clicked() {
                    self.draw_again();
                }
            });
            ui.add(egui::Slider::new(&mut self.delta_range_db, 6.0..=60.0).text("Δ range ± dB").step_by(1.0));
            ui.separator();
            let mut action = None;
            let count = self.stages.len();
            egui::ScrollArea::vertical().id_salt("stages").show(ui, |ui| {
                for (i, stage) in self.stages.iter_mut().enumerate() {
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.checkbox(&mut stage.bypass, "").on_hover_text("bypass");
                            let title =
                                RichText::new(format!("{}. {}", i + 1, stage.stage.kind().replace('_', " "))).strong();
                            ui.label(if stage.bypass { title.weak() } else { title });
                            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                                if ui.small_button("remove").on_hover_text("remove").clicked() {
                                    action = Some(StageAction::Remove(i));
                                }
                                if ui
                                    .add_enabled(i + 1 < count, egui::Button::new("down").small())
                                    .on_hover_text("later")
                                    .clicked()
                                {
                                    action = Some(StageAction::Down(i));
                                }
                                if ui
                                    .add_enabled(i > 0, egui::Button::new("up").small())
                                    .on_hover_text("earlier")
                                    .clicked()
                                {
                                    action = Some(StageAction::Up(i));
                                }
                            });
                        });
                        ui.add_enabled_ui(!stage.bypass, |ui| stage_ui(ui, &mut stage.stage));
                    });
                }
            });
            match action {
                Some(StageAction::Remove(i)) => {
                    self.stages.remove(i);
                }
                Some(StageAction::Up(i)) => self.stages.swap(i, i - 1),
                Some(StageAction::Down(i)) => self.stages.swap(i, i + 1),
                None => {}
            }
            ui.horizontal(|ui| {
                ui.menu_button("add stage", |ui| {
                    for kind in KINDS {
                        if ui.button(kind).clicked() {
                            self.stages.push(PanelStage { stage: new_stage(kind), bypass: false });
                            ui.close();
                        }
                    }
                });
                response.save_chain =
                    ui.button("save chain…").on_hover_text("The active stages as a TOML chain file").clicked();
            });
            if let Some(view) = last {
                ui.separator();
                report_ui(ui, view, latency_ms);
            }
        });
        // The listening side and the Δ range change only what is drawn, not what is rendered.
        response.changed = (self.enabled, &self.stages, self.seed) != (before.enabled, &before.stages, before.seed);
        response
    }
}

enum StageAction {
    Remove(usize),
    Up(usize),
    Down(usize),
}

fn stage_ui(ui: &mut egui::Ui, stage: &mut Stage) {
    let log_slider = |ui: &mut egui::Ui, v: &mut f64, text: &str| {
        ui.add(egui::Slider::new(v, EQ_HZ).logarithmic(true).text(text).suffix(" Hz").max_decimals(0))
            .on_hover_text(range_note(&EQ_HZ, "Hz"));
    };
    match stage {
        Stage::Reverb { rt60_s, binaural, .. } => {
            ui.add(egui::Slider::new(rt60_s, RT60_S).text("RT60").suffix(" s").step_by(0.01))
                .on_hover_text(range_note(&RT60_S, "s"));
            ui.checkbox(binaural, "binaural (KEMAR HRIRs)");
        }
        Stage::Noise { color, snr_db, .. } => {
            ui.horizontal(|ui| {
                ui.selectable_value(color, NoiseColor::White, "white");
                ui.selectable_value(color, NoiseColor::Pink, "pink");
                for preset in [10.0, 20.0] {
                    if ui.small_button(format!("{preset:.0} dB")).clicked() {
                        *snr_db = preset;
                    }
                }
            });
            ui.add(egui::Slider::new(snr_db, SNR_DB).text("SNR").suffix(" dB").step_by(0.5))
                .on_hover_text(range_note(&SNR_DB, "dB"));
        }
        Stage::LowShelf { freq_hz, gain_db } | Stage::HighShelf { freq_hz, gain_db } => {
            log_slider(ui, freq_hz, "corner");
            ui.add(egui::Slider::new(gain_db, GAIN_DB).text("gain").suffix(" dB").step_by(0.5))
                .on_hover_text(range_note(&GAIN_DB, "dB"));
        }
        Stage::BandPass { low_hz, high_hz } => {
            log_slider(ui, low_hz, "low edge");
            log_slider(ui, high_hz, "high edge");
            if *high_hz <= *low_hz {
                *high_hz = (*low_hz * 1.1).min(*EQ_HZ.end());
                *low_hz = low_hz.min(*high_hz / 1.1);
            }
        }
        Stage::Mp3 { kbps } => {
            let mut i = MP3_KBPS.iter().position(|k| k == kbps).unwrap_or(3);
            ui.add(
                egui::Slider::new(&mut i, 0..=MP3_KBPS.len() - 1)
                    .text("bit rate")
                    .custom_formatter(|v, _| format!("{} kbit/s", MP3_KBPS[v as usize])),
            );
            *kbps = MP3_KBPS[i];
        }
        Stage::Opus { kbps } => {
            ui.add(
                egui::Slider::new(kbps, OPUS_KBPS[0]..=OPUS_KBPS[1])
                    .logarithmic(true)
                    .text("bit rate")
                    .suffix(" kbit/s"),
            );
        }
    }
}

/// What a slider accepts: a typed value outside is clamped to the nearest end.
fn range_note(range: &std::ops::RangeInclusive<f64>, unit: &str) -> String {
    format!("{} to {} {unit}; a value typed outside is clamped to the nearest end", range.start(), range.end())
}

/// Clamps a drawn stage into the sliders' ranges; says what moved.
fn clamp_stage(stage: &mut Stage) -> Vec<String> {
    let mut notes = Vec::new();
    let mut clamp = |name: &str, v: &mut f64, range: std::ops::RangeInclusive<f64>| {
        let c = v.clamp(*range.start(), *range.end());
        if c != *v {
            notes.push(format!("{name} {v} clamped to {c}"));
            *v = c;
        }
    };
    match stage {
        Stage::Reverb { rt60_s, .. } => clamp("RT60", rt60_s, RT60_S),
        Stage::Noise { snr_db, .. } => clamp("SNR", snr_db, SNR_DB),
        Stage::LowShelf { freq_hz, gain_db } | Stage::HighShelf { freq_hz, gain_db } => {
            clamp("corner", freq_hz, EQ_HZ);
            clamp("gain", gain_db, GAIN_DB);
        }
        Stage::BandPass { low_hz, high_hz } => {
            clamp("low edge", low_hz, EQ_HZ);
            clamp("high edge", high_hz, EQ_HZ);
        }
        Stage::Mp3 { kbps } => *kbps = Codec::Mp3.nearest_kbps(f64::from(*kbps)),
        Stage::Opus { kbps } => *kbps = Codec::Opus.nearest_kbps(f64::from(*kbps)),
    }
    notes
}

fn report_ui(ui: &mut egui::Ui, view: &DegradedView, latency_ms: Option<f64>) {
    ui.label(RichText::new("last rendering").strong());
    ui.label(format!("chain {:.1} ms, with views and Δ {:.1} ms", view.chain_ms, view.total_ms));
    if let Some(ms) = latency_ms {
        ui.label(format!("change to views ready: {ms:.1} ms"));
    }
    for applied in &view.applied {
        let mut line = applied.stage.kind().replace('_', " ");
        if let Some(rt60) = applied.measured.get("rt60_s").and_then(|v| v.as_f64()) {
            line += &format!(": measured T30 {rt60:.3} s");
        }
        if let Some(kbps) = applied.measured.get("actual_kbps").and_then(|v| v.as_f64()) {
            line += &format!(": {kbps:.1} kbit/s actual");
        }
        ui.label(RichText::new(line).small());
    }
}
