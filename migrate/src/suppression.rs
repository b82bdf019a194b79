//! Inline suppression comments, as ruff's `# noqa`: `# migrate: ignore[PY101]` on a line
//! keeps that line's PY101 quiet (a reviewed site), `# migrate: ignore` keeps every code on
//! it quiet. Rust files write `// migrate: ignore[...]`. As a suppressed ruff rule's fix is
//! not applied, a rewrite a comment covers is held back in Python sources, notebook cells,
//! shell and requirements files (the line stays as written). A comment that suppresses
//! nothing is itself reported (MG004), so stale ones do not pile up hiding nothing.

use crate::code::{Code, Entry, Kind, Severity};
use crate::edit::Fix;
use crate::text::SourceText;

pub(crate) static UNUSED_SUPPRESSION: Entry = Entry {
    code: Code::MG004,
    name: "unused-suppression",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A `migrate: ignore` comment suppresses nothing on its line",
    explanation: "The line no longer has the diagnostic the comment was written for (the code was \
fixed, or the comment names another code), so the comment would only hide a future finding.",
    fix: "Remove the comment, or the codes it lists that no longer occur on that line.",
    guide: "remove the comment (or the codes in it that no longer occur on the line)",
    severities: None,
};

const MARKER: &str = "migrate:";

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line and column (in characters) of the comment's `#` or `//`.
    pub line: usize,
    pub column: usize,
    /// The codes it names; None for a bare `migrate: ignore` (every code).
    pub codes: Option<Vec<Code>>,
}

impl Suppression {
    pub fn covers(&self, code: Code) -> bool {
        self.codes
            .as_ref()
            .is_none_or(|codes| codes.contains(&code))
    }
}

/// A code in a suppression comment that is not a diagnostic code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCode {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every suppression comment in a file's text, and the codes in them that do not exist.
pub fn scan(text: &str) -> (Vec<Suppression>, Vec<BadCode>) {
    let mut found = Vec::new();
    let mut bad = Vec::new();
    // Most files have no marker at all; one search skips them.
    if memchr::memmem::find(text.as_bytes(), MARKER.as_bytes()).is_none() {
        return (found, bad);
    }
    // Numbered as diagnostics are (a lone `\r` ends a line too).
    let source = crate::text::SourceText::new(text);
    for line in source.numbered_lines() {
        let (raw, number) = (line.text, line.number);
        let Some((comment_at, rest)) = comment(raw) else {
            continue;
        };
        let column = raw[..comment_at].chars().count() + 1;
        let codes = match rest.strip_prefix('[') {
            None => None,
            Some(list) => {
                let list = list.split(']').next().unwrap_or("");
                let mut codes = Vec::new();
                for item in list.split([',', ' ']).filter(|s| !s.trim().is_empty()) {
                    match parse_code(item.trim()) {
                        Ok(code) => codes.push(code),
                        Err(message) => bad.push(BadCode {
                            line: number,
                            column,
                            message,
                        }),
                    }
                }
                Some(codes)
            }
        };
        found.push(Suppression {
            line: number,
            column,
            codes,
        });
    }
    (found, bad)
}

/// The byte offset of a `# migrate: ignore` / `// migrate: ignore` comment in a line, and
/// the text right after `ignore`.
fn comment(line: &str) -> Option<(usize, &str)> {
    let mut search = 0;
    while let Some(found) = line[search..].find(MARKER) {
        let at = search + found;
        search = at + MARKER.len();
        let before = line[..at].trim_end_matches([' ', '\t']);
        let opener = if before.ends_with("//") {
            2
        } else if before.ends_with('#') {
            1
        } else {
            continue;
        };
        let after = line[search..].trim_start_matches([' ', '\t']);
        let Some(rest) = after.strip_prefix("ignore") else {
            continue;
        };
        // `ignore` is a whole word: `ignored` is prose, not a suppression.
        if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        return Some((before.len() - opener, rest));
    }
    None
}

fn parse_code(text: &str) -> Result<Code, String> {
    // A whole code only, as ruff's noqa takes.
    Code::parse(text).ok_or_else(|| {
        format!("unknown code {text:?} in a `migrate: ignore` comment (`migrate rules` lists them)")
    })
}

/// A rewrite a suppression comment kept from its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldBack {
    pub line: usize,
    pub code: Code,
}

/// Removes the fixes that start on a line whose suppression covers their code, and returns
/// them. The helper import (PY011) is never held back: other lines' rewrites need it.
pub fn hold_back(source: &SourceText, fixes: &mut Vec<Fix>) -> Vec<HeldBack> {
    let (suppressions, _) = scan(&source.body);
    let mut held = Vec::new();
    if suppressions.is_empty() {
        return held;
    }
    fixes.retain(|fix| {
        let line = source.line_of(fix.start());
        let covered = fix.code != Code::PY011
            && suppressions
                .iter()
                .any(|s| s.line == line && s.covers(fix.code));
        if covered {
            held.push(HeldBack {
                line,
                code: fix.code,
            });
        }
        !covered
    });
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bare_and_listed_suppressions_in_python_and_rust_comments() {
        let text = "x.cuda()\nimport flash_attn  # migrate: ignore[PY101, py102]\n\
                    let d = 1; // migrate: ignore\ny = 2  #migrate:ignore[MG003]\n";
        let (found, bad) = scan(text);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(
            found,
            vec![
                Suppression {
                    line: 2,
                    column: 20,
                    codes: Some(vec![Code::PY101, Code::PY102])
                },
                Suppression {
                    line: 3,
                    column: 12,
                    codes: None
                },
                Suppression {
                    line: 4,
                    column: 8,
                    codes: Some(vec![Code::MG003])
                },
            ]
        );
        assert!(found[1].covers(Code::PY113) && !found[0].covers(Code::PY103));
    }

    #[test]
    fn prose_and_strings_without_a_comment_opener_are_not_suppressions() {
        let (found, _) = scan("s = 'migrate: ignore'\n# migrate: ignored by design\n");
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn unknown_codes_are_reported_with_their_place() {
        let (found, bad) = scan("a  # migrate: ignore[PY999]\nb  # migrate: ignore[PY002]\n");
        assert_eq!(found.len(), 2);
        assert_eq!(bad.len(), 1, "a rewrite code is a code: {bad:?}");
        assert_eq!((bad[0].line, bad[0].column), (1, 4));
        assert!(
            bad[0].message.starts_with("unknown code \"PY999\""),
            "{bad:?}"
        );
    }

    #[test]
    fn a_covered_rewrite_is_held_back_but_never_the_helper_import() {
        let source = SourceText::new(
            "a.cuda()  # migrate: ignore[PY002]\nb.cuda()  # migrate: ignore\nc.cuda()\n",
        );
        let mut fixes = vec![
            Fix::single(Code::PY002, 1, 2, "x"),
            Fix::single(Code::PY011, 0, 0, "import m\n"),
            Fix::single(Code::PY004, 37, 38, "y"),
            Fix::single(Code::PY002, 64, 65, "z"),
        ];
        let held = hold_back(&source, &mut fixes);
        let at = |line, code| HeldBack { line, code };
        assert_eq!(held, vec![at(1, Code::PY002), at(2, Code::PY004)]);
        let kept: Vec<_> = fixes.iter().map(|f| f.code).collect();
        assert_eq!(kept, vec![Code::PY011, Code::PY002]);
    }
}
