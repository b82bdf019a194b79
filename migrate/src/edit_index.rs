//! The edits kept so far by `edit::resolve_overlaps`, indexed so that asking whether a new
//! edit conflicts with any of them costs O(log n) instead of a pass over all of them.
//!
//! Two edits conflict when their spans truly overlap (`a.start < b.end && b.start < a.end`)
//! or when they start at one point and either is an insertion (no defined order). The first
//! test over a whole set is "is the largest `end` among kept edits starting before `e.end`
//! greater than `e.start`", a prefix maximum; the second is a count per start offset.

use std::collections::HashMap;

/// An edit's span in the source: bytes `start..end` (equal for an insertion).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

pub(crate) struct KeptEdits {
    /// Every start offset any candidate edit has, sorted: the positions of `max_end`.
    starts: Vec<usize>,
    /// Fenwick tree of the largest kept `end + 1` per start position (0: none kept), so a
    /// prefix query gives the largest end of the kept edits starting before a point.
    max_end: Vec<usize>,
    /// Per start offset: how many kept edits start there, and how many are insertions.
    at_start: HashMap<usize, (usize, usize)>,
}

impl KeptEdits {
    /// An empty set that can hold any of `candidates`.
    pub(crate) fn new(candidates: impl Iterator<Item = Span>) -> Self {
        let mut starts: Vec<usize> = candidates.map(|e| e.start).collect();
        starts.sort_unstable();
        starts.dedup();
        let max_end = vec![0; starts.len() + 1];
        KeptEdits {
            starts,
            max_end,
            at_start: HashMap::new(),
        }
    }

    /// Whether `edit` conflicts with any kept edit.
    pub(crate) fn conflicts_with(&self, edit: Span) -> bool {
        let before_end = self.starts.partition_point(|&s| s < edit.end);
        let overlaps = self
            .prefix_max_end(before_end)
            .is_some_and(|end| end > edit.start);
        let (count, insertions) = self.at_start.get(&edit.start).copied().unwrap_or((0, 0));
        let same_point = if edit.start == edit.end {
            count > 0
        } else {
            insertions > 0
        };
        overlaps || same_point
    }

    /// Keeps `edit`, which must be one of the candidates the set was built for.
    pub(crate) fn insert(&mut self, edit: Span) {
        let entry = self.at_start.entry(edit.start).or_default();
        entry.0 += 1;
        entry.1 += usize::from(edit.start == edit.end);
        // Fenwick positions are 1-based; a start not among the candidates is a caller bug,
        // and is then only missing from the overlap test, never out of bounds.
        let Ok(index) = self.starts.binary_search(&edit.start) else {
            return;
        };
        let mut i = index + 1;
        while i < self.max_end.len() {
            self.max_end[i] = self.max_end[i].max(edit.end.saturating_add(1));
            i += i & i.wrapping_neg();
        }
    }

    /// The largest end among kept edits whose start is one of the first `count` starts.
    fn prefix_max_end(&self, count: usize) -> Option<usize> {
        let mut best = 0;
        let mut i = count;
        while i > 0 {
            best = best.max(self.max_end[i]);
            i -= i & i.wrapping_neg();
        }
        best.checked_sub(1)
    }
}
