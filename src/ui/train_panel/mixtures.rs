//! The training form's mixtures row: the config's `[polyphony]` as it is, none, or a share of
//! each batch and a mask-loss weight chosen here.

use eframe::egui;

use crate::learn::TrainConfig;
use crate::learn::notes::polyphony::PolyphonyConfig;

/// The form's say over the config's `[polyphony]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum MixtureChoice {
    FromConfig,
    Off,
    /// This share of each multi-task batch is mixtures; a mask head when `mask_weight` > 0.
    Share {
        share: f64,
        mask_weight: f64,
    },
}

impl MixtureChoice {
    pub const SHARE: MixtureChoice = MixtureChoice::Share { share: 0.25, mask_weight: 1.0 };

    pub fn name(self) -> &'static str {
        match self {
            MixtureChoice::FromConfig => "as the config says",
            MixtureChoice::Off => "none",
            MixtureChoice::Share { .. } => "a share of each batch",
        }
    }

    /// `config` with this choice applied; a share or weight out of range is refused by name.
    pub fn apply(self, mut config: TrainConfig) -> Result<TrainConfig, String> {
        match self {
            MixtureChoice::FromConfig => {}
            MixtureChoice::Off => config.polyphony = None,
            MixtureChoice::Share { share, mask_weight } => {
                // The config's sources and label weight stay when it has a [polyphony] of its own.
                let base = config.polyphony.take().unwrap_or(PolyphonyConfig {
                    share,
                    sources: [2, 3],
                    label_weight: 1.0,
                    mask_weight,
                });
                let p = PolyphonyConfig { share, mask_weight, ..base };
                p.check()?;
                config.polyphony = Some(p);
            }
        }
        Ok(config)
    }
}

impl super::TrainPanel {
    /// The mixtures row of the form: the config's `[polyphony]`, none, or a share and mask weight.
    pub(super) fn mixtures_ui(&mut self, ui: &mut egui::Ui, running: bool) {
        ui.label("mixtures");
        let choice = &mut self.settings.mixtures;
        ui.add_enabled_ui(!running, |ui| {
            ui.horizontal(|ui| {
                egui::ComboBox::from_id_salt("mixtures").selected_text(choice.name()).show_ui(ui, |ui| {
                    for option in [MixtureChoice::FromConfig, MixtureChoice::Off, MixtureChoice::SHARE] {
                        let selected = std::mem::discriminant(choice) == std::mem::discriminant(&option);
                        if ui.selectable_label(selected, option.name()).clicked() && !selected {
                            *choice = option;
                        }
                    }
                });
                if let MixtureChoice::Share { share, mask_weight } = choice {
                    ui.add(egui::DragValue::new(share).range(0.0..=0.9).speed(0.01).prefix("share ")).on_hover_text(
                        "Of each multi-task batch: mixtures of 2-3 train notes of different instruments",
                    );
                    ui.add(egui::DragValue::new(mask_weight).range(0.0..=10.0).speed(0.05).prefix("masks "))
                        .on_hover_text("Weight of the mask head's loss (0: no mask head)");
                }
            });
        });
        ui.end_row();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_polyphony(share: f64) -> TrainConfig {
        let mut config = TrainConfig::shipped_default();
        config.polyphony = Some(PolyphonyConfig { share, sources: [2, 2], label_weight: 2.0, mask_weight: 0.0 });
        config
    }

    #[test]
    fn the_choice_keeps_drops_or_sets_the_configs_mixtures() {
        let config = with_polyphony(0.1);
        assert_eq!(MixtureChoice::FromConfig.apply(config.clone()).unwrap().polyphony, config.polyphony);
        assert_eq!(MixtureChoice::Off.apply(config.clone()).unwrap().polyphony, None);
        // A share chosen here over the config's own: its sources and label weight stay.
        let p = MixtureChoice::Share { share: 0.4, mask_weight: 0.5 }.apply(config).unwrap().polyphony.unwrap();
        assert_eq!(p, PolyphonyConfig { share: 0.4, sources: [2, 2], label_weight: 2.0, mask_weight: 0.5 });
        // Over a config without mixtures: mixtures of 2-3 notes, labels at weight 1.
        let mut plain = TrainConfig::shipped_default();
        plain.polyphony = None;
        let p = MixtureChoice::SHARE.apply(plain).unwrap().polyphony.unwrap();
        assert_eq!(p, PolyphonyConfig { share: 0.25, sources: [2, 3], label_weight: 1.0, mask_weight: 1.0 });
    }

    #[test]
    fn a_share_out_of_range_is_refused_by_name() {
        let err = MixtureChoice::Share { share: 1.5, mask_weight: 1.0 }.apply(with_polyphony(0.1)).unwrap_err();
        assert!(err.contains("polyphony.share"), "{err}");
    }
}
