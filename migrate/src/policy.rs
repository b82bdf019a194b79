//! What a run reports: suppression comments and `--select` / `--ignore` applied to every
//! file's diagnostics, after the rules ran and before anything is printed or counted, so
//! the text output, the machine formats, the report and `--fail-on` all agree.

use crate::code::Severity;
use crate::diagnostic::Diagnostic;
use crate::file_result::FileResult;
use crate::run::Migration;
use crate::selection::Selection;
use crate::suppression::{self, UNUSED_SUPPRESSION};
use crate::walk::FileKind;

/// A problem with the user's input found while applying the policy (an unknown code in a
/// suppression comment), named with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

/// Applies suppressions and the selection to every file; returns the bad codes found.
pub fn apply(migration: &mut Migration, selection: &Selection) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    for file in &mut migration.files {
        errors.extend(apply_to_file(file, selection));
    }
    errors
}

/// Files whose comments can hold a suppression; Markdown and CUDA sources are only reported,
/// and a guide that shows the syntax is not a suppression.
fn has_comments(kind: Option<FileKind>) -> bool {
    !matches!(kind, None | Some(FileKind::Markdown | FileKind::CudaSource))
}

fn apply_to_file(file: &mut FileResult, selection: &Selection) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    if has_comments(file.kind)
        && let Some(text) = file.original.as_deref()
    {
        let (suppressions, bad) = suppression::scan(text);
        errors.extend(bad.into_iter().map(|b| PolicyError {
            path: file.relative.clone(),
            line: b.line,
            column: b.column,
            message: b.message,
        }));
        let mut used = vec![Vec::new(); suppressions.len()];
        // A comment that kept a rewrite from its line did its job.
        for held in &file.held_back {
            if let Some(i) = suppressions
                .iter()
                .position(|s| s.line == held.line && s.covers(held.code))
            {
                used[i].push(held.code);
            }
        }
        file.diagnostics.retain(|d| {
            let hit = suppressions
                .iter()
                .position(|s| s.line == d.line && s.covers(d.code));
            if let Some(i) = hit {
                used[i].push(d.code);
            }
            hit.is_none()
        });
        for (s, used) in suppressions.iter().zip(&used) {
            if let Some(message) = unused(s, used) {
                file.diagnostics.push(Diagnostic::new(
                    &UNUSED_SUPPRESSION,
                    s.line,
                    s.column,
                    message,
                ));
            }
        }
        file.diagnostics.sort_by_key(|d| (d.line, d.column));
    }
    file.diagnostics.retain(|d| selection.is_selected(d.code));
    errors
}

/// What a suppression names that nothing on its line needed, as a message; None if used.
fn unused(s: &suppression::Suppression, used: &[crate::Code]) -> Option<String> {
    match &s.codes {
        None if used.is_empty() => {
            Some("`migrate: ignore` suppresses nothing on this line".to_string())
        }
        None => None,
        Some(codes) => {
            let idle: Vec<&str> = codes
                .iter()
                .filter(|c| !used.contains(c))
                .map(|c| c.as_str())
                .collect();
            (!idle.is_empty()).then(|| {
                format!(
                    "`migrate: ignore[{}]` suppresses nothing on this line: no {} here",
                    codes
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    idle.join(" or ")
                )
            })
        }
    }
}

/// The most severe diagnostic left, for `--fail-on`.
pub fn worst(migration: &Migration) -> Option<Severity> {
    migration
        .files
        .iter()
        .flat_map(|f| &f.diagnostics)
        .map(|d| d.severity)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::file_result::FileStatus;
    use std::path::PathBuf;

    fn file(text: &str, diagnostics: Vec<Diagnostic>) -> FileResult {
        let mut f = FileResult::empty(
            "a.py".into(),
            PathBuf::new(),
            Some(FileKind::Python),
            FileStatus::Unchanged,
        );
        f.original = Some(text.to_string());
        f.diagnostics = diagnostics;
        f
    }

    fn at(code: Code, line: usize) -> Diagnostic {
        Diagnostic::new(crate::catalog::entry(code), line, 1, "m")
    }

    fn codes(f: &FileResult) -> Vec<(&str, usize)> {
        f.diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.line))
            .collect()
    }

    #[test]
    fn a_reviewed_site_stays_quiet_and_an_idle_comment_is_listed() {
        let text = "import flash_attn  # migrate: ignore[PY101]\n\
                    import xformers  # migrate: ignore[PY101]\n\
                    x = 1  # migrate: ignore\n\
                    import apex  # migrate: ignore\n";
        let mut f = file(
            text,
            vec![at(Code::PY101, 1), at(Code::PY102, 2), at(Code::PY103, 4)],
        );
        let errors = apply_to_file(&mut f, &Selection::default());
        assert!(errors.is_empty());
        assert_eq!(codes(&f), vec![("PY102", 2), ("MG004", 2), ("MG004", 3)]);
        assert!(
            f.diagnostics[1].message.contains("no PY101 here"),
            "{:?}",
            f.diagnostics[1]
        );
    }

    #[test]
    fn selection_applies_after_suppression_and_bad_codes_are_errors_with_a_place() {
        let mut f = file("a  # migrate: ignore[PY998]\n", vec![at(Code::PY102, 1)]);
        let selection = Selection {
            select: None,
            ignore: crate::selection::parse_list(&["MG".to_string()], "--ignore").unwrap(),
        };
        let errors = apply_to_file(&mut f, &selection);
        assert_eq!(codes(&f), vec![("PY102", 1)], "MG004 ignored by prefix");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .starts_with("a.py:1:4: unknown code \"PY998\"")
        );
    }
}
