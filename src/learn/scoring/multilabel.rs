//! Scores of a multi-label prediction: average precision per class and its mean, F1 and the
//! exact set at a threshold, as for a mixture whose every instrument should be named.

/// Average precision of one class: the mean, over its positive examples, of the precision
/// among all examples scored at least as high. Examples with equal scores are ranked together
/// (as scikit-learn's `average_precision_score` does), so ties cannot flatter a model. None
/// when the class has no positive example: its AP is undefined, not zero.
pub fn average_precision(scores: &[f32], truth: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), truth.len(), "one truth per score");
    let positives = truth.iter().filter(|&&t| t).count();
    if positives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut seen, mut hits, mut ap) = (0usize, 0usize, 0.0f64);
    let mut i = 0;
    while i < order.len() {
        // One threshold per distinct score: the whole tie group enters at once.
        let mut j = i;
        let mut group_hits = 0;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            group_hits += truth[order[j]] as usize;
            j += 1;
        }
        seen += j - i;
        hits += group_hits;
        // Recall rises by group_hits/positives at this threshold, at precision hits/seen.
        ap += group_hits as f64 / positives as f64 * (hits as f64 / seen as f64);
        i = j;
    }
    Some(ap)
}

/// Multi-label scores over a set of examples: `probs[e][c]` the probability that class `c` is
/// present in example `e`, `truth[e][c]` whether it is.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MultiLabelScores {
    pub examples: usize,
    pub threshold: f32,
    /// The mean of the per-class APs over the classes present in some example.
    pub map: f64,
    /// Per class, in class order; None for a class never present.
    pub per_class_ap: Vec<Option<f64>>,
    /// F1 over every (example, class) decision at the threshold.
    pub micro_f1: f64,
    /// The mean of the per-class F1s over the classes present in some example.
    pub macro_f1: f64,
    /// The share of examples whose set of classes above the threshold is exactly the true set.
    pub exact_set: f64,
}

impl MultiLabelScores {
    /// Scores `probs` against `truth` (equal shapes, every row one entry per class).
    pub fn new(probs: &[Vec<f32>], truth: &[Vec<bool>], threshold: f32) -> Self {
        assert_eq!(probs.len(), truth.len(), "one truth row per example");
        let classes = probs.first().map_or(0, Vec::len);
        let mut per_class_ap = Vec::with_capacity(classes);
        let mut f1s = Vec::new();
        let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
        for c in 0..classes {
            let scores: Vec<f32> = probs.iter().map(|p| p[c]).collect();
            let t: Vec<bool> = truth.iter().map(|t| t[c]).collect();
            per_class_ap.push(average_precision(&scores, &t));
            let (mut ctp, mut cfp, mut cfn) = (0usize, 0usize, 0usize);
            for (s, &present) in scores.iter().zip(&t) {
                match (*s >= threshold, present) {
                    (true, true) => ctp += 1,
                    (true, false) => cfp += 1,
                    (false, true) => cfn += 1,
                    (false, false) => {}
                }
            }
            if ctp + cfn > 0 {
                f1s.push(f1(ctp, cfp, cfn));
            }
            tp += ctp;
            fp += cfp;
            fneg += cfn;
        }
        let aps: Vec<f64> = per_class_ap.iter().flatten().copied().collect();
        let exact = probs
            .iter()
            .zip(truth)
            .filter(|(p, t)| p.iter().zip(t.iter()).all(|(s, &present)| (*s >= threshold) == present))
            .count();
        Self {
            examples: probs.len(),
            threshold,
            map: mean(&aps),
            per_class_ap,
            micro_f1: f1(tp, fp, fneg),
            macro_f1: mean(&f1s),
            exact_set: if probs.is_empty() { 0.0 } else { exact as f64 / probs.len() as f64 },
        }
    }
}

fn f1(tp: usize, fp: usize, fneg: usize) -> f64 {
    let denominator = 2 * tp + fp + fneg;
    if denominator == 0 { 0.0 } else { 2.0 * tp as f64 / denominator as f64 }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Ranked 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): precision at the two positives is 1/1 and 2/3,
    // so AP = (1 + 2/3) / 2 = 5/6.
    #[test]
    fn average_precision_by_hand() {
        let ap = average_precision(&[0.1, 0.9, 0.7, 0.8], &[false, true, true, false]).unwrap();
        assert!((ap - 5.0 / 6.0).abs() < 1e-12, "{ap}");
    }

    // A positive tied with a negative at the top enters with it: precision 1/2 there, then
    // the second positive at rank 3 has precision 2/3; AP = (1/2 + 2/3) / 2 = 7/12. Ranking
    // the positive first inside the tie would have given 5/6.
    #[test]
    fn ties_enter_together() {
        let ap = average_precision(&[0.9, 0.9, 0.5, 0.2], &[true, false, true, false]).unwrap();
        assert!((ap - 7.0 / 12.0).abs() < 1e-12, "{ap}");
    }

    #[test]
    fn no_positive_is_undefined() {
        assert_eq!(average_precision(&[0.3, 0.2], &[false, false]), None);
    }

    // Three examples, three classes, threshold 0.5.
    //   example 0: probs [0.9, 0.6, 0.1], truth {0, 1}  -> predicted {0, 1}: exact
    //   example 1: probs [0.2, 0.7, 0.8], truth {2}     -> predicted {1, 2}: one false positive
    //   example 2: probs [0.4, 0.3, 0.6], truth {0, 2}  -> predicted {2}: one miss
    // Class 0: scores 0.9 (+), 0.4 (+), 0.2 (-) -> AP 1; tp 1, fn 1 -> F1 2/3.
    // Class 1: 0.7 (-), 0.6 (+), 0.3 (-) -> AP 1/2; tp 1, fp 1 -> F1 2/3.
    // Class 2: 0.8 (+), 0.6 (+), 0.1 (-) -> AP 1; tp 2 -> F1 1.
    // mAP 5/6; micro: tp 4, fp 1, fn 1 -> 8/10; macro (2/3 + 2/3 + 1) / 3 = 7/9; exact 1/3.
    #[test]
    fn scores_by_hand() {
        let probs = vec![vec![0.9, 0.6, 0.1], vec![0.2, 0.7, 0.8], vec![0.4, 0.3, 0.6]];
        let truth = vec![vec![true, true, false], vec![false, false, true], vec![true, false, true]];
        let s = MultiLabelScores::new(&probs, &truth, 0.5);
        assert_eq!(s.per_class_ap, vec![Some(1.0), Some(0.5), Some(1.0)]);
        assert!((s.map - 5.0 / 6.0).abs() < 1e-12);
        assert!((s.micro_f1 - 0.8).abs() < 1e-12);
        assert!((s.macro_f1 - 7.0 / 9.0).abs() < 1e-12);
        assert!((s.exact_set - 1.0 / 3.0).abs() < 1e-12);
    }

    // A class never present has no AP and stays out of the mean instead of counting as 0.
    #[test]
    fn absent_class_stays_out_of_the_mean() {
        let probs = vec![vec![0.9, 0.2], vec![0.1, 0.3]];
        let truth = vec![vec![true, false], vec![false, false]];
        let s = MultiLabelScores::new(&probs, &truth, 0.5);
        assert_eq!(s.per_class_ap[1], None);
        assert_eq!(s.map, 1.0);
        assert_eq!(s.exact_set, 1.0);
    }
}
