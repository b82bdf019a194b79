//! What one rule pass over a file produces: fixes to apply, and diagnostics for a human.

use crate::diagnostic::Diagnostic;
use crate::edit::Fix;

#[derive(Debug, Default)]
pub struct Findings {
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
}
