//! The live history: samples and view columns in fixed rings addressed by their global index
//! since the stream began, so a reader asks for "columns 12,000 to 12,040" whatever has wrapped.

use std::ops::Range;

/// The last `capacity` samples of a stream.
pub struct SampleRing {
    data: Vec<f32>,
    /// Samples received since the stream began (one past the newest's global index).
    end: u64,
}

impl SampleRing {
    pub fn new(capacity: usize) -> Self {
        Self { data: vec![0.0; capacity.max(1)], end: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// One past the newest sample's global index.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The oldest sample still held.
    pub fn start(&self) -> u64 {
        self.end.saturating_sub(self.data.len() as u64)
    }

    pub fn push(&mut self, samples: &[f32]) {
        let cap = self.data.len();
        // Only the last `cap` of a long push survive.
        let skip = samples.len().saturating_sub(cap);
        self.end += skip as u64;
        for &x in &samples[skip..] {
            self.data[(self.end % cap as u64) as usize] = x;
            self.end += 1;
        }
    }

    /// Samples `range` (global indices); what lies before the stream or has left the ring reads
    /// as zeros, what has not arrived is cut off.
    pub fn read(&self, range: Range<i64>) -> Vec<f32> {
        let end = range.end.min(self.end as i64);
        let start = self.start() as i64;
        let cap = self.data.len() as i64;
        (range.start..end.max(range.start))
            .map(|i| if i < start { 0.0 } else { self.data[i.rem_euclid(cap) as usize] })
            .collect()
    }
}

/// The last `capacity` columns of one view (`bins` values each), with the range of columns
/// written since a reader last asked, so a GPU copy is brought up to date column by column.
pub struct ColumnRing {
    bins: usize,
    capacity: usize,
    data: Vec<f32>,
    /// One past the newest column's global index.
    end: u64,
    /// Columns written since [`ColumnRing::take_changed`] was last called.
    changed: Option<Range<u64>>,
}

impl ColumnRing {
    pub fn new(bins: usize, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { bins, capacity, data: vec![f32::NEG_INFINITY; bins * capacity], end: 0, changed: None }
    }

    pub fn bins(&self) -> usize {
        self.bins
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    /// The oldest column still held.
    pub fn start(&self) -> u64 {
        self.end.saturating_sub(self.capacity as u64)
    }

    /// Writes columns `first..` (frame-major values, `bins` each); they may rewrite columns
    /// already written (provisional ones made final) or extend the ring. A column older than the
    /// ring holds is skipped.
    pub fn write(&mut self, first: u64, values: &[f32]) {
        let count = (values.len() / self.bins.max(1)) as u64;
        let last = first + count;
        self.end = self.end.max(last);
        let from = first.max(self.start());
        for c in from..last {
            let src = &values[((c - first) as usize) * self.bins..][..self.bins];
            let slot = (c % self.capacity as u64) as usize;
            self.data[slot * self.bins..][..self.bins].copy_from_slice(src);
        }
        if from < last {
            self.changed = Some(match self.changed.take() {
                Some(r) => r.start.min(from)..r.end.max(last),
                None => from..last,
            });
        }
    }

    /// One column's values, if still held.
    pub fn column(&self, c: u64) -> Option<&[f32]> {
        (c >= self.start() && c < self.end).then(|| {
            let slot = (c % self.capacity as u64) as usize;
            &self.data[slot * self.bins..][..self.bins]
        })
    }

    /// The columns written since the last call, clipped to what the ring still holds.
    pub fn take_changed(&mut self) -> Option<Range<u64>> {
        let r = self.changed.take()?;
        let start = r.start.max(self.start());
        (start < r.end).then_some(start..r.end)
    }

    /// Where column `c` sits in the ring (its slot), as a GPU copy lays it out.
    pub fn slot(&self, c: u64) -> usize {
        (c % self.capacity as u64) as usize
    }

    /// The whole storage, slot-major; for a first upload.
    pub fn slots(&self) -> &[f32] {
        &self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_wrap_and_read_by_global_index() {
        let mut ring = SampleRing::new(4);
        ring.push(&[1.0, 2.0, 3.0]);
        ring.push(&[4.0, 5.0, 6.0]);
        assert_eq!((ring.start(), ring.end()), (2, 6));
        // Before what is held reads as zeros; beyond the newest is cut off.
        assert_eq!(ring.read(1..9), vec![0.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(ring.read(-2..1), vec![0.0, 0.0, 0.0]);
        // A push longer than the ring keeps its tail.
        ring.push(&[7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        assert_eq!((ring.start(), ring.end()), (8, 12));
        assert_eq!(ring.read(8..12), vec![9.0, 10.0, 11.0, 12.0]);
    }

    #[test]
    fn columns_wrap_rewrite_and_report_what_changed() {
        let mut ring = ColumnRing::new(2, 3);
        ring.write(0, &[0.0, 0.5, 1.0, 1.5]);
        assert_eq!(ring.take_changed(), Some(0..2));
        assert_eq!(ring.take_changed(), None);
        // A rewrite of column 1 and two new ones; column 0 leaves the ring.
        ring.write(1, &[10.0, 10.5, 2.0, 2.5, 3.0, 3.5]);
        assert_eq!((ring.start(), ring.end()), (1, 4));
        assert_eq!(ring.column(0), None);
        assert_eq!(ring.column(1), Some(&[10.0, 10.5][..]));
        assert_eq!(ring.column(3), Some(&[3.0, 3.5][..]));
        assert_eq!(ring.slot(3), 0);
        assert_eq!(ring.take_changed(), Some(1..4));
        // Changes that left the ring before they were read are not reported.
        ring.write(4, &[4.0, 4.5]);
        ring.write(5, &[5.0, 5.5, 6.0, 6.5, 7.0, 7.5]);
        assert_eq!(ring.take_changed(), Some(5..8));
    }
}
