//! Byte-span edits and their application. Rules never regenerate source: a fix is a set of
//! span replacements, and fixes that would overlap are resolved before anything is written.

use crate::code::Code;
use crate::edit_index::{KeptEdits, Span};
use crate::text::SourceText;
use serde::Serialize;

/// Replace `start..end` of a file body with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

impl Edit {
    pub fn replace(start: usize, end: usize, replacement: impl Into<String>) -> Self {
        Edit {
            start,
            end,
            replacement: replacement.into(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self::replace(at, at, text)
    }

    /// The pairwise definition [`KeptEdits`] answers for a whole set at once; the tests
    /// hold the two to the same answers.
    #[cfg(test)]
    pub(crate) fn conflicts_with(&self, other: &Edit) -> bool {
        // Two insertions at one point, or an insertion at the start of a replaced span, have
        // no defined order, so they conflict as well as true overlaps do.
        (self.start < other.end && other.start < self.end)
            || (self.start == other.start && (self.start == self.end || other.start == other.end))
    }
}

/// What one rule changes at one place: applied whole or not at all, so a rewrite that needs
/// several spans (rename a method and wrap its argument) never lands half-done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub code: Code,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn new(code: Code, edits: Vec<Edit>) -> Self {
        Fix { code, edits }
    }

    pub fn single(code: Code, start: usize, end: usize, replacement: impl Into<String>) -> Self {
        Fix::new(code, vec![Edit::replace(start, end, replacement)])
    }

    pub fn start(&self) -> usize {
        self.edits.iter().map(|e| e.start).min().unwrap_or(0)
    }

    pub fn end(&self) -> usize {
        self.edits.iter().map(|e| e.end).max().unwrap_or(0)
    }
}

/// An applied fix as the report shows it, in lines of the text it was applied to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppliedEdit {
    pub rule: Code,
    pub line_start: usize,
    pub line_end: usize,
    pub before: String,
    pub after: String,
}

/// Keeps a non-overlapping subset of fixes: wider fixes win over fixes nested in them (an
/// outer rewrite already covers the inner text), then earlier ones. Returns the kept fixes
/// in source order and how many were dropped (a later pass reconsiders those).
///
/// Each fix is checked against what is already kept through [`KeptEdits`], in O(log n) per
/// edit, so a file with tens of thousands of rewrites costs no more per rewrite than a small
/// one (comparing every fix with every kept fix made a 1 MiB file take half a minute).
pub fn resolve_overlaps(mut fixes: Vec<Fix>) -> (Vec<Fix>, usize) {
    fixes.sort_by(|a, b| {
        (b.end() - b.start())
            .cmp(&(a.end() - a.start()))
            .then(a.start().cmp(&b.start()))
    });
    fixes.dedup();
    let span = |e: &Edit| Span {
        start: e.start,
        end: e.end,
    };
    let mut kept_edits = KeptEdits::new(fixes.iter().flat_map(|f| &f.edits).map(span));
    let mut kept: Vec<Fix> = Vec::with_capacity(fixes.len());
    let mut dropped = 0;
    for fix in fixes {
        if fix.edits.iter().any(|e| kept_edits.conflicts_with(span(e))) {
            dropped += 1;
        } else {
            fix.edits.iter().for_each(|e| kept_edits.insert(span(e)));
            kept.push(fix);
        }
    }
    kept.sort_by_key(|f| (f.start(), f.end()));
    (kept, dropped)
}

/// Applies the edits of non-overlapping fixes.
pub fn apply(body: &str, fixes: &[Fix]) -> String {
    let mut edits: Vec<&Edit> = fixes.iter().flat_map(|f| &f.edits).collect();
    edits.sort_by_key(|e| (e.start, e.end));
    let extra: usize = edits.iter().map(|e| e.replacement.len()).sum();
    let mut out = String::with_capacity(body.len() + extra);
    let mut cursor = 0;
    for edit in edits {
        out.push_str(&body[cursor..edit.start]);
        out.push_str(&edit.replacement);
        cursor = edit.end;
    }
    out.push_str(&body[cursor..]);
    out
}

/// The report's view of a fix: the whole lines it touches, before and after.
pub fn describe(source: &SourceText, fix: &Fix) -> AppliedEdit {
    let (start, end) = (fix.start(), fix.end());
    let (line_start, line_end) = source.line_span(start, end);
    let before = source.body[line_start..line_end].to_string();
    let shifted: Vec<Edit> = fix
        .edits
        .iter()
        .map(|e| {
            Edit::replace(
                e.start - line_start,
                e.end - line_start,
                e.replacement.clone(),
            )
        })
        .collect();
    let after = apply(&before, &[Fix::new(fix.code, shifted)]);
    AppliedEdit {
        rule: fix.code,
        line_start: source.line_of(start),
        line_end: source.line_of(end.max(start)),
        before,
        after: after.trim_end_matches(['\r', '\n']).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::Code::{PY001, PY002, PY003, PY004};

    #[test]
    fn outer_fix_wins_over_nested_one() {
        let outer = Fix::single(PY001, 0, 10, "X");
        let inner = Fix::single(PY004, 2, 5, "Y");
        let (kept, dropped) = resolve_overlaps(vec![inner, outer.clone()]);
        assert_eq!(kept, vec![outer]);
        assert_eq!(dropped, 1);
    }

    #[test]
    fn disjoint_fixes_apply_in_source_order() {
        let fixes = vec![
            Fix::single(PY001, 4, 5, "four"),
            Fix::single(PY001, 0, 1, "zero"),
        ];
        let (kept, _) = resolve_overlaps(fixes);
        assert_eq!(apply("0123456", &kept), "zero123four56");
    }

    #[test]
    fn a_fix_is_dropped_whole_when_one_of_its_edits_conflicts() {
        // The split fix's first edit is free, but its second lands inside the wider fix.
        let wide = Fix::single(PY001, 0, 20, "w");
        let split = Fix::new(PY002, vec![Edit::replace(2, 4, "x"), Edit::insert(12, "y")]);
        let (kept, dropped) = resolve_overlaps(vec![split, wide.clone()]);
        assert_eq!(kept, vec![wide]);
        assert_eq!(dropped, 1);
    }

    #[test]
    fn adjacent_edits_do_not_conflict_but_inserts_at_one_point_do() {
        let (kept, dropped) = resolve_overlaps(vec![
            Fix::single(PY001, 0, 2, "x"),
            Fix::single(PY001, 2, 4, "y"),
            Fix::new(PY002, vec![Edit::insert(6, "i")]),
            Fix::new(PY003, vec![Edit::insert(6, "j")]),
        ]);
        assert_eq!(kept.len(), 3);
        assert_eq!(dropped, 1);
    }

    /// The quadratic definition the indexed check replaced: each fix against every kept one.
    fn resolve_overlaps_pairwise(mut fixes: Vec<Fix>) -> (Vec<Fix>, usize) {
        fixes.sort_by(|a, b| {
            (b.end() - b.start())
                .cmp(&(a.end() - a.start()))
                .then(a.start().cmp(&b.start()))
        });
        fixes.dedup();
        let mut kept: Vec<Fix> = Vec::new();
        let mut dropped = 0;
        for fix in fixes {
            let conflicts = kept.iter().any(|k| {
                k.edits
                    .iter()
                    .any(|a| fix.edits.iter().any(|b| a.conflicts_with(b)))
            });
            if conflicts {
                dropped += 1;
            } else {
                kept.push(fix);
            }
        }
        kept.sort_by_key(|f| (f.start(), f.end()));
        (kept, dropped)
    }

    #[test]
    fn indexed_resolution_keeps_exactly_what_the_pairwise_one_keeps() {
        // Dense random spans on a short text, so nesting, touching, insertions at one point
        // and multi-edit fixes all occur many times.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound) as usize
        };
        let codes = [PY001, PY002, PY003, PY004];
        for _ in 0..2_000 {
            let fixes: Vec<Fix> = (0..next(12))
                .map(|_| {
                    let edits = (0..1 + next(3))
                        .map(|_| {
                            let start = next(30);
                            Edit::replace(start, start + next(6), "r")
                        })
                        .collect();
                    Fix::new(codes[next(4)], edits)
                })
                .collect();
            assert_eq!(
                resolve_overlaps(fixes.clone()),
                resolve_overlaps_pairwise(fixes.clone()),
                "{fixes:?}"
            );
        }
    }

    #[test]
    fn fifty_thousand_disjoint_fixes_resolve_and_apply() {
        // One per line of a large file of `torch.cuda.synchronize()` calls; the pairwise
        // check needed about 1.25e9 comparisons for this.
        let line = "torch.cuda.synchronize()\n";
        let body = line.repeat(50_000);
        let fixes: Vec<Fix> = (0..50_000)
            .map(|i| Fix::single(PY004, i * line.len(), i * line.len() + 10, "m"))
            .collect();
        let (kept, dropped) = resolve_overlaps(fixes);
        assert_eq!((kept.len(), dropped), (50_000, 0));
        assert_eq!(apply(&body, &kept), "m.synchronize()\n".repeat(50_000));
    }
}
