//! The state one walk over a Python file carries, and what every rule does with it: read a
//! node's text, record a fix, report a diagnostic. Rules add methods to `Checker` in their
//! own files; the walk in `mod.rs` decides which rule sees which node.

use super::generator_draws::Placement;
use super::guard_scope::Guard;
pub use super::span::span;
use crate::code::{Code, Entry};
use crate::diagnostic::Diagnostic;
use crate::edit::{Edit, Fix};
use crate::findings::Findings;
use crate::options::RuleOptions;
use crate::python::bindings::Bindings;
use crate::text::SourceText;
use ruff_python_ast::Expr;
use ruff_text_size::{Ranged, TextRange};
use std::collections::{HashMap, HashSet};

pub struct Checker<'s> {
    pub src: &'s SourceText,
    pub opts: &'s RuleOptions,
    pub findings: Findings,
    /// What the file's imported names refer to.
    pub bindings: Bindings,
    /// Start offsets of string literals a rule already dealt with (no PY113 for them).
    pub handled: HashSet<usize>,
    /// Uses of flash-attn / xformers / apex / bitsandbytes names already rewritten or
    /// reported (nested parts of them are not looked at again).
    pub shim_done: Vec<TextRange>,
    /// Stand-in names in call position (or a class whose method is called): rewritten.
    pub shim_callees: Vec<TextRange>,
    /// Names whose value is only tested (`is None`, `if name:`): whether a library imported.
    pub availability_tests: Vec<TextRange>,
    /// Callees whose call keeps the library (arguments a stand-in cannot carry over).
    pub shim_blocked: Vec<TextRange>,
    /// Bodies of `if` blocks whose test mentions xformers: their toggle call is conditional.
    pub xformers_gates: Vec<TextRange>,
    /// Start offsets of expressions that are whole statements.
    pub expression_statements: HashSet<usize>,
    /// TF32 switches assigned on their own line, which gain the HF32 line instead of a note.
    pub hf32_targets: Vec<TextRange>,
    /// The file defines or assigns an `is_cuda` of its own.
    pub defines_is_cuda: bool,
    /// > 0 inside the body of a `try` whose handlers catch import failures.
    pub guarded_depth: usize,
    /// (code, line) pairs already reported, so one line gets one note per code.
    noted_lines: HashSet<(Code, usize)>,
    /// Expressions that reach CUDA, reported at the end unless a rule covered them.
    pub cuda_uses: Vec<TextRange>,
    /// Ranges a diagnostic was reported for, with its index in `findings.diagnostics` (None
    /// where `note_once` left out a repeat).
    pub reported: Vec<(TextRange, Option<usize>)>,
    /// Parameters that hold a storage: the first one of a `map_location=lambda storage, loc: ...`,
    /// with the lambda's range.
    pub storage_params: Vec<(String, TextRange)>,
    /// Generators whose device a draw in the file decides, by creation offset.
    pub generator_placements: HashMap<usize, Placement>,
    /// `name = value` assignments (name, value range), to follow a CUDA use to its calls.
    pub bound_values: Vec<(String, TextRange)>,
    /// Calls of plain names (name, call range).
    pub name_calls: Vec<(String, TextRange)>,
    /// A class in this file defines its own `cuda` method.
    pub defines_cuda_method: bool,
    /// torch.cuda members this file assigns to (a compatibility shim): never rewritten.
    pub shimmed: HashSet<String>,
    /// `is_available()` guards, settled once every diagnostic is known.
    pub guards: Vec<Guard>,
    /// Where torch.bfloat16 appears, reported once per file (PY114).
    pub bf16_uses: Vec<TextRange>,
}

impl<'s> Checker<'s> {
    pub fn new(src: &'s SourceText, opts: &'s RuleOptions, bindings: Bindings) -> Self {
        Checker {
            src,
            opts,
            findings: Findings::default(),
            bindings,
            handled: HashSet::new(),
            shim_done: Vec::new(),
            shim_blocked: Vec::new(),
            shim_callees: Vec::new(),
            availability_tests: Vec::new(),
            xformers_gates: Vec::new(),
            expression_statements: HashSet::new(),
            hf32_targets: Vec::new(),
            defines_is_cuda: false,
            guarded_depth: 0,
            noted_lines: HashSet::new(),
            bf16_uses: Vec::new(),
            cuda_uses: Vec::new(),
            storage_params: Vec::new(),
            guards: Vec::new(),
            shimmed: HashSet::new(),
            defines_cuda_method: false,
            bound_values: Vec::new(),
            name_calls: Vec::new(),
            generator_placements: HashMap::new(),
            reported: Vec::new(),
        }
    }

    /// The qualified name an expression refers to through the file's imports.
    pub fn qualified(&self, expr: &Expr) -> Option<String> {
        self.bindings.qualified(expr)
    }

    pub fn text(&self, node: &impl Ranged) -> &'s str {
        let (s, e) = span(node);
        &self.src.body[s..e]
    }

    /// Replaces `node` with `replacement`.
    pub fn replace(&mut self, entry: &Entry, node: &impl Ranged, replacement: impl Into<String>) {
        let (s, e) = span(node);
        self.replace_span(entry, s, e, replacement);
    }

    /// Replaces the bytes `start..end` with `replacement`.
    pub fn replace_span(
        &mut self,
        entry: &Entry,
        start: usize,
        end: usize,
        replacement: impl Into<String>,
    ) {
        self.findings
            .fixes
            .push(Fix::single(entry.code, start, end, replacement));
    }

    /// A fix made of several edits, applied whole or not at all.
    pub fn edit(&mut self, entry: &Entry, edits: Vec<Edit>) {
        self.findings.fixes.push(Fix::new(entry.code, edits));
    }

    /// Reports `entry` at the start of `at`; the caller may refine its severity or fix.
    pub fn diag(
        &mut self,
        entry: &Entry,
        at: TextRange,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let offset = at.start().to_usize();
        let diagnostics = &mut self.findings.diagnostics;
        self.reported.push((at, Some(diagnostics.len())));
        diagnostics.push(Diagnostic::new(
            entry,
            self.src.line_of(offset),
            self.src.column_of(offset),
            message,
        ));
        let last = diagnostics.len() - 1;
        &mut diagnostics[last]
    }

    /// A diagnostic reported at most once per line and code.
    pub fn note_once(&mut self, entry: &Entry, at: TextRange, message: impl Into<String>) {
        let line = self.src.line_of(at.start().to_usize());
        if self.noted_lines.insert((entry.code, line)) {
            self.diag(entry, at, message);
        } else {
            self.reported.push((at, None));
        }
    }
}
