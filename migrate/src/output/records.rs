//! The findings every machine format writes: each diagnostic, and each file that could not
//! be migrated (failed) or was not read (skipped), with its reason.

use crate::code::{Code, Severity};
use crate::file_result::FileStatus;
use crate::run::Migration;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Record {
    /// The file, relative to the tree root (with the caller's prefix).
    pub path: String,
    /// 1-based; None for a finding about the whole file.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// None for a file that failed or was skipped, which has no catalog code.
    pub code: Option<Code>,
    pub name: Option<&'static str>,
    pub severity: Severity,
    pub message: String,
    pub suggested_fix: Option<String>,
}

pub fn records(migration: &Migration, path_prefix: &str) -> Vec<Record> {
    let mut out = Vec::new();
    for f in &migration.files {
        let path = format!("{path_prefix}{}", f.relative);
        if let Some(reason) = &f.reason {
            let (severity, what) = match f.status {
                FileStatus::Failed => (Severity::Error, "not migrated"),
                _ => (Severity::Info, "skipped"),
            };
            out.push(Record {
                path: path.clone(),
                line: None,
                column: None,
                code: None,
                name: None,
                severity,
                message: format!("{what}: {reason}"),
                suggested_fix: None,
            });
        }
        for d in &f.diagnostics {
            out.push(Record {
                path: path.clone(),
                line: Some(d.line),
                column: Some(d.column),
                code: Some(d.code),
                name: Some(crate::catalog::entry(d.code).name),
                severity: d.severity,
                message: d.message.clone(),
                suggested_fix: Some(d.suggested_fix.clone()),
            });
        }
    }
    out
}
