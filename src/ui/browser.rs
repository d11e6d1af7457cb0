//! The data set browser: filter the notes of a data set folder and pick one for the views.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use crate::data::dataset::{Dataset, Split};
use crate::data::schema::{LabelSchema, MAX_HEADS, PitchLabels};

/// The filters; `None` means any. The label filters follow the data set's schema: its
/// instruments and families, or NSynth's families, sources and qualities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub bank: Option<String>,
    /// A class of each of the schema's heads but the pitch and the velocity, which have their own.
    pub classes: [Option<u16>; MAX_HEADS],
    pub quality: Option<usize>,
    pub split: Option<Split>,
    pub pitch: Option<u8>,
    pub velocity: Option<u8>,
}

impl Filter {
    fn matches(&self, dataset: &Dataset, schema: &LabelSchema, index: usize) -> bool {
        let note = &dataset.notes[index];
        let labels_match = || {
            let wanted = self.classes.iter().any(Option::is_some) || self.quality.is_some();
            if !wanted {
                return true;
            }
            dataset.classes(index, schema).is_some_and(|c| {
                self.classes.iter().zip(c.classes).all(|(want, got)| want.is_none_or(|w| w == got))
                    && self.quality.is_none_or(|q| c.qualities >> q & 1 == 1)
            })
        };
        self.bank.as_ref().is_none_or(|b| note.record.bank.as_ref() == Some(b))
            && self.split.is_none_or(|s| note.split == Some(s))
            && self.pitch.is_none_or(|p| note.record.pitch == p)
            && self.velocity.is_none_or(|v| note.record.velocity == v)
            && labels_match()
    }
}

/// What the user asked the browser for.
pub enum BrowserAction {
    PickFolder,
    /// Load this note into the views.
    Load {
        path: PathBuf,
        name: String,
    },
    /// Show every instrument at this pitch side by side.
    Grid {
        pitch: u8,
        velocity: u8,
        bank: Option<String>,
    },
}

#[derive(Default)]
pub struct Browser {
    dataset: Option<Arc<Dataset>>,
    pub filter: Filter,
    /// Indices of the notes that pass the filter, refreshed when it changes.
    matches: Vec<usize>,
    selected: Option<usize>,
    banks: Vec<String>,
    velocities: Vec<u8>,
    schema: Option<LabelSchema>,
}

impl Browser {
    pub fn set_dataset(&mut self, dataset: Arc<Dataset>) {
        self.banks = dataset.banks();
        let mut velocities: Vec<u8> = dataset.notes.iter().map(|n| n.record.velocity).collect();
        velocities.sort_unstable();
        velocities.dedup();
        self.velocities = velocities;
        self.filter = Filter::default();
        self.selected = None;
        self.schema = Some(dataset.schema(PitchLabels::Class));
        self.dataset = Some(dataset);
        self.refresh();
    }

    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.dataset.as_ref()
    }

    /// Indices of the notes shown, in data set order.
    pub fn matches(&self) -> &[usize] {
        &self.matches
    }

    fn refresh(&mut self) {
        self.matches = match &self.dataset {
            Some(d) => {
                let schema = self.schema.clone().unwrap_or_else(|| d.schema(PitchLabels::Class));
                (0..d.notes.len()).filter(|&i| self.filter.matches(d, &schema, i)).collect()
            }
            None => Vec::new(),
        };
    }

    /// The action for note `index` of the data set (also used by tests and the confusion view).
    pub fn load_action(&mut self, index: usize) -> Option<BrowserAction> {
        let dataset = self.dataset.as_ref()?;
        let note = dataset.notes.get(index)?;
        self.selected = Some(index);
        Some(BrowserAction::Load { path: dataset.audio_path(note), name: note.record.note_str.clone() })
    }

    /// The grid the "Instrument grid" button would ask for; None without a data set.
    pub fn grid_request(&self) -> Option<BrowserAction> {
        self.dataset.as_ref().map(|_| self.grid_action())
    }

    /// A grid at the selected note's pitch (or the pitch filter, or middle C).
    fn grid_action(&self) -> BrowserAction {
        let dataset = self.dataset.as_ref();
        let selected = self.selected.and_then(|i| dataset.map(|d| &d.notes[i].record));
        let pitch = selected.map(|r| r.pitch).or(self.filter.pitch).unwrap_or(60);
        let velocity = selected.map(|r| r.velocity).or(self.filter.velocity).or(self.velocities.last().copied());
        let bank = selected.and_then(|r| r.bank.clone()).or(self.filter.bank.clone()).or(self.banks.first().cloned());
        BrowserAction::Grid { pitch, velocity: velocity.unwrap_or(100), bank }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<BrowserAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.heading("Data set");
            if ui.button("Open folder…").on_hover_text("A folder with examples.json and audio/ (Ctrl+D)").clicked() {
                action = Some(BrowserAction::PickFolder);
            }
        });
        let Some(dataset) = self.dataset.clone() else {
            ui.weak("No data set open. Build one with `timbrescope dataset synth`, or open an NSynth split.");
            return action;
        };
        ui.weak(format!("{}: {} notes", dataset.root().display(), dataset.notes.len()));
        let before = self.filter.clone();
        self.filters_ui(ui, &dataset);
        if self.filter != before {
            self.refresh();
        }
        ui.horizontal(|ui| {
            ui.label(format!("{} shown", self.matches.len()));
            if ui.button("Instrument grid").on_hover_text("Every instrument at this pitch, side by side (G)").clicked()
            {
                action = Some(self.grid_action());
            }
        });
        let row_height = ui.text_style_height(&egui::TextStyle::Body) + 2.0;
        let mut clicked = None;
        egui::ScrollArea::vertical().id_salt("notes").max_height(ui.available_height() * 0.6).show_rows(
            ui,
            row_height,
            self.matches.len(),
            |ui, rows| {
                for &index in &self.matches[rows] {
                    let note = &dataset.notes[index];
                    let split = note.split.map_or("", Split::as_str);
                    let response = ui.selectable_label(self.selected == Some(index), &note.record.note_str);
                    if response.on_hover_text(format!("split: {split}")).clicked() {
                        clicked = Some(index);
                    }
                }
            },
        );
        if let Some(index) = clicked {
            action = self.load_action(index);
        }
        if ui.input(|i| i.key_pressed(egui::Key::G)) && !ui.ctx().egui_wants_keyboard_input() {
            action = Some(self.grid_action());
        }
        action
    }

    fn filters_ui(&mut self, ui: &mut egui::Ui, dataset: &Dataset) {
        let taxonomy = &dataset.taxonomy;
        let schema = self.schema.clone().unwrap_or_else(|| dataset.schema(PitchLabels::Class));
        let filter = &mut self.filter;
        combo(ui, "bank", &mut filter.bank, self.banks.iter().map(|b| (b.clone(), b.clone())));
        let family = schema.head("family");
        // The family first: it narrows the instruments offered.
        let mut order: Vec<usize> = (0..schema.heads.len()).collect();
        order.sort_by_key(|&h| schema.heads[h].name != "family");
        for h in order {
            let head = &schema.heads[h];
            if matches!(head.name.as_str(), "pitch_class" | "pitch" | "velocity") {
                continue;
            }
            let chosen_family = family.and_then(|f| filter.classes[f]);
            let options = head.classes.iter().enumerate().filter(|(_, name)| {
                // Our instruments narrowed to the family chosen.
                head.name != "instrument"
                    || chosen_family.is_none_or(|f| {
                        taxonomy
                            .instrument_index(name)
                            .and_then(|k| taxonomy.family_index(&taxonomy.instruments[k].family))
                            == Some(usize::from(f))
                    })
            });
            combo(ui, &head.name, &mut filter.classes[h], options.map(|(i, name)| (i as u16, name.clone())));
        }
        if !schema.qualities.is_empty() {
            combo(ui, "quality", &mut filter.quality, schema.qualities.iter().cloned().enumerate());
        }
        combo(ui, "split", &mut filter.split, Split::ALL.into_iter().map(|s| (s, s.as_str().to_owned())));
        combo(ui, "velocity", &mut filter.velocity, self.velocities.iter().map(|&v| (v, v.to_string())));
        ui.horizontal(|ui| {
            let mut any_pitch = filter.pitch.is_none();
            ui.checkbox(&mut any_pitch, "any");
            let mut pitch = filter.pitch.unwrap_or(60);
            let slider = egui::Slider::new(&mut pitch, 0..=127)
                .custom_formatter(|p, _| crate::dsp::notes::midi_name(p as i32))
                .text("pitch");
            let changed = ui.add_enabled(!any_pitch, slider).changed();
            filter.pitch = if any_pitch && !changed { None } else { Some(pitch) };
        });
    }
}

/// A labelled combo box over `options` (value, text) with an "any" entry.
fn combo<T: Clone + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut Option<T>,
    options: impl Iterator<Item = (T, String)>,
) {
    let options: Vec<(T, String)> = options.collect();
    let selected = value.as_ref().and_then(|v| options.iter().find(|(o, _)| o == v)).map_or("any", |(_, t)| t);
    egui::ComboBox::from_label(label).width(170.0).selected_text(selected.to_owned()).show_ui(ui, |ui| {
        ui.selectable_value(value, None, "any");
        for (option, text) in options {
            ui.selectable_value(value, Some(option), text);
        }
    });
}
