//! The state one walk over a Rust file carries, and what every rule does with it: map a
//! span to bytes and text, record a fix, report a diagnostic. Rules add methods to
//! `Checker` in their own files; the walk in `mod.rs` decides which rule sees which node.

use super::framework::{Framework, framework_of_crate};
use crate::code::Entry;
use crate::diagnostic::Diagnostic;
use crate::edit::Fix;
use crate::text::SourceText;
use proc_macro2::{LineColumn, Span};
use std::collections::{HashMap, HashSet};

/// What the rewritten file needs from the `device` crate.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// `device::candle::best_candle_device` (the `candle` feature).
    pub candle: bool,
    /// `device::framework::cuda_ordinal`.
    pub framework: bool,
}

pub struct Checker<'s> {
    pub src: &'s SourceText,
    /// Local names of `Device` types brought in by `use`, and their framework.
    pub device_types: HashMap<String, Framework>,
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
    pub needs: Needs,
    /// Start offsets of string literals a rule already dealt with (no RS106 for them).
    pub handled_strings: HashSet<usize>,
    /// cudarc is reported once per file.
    pub cudarc_reported: bool,
}

impl<'s> Checker<'s> {
    pub fn new(src: &'s SourceText, device_types: HashMap<String, Framework>) -> Self {
        Checker {
            src,
            device_types,
            fixes: Vec::new(),
            diagnostics: Vec::new(),
            needs: Needs::default(),
            handled_strings: HashSet::new(),
            cudarc_reported: false,
        }
    }

    fn offset(&self, at: LineColumn) -> usize {
        self.src.offset_of_line_column(at.line, at.column)
    }

    pub fn range(&self, span: Span) -> (usize, usize) {
        (self.offset(span.start()), self.offset(span.end()))
    }

    pub fn text(&self, span: Span) -> &str {
        let (s, e) = self.range(span);
        &self.src.body[s..e]
    }

    /// Replaces the source under `span` with `replacement`.
    pub fn replace(&mut self, entry: &Entry, span: Span, replacement: impl Into<String>) {
        let (start, end) = self.range(span);
        self.fixes
            .push(Fix::single(entry.code, start, end, replacement));
    }

    pub fn diag(&mut self, entry: &Entry, span: Span, message: impl Into<String>) {
        let start = span.start();
        self.diagnostics.push(Diagnostic::new(
            entry,
            start.line,
            start.column + 1,
            message,
        ));
    }

    /// `(framework, function)` for `Device::new_cuda`, `candle_core::Device::new_cuda`,
    /// `tch::Device::Cuda` ...
    pub fn device_path(&self, path: &syn::Path) -> Option<(Framework, String)> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let n = segments.len();
        if n < 2 {
            return None;
        }
        let function = segments[n - 1].clone();
        let framework = if n == 2 {
            *self.device_types.get(&segments[0])?
        } else if segments[n - 2] == "Device" {
            framework_of_crate(&segments[n - 3])?
        } else {
            return None;
        };
        Some((framework, function))
    }
}
