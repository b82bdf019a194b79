//! Findings that need a human, each tied to a catalog entry and a place in a file.

use crate::code::{Code, Entry, Severity};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What to do instead; the catalog's fix unless the finding has a more specific one.
    pub suggested_fix: String,
}

impl Diagnostic {
    /// A diagnostic with the entry's severity and fix. Rules pass their own entry, so the
    /// defaults come with the code instead of being looked up.
    pub fn new(entry: &Entry, line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            code: entry.code,
            severity: entry.severity,
            line,
            column,
            message: message.into(),
            suggested_fix: entry.fix.to_string(),
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.suggested_fix = fix.into();
        self
    }

    pub fn set_severity(&mut self, severity: Severity) -> &mut Self {
        self.severity = severity;
        self
    }

    pub fn set_fix(&mut self, fix: impl Into<String>) -> &mut Self {
        self.suggested_fix = fix.into();
        self
    }
}
