//! What a run decided for one file. Its own module because the run and the helper module
//! (which adds a file of its own) both build these.

use crate::diagnostic::Diagnostic;
use crate::edit::AppliedEdit;
use crate::rust::Needs;
use crate::suppression::HeldBack;
use crate::walk::{FileKind, Found};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Changed,
    Unchanged,
    Added,
    Skipped,
    Failed,
}

#[derive(Debug, Clone)]
pub struct FileResult {
    pub relative: String,
    pub absolute: PathBuf,
    pub kind: Option<FileKind>,
    pub status: FileStatus,
    pub reason: Option<String>,
    /// The text as read; `--apply` compares it with the file on disk before writing.
    pub original: Option<String>,
    /// The new text, for changed and added files only.
    pub output: Option<String>,
    pub edits: Vec<AppliedEdit>,
    pub diagnostics: Vec<Diagnostic>,
    /// What rewritten Rust code needs from the device crate.
    pub rust_needs: Needs,
    /// Rewrites suppression comments kept from their lines; they count as the comments' use.
    pub held_back: Vec<HeldBack>,
}

impl FileResult {
    /// A result with nothing read, changed or found yet.
    pub fn empty(
        relative: String,
        absolute: PathBuf,
        kind: Option<FileKind>,
        status: FileStatus,
    ) -> Self {
        FileResult {
            relative,
            absolute,
            kind,
            status,
            reason: None,
            original: None,
            output: None,
            edits: Vec::new(),
            diagnostics: Vec::new(),
            rust_needs: Needs::default(),
            held_back: Vec::new(),
        }
    }

    /// A file the walk found.
    pub fn found(found: &Found, status: FileStatus) -> Self {
        Self::empty(
            found.relative.clone(),
            found.absolute.clone(),
            Some(found.kind),
            status,
        )
    }

    /// A file the walk found but that could not be processed.
    pub fn failed(found: &Found, reason: impl Into<String>) -> Self {
        FileResult {
            reason: Some(reason.into()),
            ..Self::found(found, FileStatus::Failed)
        }
    }

    /// A path the walk refused or could not read, with why; it has no kind or content.
    pub fn refused(relative: String, status: FileStatus, reason: String) -> Self {
        FileResult {
            reason: Some(reason),
            ..Self::empty(relative, PathBuf::new(), None, status)
        }
    }
}
