//! `--select` / `--ignore`: which diagnostics a run reports, by code (`PY101`) or by prefix
//! (`PY1`, `PY`), as ruff selects rules. Rewrites are the migration itself and always run
//! (a suppression comment keeps one line's back); these choose what is reported and what
//! `--fail-on` counts.

use crate::code::{Code, Kind};

/// A code or prefix a user typed, checked against the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Upper-case; a whole code or a prefix of at least one diagnostic code.
    prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error(
        "unknown code {0:?}: no diagnostic code is or starts with it (`migrate rules` lists them)"
    )]
    Unknown(String),
    #[error(
        "{0} is a rewrite, not a diagnostic: --select/--ignore choose diagnostics; a \
`# migrate: ignore[{0}]` comment keeps one line's rewrite back, --exclude a file's"
    )]
    Rewrite(String),
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let prefix = text.trim().to_ascii_uppercase();
        if let Some(code) = Code::parse(&prefix)
            && crate::catalog::entry(code).kind == Kind::Rewrite
        {
            return Err(SelectorError::Rewrite(code.to_string()));
        }
        let matches_a_diagnostic = !prefix.is_empty()
            && Code::ALL.iter().any(|c| {
                c.as_str().starts_with(&prefix)
                    && crate::catalog::entry(*c).kind == Kind::Diagnostic
            });
        if !matches_a_diagnostic {
            return Err(SelectorError::Unknown(text.trim().to_string()));
        }
        Ok(Selector { prefix })
    }

    pub fn matches(&self, code: Code) -> bool {
        code.as_str().starts_with(&self.prefix)
    }

    /// How specific it is: a longer prefix wins over a shorter one, as in ruff.
    fn specificity(&self) -> usize {
        self.prefix.len()
    }
}

/// The selected diagnostics: everything unless `select` names some, minus `ignore`. When
/// both match a code, the more specific one decides (`--select PY101 --ignore PY1` keeps
/// PY101), and on a tie ignore wins.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Option<Vec<Selector>>,
    pub ignore: Vec<Selector>,
}

/// Parses a list of codes and prefixes (items may also be comma-separated); the first bad
/// one is the error, prefixed with `label` (the flag or config key it came from).
pub fn parse_list(list: &[String], label: &str) -> Result<Vec<Selector>, String> {
    list.iter()
        .flat_map(|item| item.split(','))
        .filter(|item| !item.trim().is_empty())
        .map(|item| Selector::parse(item).map_err(|e| format!("{label}: {e}")))
        .collect()
}

impl Selection {
    pub fn is_selected(&self, code: Code) -> bool {
        let best = |list: &[Selector]| {
            list.iter()
                .filter(|s| s.matches(code))
                .map(Selector::specificity)
                .max()
        };
        let selected = match &self.select {
            None => Some(0),
            Some(list) => best(list),
        };
        match (selected, best(&self.ignore)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(s), Some(i)) => s > i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn selection(select: Option<&[&str]>, ignore: &[&str]) -> Selection {
        Selection {
            select: select.map(|s| parse_list(&strings(s), "--select").unwrap()),
            ignore: parse_list(&strings(ignore), "--ignore").unwrap(),
        }
    }

    #[test]
    fn codes_and_prefixes_select_and_the_more_specific_wins() {
        let s = selection(Some(&["PY1"]), &["py102"]);
        assert!(s.is_selected(Code::PY101));
        assert!(!s.is_selected(Code::PY102), "ignored by code");
        assert!(!s.is_selected(Code::SH103), "not selected");
        let s = selection(Some(&["PY101"]), &["PY1"]);
        assert!(s.is_selected(Code::PY101));
        assert!(!s.is_selected(Code::PY103));
        let s = selection(None, &["SH,MG"]);
        assert!(!s.is_selected(Code::SH103) && !s.is_selected(Code::MG003));
        assert!(s.is_selected(Code::PY101));
    }

    #[test]
    fn unknown_codes_and_rewrite_codes_are_errors_naming_them() {
        let err = parse_list(&strings(&["PY999"]), "--select").unwrap_err();
        assert!(err.starts_with("--select: unknown code \"PY999\""), "{err}");
        let err = parse_list(&strings(&["PY0"]), "--ignore").unwrap_err();
        assert!(err.starts_with("--ignore: unknown code \"PY0\""), "{err}");
        let err = parse_list(&strings(&["PY002"]), "--ignore").unwrap_err();
        assert!(err.contains("PY002 is a rewrite"), "{err}");
    }
}
