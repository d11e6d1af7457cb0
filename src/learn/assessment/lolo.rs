//! Leave-one-library-out evaluation ("Minus-1-DB", Livshin & Rodet, ISMIR 2003): a model trained
//! on every library but one, tested on the one left out, for each library in turn. Testing on
//! the libraries a model learnt from measures how well it knows their recordings; only a library
//! it never heard measures the instruments.
//!
//! The folds' evaluation reports (`eval --split test_bank`) are gathered into one report: the
//! per-instrument recall of each held-out library, each fold's overall and class-balanced
//! accuracy, and every note with its prediction, for the workbench's heatmap.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::learn::assessment::eval::EvalReport;
use crate::learn::error::LearnError;
use crate::learn::scoring::confusion::ConfusedNote;

/// Each fold's report is this file in the fold's folder.
pub const FOLD_REPORT: &str = "test_bank.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoloFold {
    /// The library left out of training and tested.
    pub held_out: String,
    /// The data set the fold's notes are in (their audio).
    pub dataset: String,
    pub notes: usize,
    pub accuracy: f64,
    /// The mean of the recalls of the instruments the library has.
    pub balanced_accuracy: f64,
    /// Per instrument, in the report's order; None where the library has no such notes.
    pub recall: Vec<Option<f64>>,
    pub confused: Vec<ConfusedNote>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoloReport {
    pub instruments: Vec<String>,
    pub folds: Vec<LoloFold>,
}

impl LoloReport {
    /// Gathers `DIR/<fold>/test_bank.json` for every fold folder, in name order.
    pub fn gather(dir: &Path) -> Result<Self, LearnError> {
        let read_dir = std::fs::read_dir(dir).map_err(|source| LearnError::Read { path: dir.to_owned(), source })?;
        let mut folders: Vec<PathBuf> =
            read_dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join(FOLD_REPORT).is_file()).collect();
        folders.sort();
        let mut reports = Vec::new();
        for folder in folders {
            let path = folder.join(FOLD_REPORT);
            let text =
                std::fs::read_to_string(&path).map_err(|source| LearnError::Read { path: path.clone(), source })?;
            let report: EvalReport = serde_json::from_str(&text)
                .map_err(|e| LearnError::Dataset { path: path.clone(), problem: format!("not an eval report: {e}") })?;
            reports.push((folder.file_name().unwrap_or_default().to_string_lossy().into_owned(), report));
        }
        Self::from_reports(reports).map_err(|problem| LearnError::Dataset { path: dir.to_owned(), problem })
    }

    /// One fold per (held-out library, its report on that library's notes).
    pub fn from_reports(reports: Vec<(String, EvalReport)>) -> Result<Self, String> {
        let Some((_, first)) = reports.first() else { return Err("no fold reports".into()) };
        let instruments = first.confusion.labels.clone();
        let mut folds = Vec::new();
        for (held_out, report) in reports {
            if report.confusion.labels != instruments {
                return Err(format!("fold {held_out}'s instruments differ from the first fold's"));
            }
            let recall = report.confusion.recall();
            let present: Vec<f64> = recall.iter().flatten().copied().collect();
            folds.push(LoloFold {
                held_out,
                dataset: report.dataset.clone(),
                notes: report.notes,
                accuracy: report.metrics.get("acc_instrument").copied().unwrap_or(0.0),
                balanced_accuracy: present.iter().sum::<f64>() / present.len().max(1) as f64,
                recall,
                confused: report.confusion.notes,
            });
        }
        Ok(Self { instruments, folds })
    }

    /// The notes of one instrument in one fold, with what they were heard as.
    pub fn cell_notes(&self, fold: usize, instrument: usize) -> impl Iterator<Item = &ConfusedNote> {
        self.folds.get(fold).into_iter().flat_map(move |f| f.confused.iter().filter(move |n| n.truth == instrument))
    }

    /// The matrix as a Markdown table: a row per instrument, a column per held-out library,
    /// then each fold's overall and class-balanced accuracy.
    pub fn markdown(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.0}", 100.0 * v));
        let mut out = String::from("| instrument |");
        for f in &self.folds {
            out += &format!(" {} |", f.held_out);
        }
        out += "\n|---|";
        out += &"---|".repeat(self.folds.len());
        out += "\n";
        for (i, name) in self.instruments.iter().enumerate() {
            out += &format!("| {name} |");
            for f in &self.folds {
                out += &format!(" {} |", pct(f.recall.get(i).copied().flatten()));
            }
            out += "\n";
        }
        for (label, get) in [
            ("**accuracy**", (|f: &LoloFold| f.accuracy) as fn(&LoloFold) -> f64),
            ("**class-balanced**", |f: &LoloFold| f.balanced_accuracy),
        ] {
            out += &format!("| {label} |");
            for f in &self.folds {
                out += &format!(" **{:.1}** |", 100.0 * get(f));
            }
            out += "\n";
        }
        out += "| notes |";
        for f in &self.folds {
            out += &format!(" {} |", f.notes);
        }
        out + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::scoring::confusion::Confusion;

    /// A fold's report: `(truth, predicted)` per note over three instruments.
    fn report(dataset: &str, notes: &[(usize, usize)]) -> EvalReport {
        let labels: Vec<String> = ["flute", "oboe", "horn"].map(String::from).to_vec();
        let confused: Vec<ConfusedNote> = notes
            .iter()
            .enumerate()
            .map(|(k, &(truth, predicted))| ConfusedNote { note: format!("n{k}"), truth, predicted })
            .collect();
        let right = notes.iter().filter(|(t, p)| t == p).count();
        let confusion = Confusion::new(0, labels.clone(), confused);
        EvalReport {
            model: "m".into(),
            dataset: dataset.into(),
            split: "test_bank".into(),
            chain: None,
            chain_seed: None,
            shift_votes: 0,
            from: Default::default(),
            from_audio: false,
            notes: notes.len(),
            metrics: [("acc_instrument".to_string(), right as f64 / notes.len() as f64)].into(),
            per_class_recall: labels.iter().cloned().zip(confusion.recall()).collect(),
            confusion,
            library_probe: None,
        }
    }

    #[test]
    fn folds_keep_recall_by_library_and_balanced_accuracy_over_the_instruments_present() {
        // Library a: flute 2/2, oboe 1/2, no horn. Library b: flute 0/1, oboe 1/1, horn 1/2.
        let a = report("data/lolo/a", &[(0, 0), (0, 0), (1, 1), (1, 2)]);
        let b = report("data/lolo/b", &[(0, 1), (1, 1), (2, 2), (2, 0)]);
        let lolo = LoloReport::from_reports(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(lolo.instruments, ["flute", "oboe", "horn"]);
        assert_eq!(lolo.folds[0].recall, vec![Some(1.0), Some(0.5), None]);
        assert_eq!(lolo.folds[1].recall, vec![Some(0.0), Some(1.0), Some(0.5)]);
        assert!((lolo.folds[0].balanced_accuracy - 0.75).abs() < 1e-12, "the absent horn does not count");
        assert!((lolo.folds[1].balanced_accuracy - 0.5).abs() < 1e-12);
        assert_eq!((lolo.folds[0].accuracy, lolo.folds[1].accuracy), (0.75, 0.5));
        let cell: Vec<&str> = lolo.cell_notes(1, 2).map(|n| n.note.as_str()).collect();
        assert_eq!(cell, ["n2", "n3"]);
        let md = lolo.markdown();
        assert!(md.starts_with("| instrument | a | b |"), "{md}");
        assert!(md.contains("| oboe | 50 | 100 |") && md.contains("| horn | - | 50 |"), "{md}");
        assert!(md.contains("| **class-balanced** | **75.0** | **50.0** |"), "{md}");
    }

    #[test]
    fn gathering_reads_each_folds_folder_and_names_a_bad_report() {
        let dir = tempfile::tempdir().unwrap();
        for (name, notes) in [("b", vec![(0, 0)]), ("a", vec![(1, 0)])] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            let text = serde_json::to_string(&report(name, &notes)).unwrap();
            std::fs::write(dir.path().join(name).join(FOLD_REPORT), text).unwrap();
        }
        // A folder without a report is not a fold.
        std::fs::create_dir_all(dir.path().join("c")).unwrap();
        let lolo = LoloReport::gather(dir.path()).unwrap();
        let held: Vec<&str> = lolo.folds.iter().map(|f| f.held_out.as_str()).collect();
        assert_eq!(held, ["a", "b"]);
        let json = serde_json::to_string(&lolo).unwrap();
        assert_eq!(serde_json::from_str::<LoloReport>(&json).unwrap(), lolo);

        std::fs::write(dir.path().join("b").join(FOLD_REPORT), "{}").unwrap();
        let err = LoloReport::gather(dir.path()).unwrap_err().to_string();
        assert!(err.contains("test_bank.json") && err.contains("not an eval report"), "{err}");
    }
}
