//! Findings that need a human, each tied to a catalog code and a place in a file.

use crate::catalog::{self, Severity};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What to do instead; the catalog's fix unless the finding has a more specific one.
    pub suggested_fix: String,
}

impl Diagnostic {
    /// A diagnostic with the catalog's severity and fix.
    pub fn new(code: &'static str, line: usize, column: usize, message: impl Into<String>) -> Self {
        let entry = catalog::entry(code);
        Diagnostic {
            code,
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
