//! The validation confusion matrix of an epoch (or of an evaluation), with the notes behind every
//! cell: training writes one per epoch into its run folder, evaluation into its report.

use serde::{Deserialize, Serialize};

/// The validation confusion matrix of one epoch, with the notes behind every cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub epoch: usize,
    pub labels: Vec<String>,
    /// `counts[truth][predicted]`.
    pub counts: Vec<Vec<u32>>,
    pub notes: Vec<ConfusedNote>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfusedNote {
    pub note: String,
    pub truth: usize,
    pub predicted: usize,
}

impl Confusion {
    pub fn new(epoch: usize, labels: Vec<String>, notes: Vec<ConfusedNote>) -> Self {
        let n = labels.len();
        let mut counts = vec![vec![0u32; n]; n];
        for note in &notes {
            counts[note.truth][note.predicted] += 1;
        }
        Self { epoch, labels, counts, notes }
    }

    /// Recall of each class (the diagonal over the row sum); `None` for a class with no notes.
    pub fn recall(&self) -> Vec<Option<f64>> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let total: u32 = row.iter().sum();
                (total > 0).then(|| f64::from(row[i]) / f64::from(total))
            })
            .collect()
    }

    /// Notes of each class.
    pub fn support(&self) -> Vec<usize> {
        self.counts.iter().map(|row| row.iter().map(|&c| c as usize).sum()).collect()
    }

    pub fn accuracy(&self) -> f64 {
        let total: u32 = self.counts.iter().flatten().sum();
        let right: u32 = (0..self.counts.len()).map(|i| self.counts[i][i]).sum();
        f64::from(right) / f64::from(total.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_recall_and_accuracy() {
        let notes = [(0, 0), (0, 1), (1, 1), (1, 1), (2, 0)]
            .iter()
            .enumerate()
            .map(|(i, &(truth, predicted))| ConfusedNote { note: format!("n{i}"), truth, predicted })
            .collect();
        let c = Confusion::new(3, vec!["a".into(), "b".into(), "c".into()], notes);
        assert_eq!(c.counts, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 0]]);
        assert_eq!(c.recall(), vec![Some(0.5), Some(1.0), Some(0.0)]);
        assert!((c.accuracy() - 0.6).abs() < 1e-12);
    }
}
