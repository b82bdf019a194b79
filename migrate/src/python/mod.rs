//! Python sources: parse with ruff's parser, collect fixes, apply them as span edits, and
//! repeat until nothing changes (each pass re-parses, so the output is known to parse).

pub(crate) mod bindings;
pub(crate) mod imports;
mod names;
pub mod properties;
pub(crate) mod rules;

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::{self, AppliedEdit};
use crate::nesting::{self, Syntax, TooDeep};
use crate::options::RuleOptions;
use crate::suppression::{self, HeldBack};
use crate::text::SourceText;
use ruff_python_ast::ModModule;
use ruff_python_parser::Parsed;

pub(crate) static FIXPOINT_CAP: Entry = Entry {
    code: Code::MG002,
    name: "fixpoint-cap",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "Rewriting did not settle within the pass limit",
    explanation: "Each pass applies non-overlapping edits and runs again; a file still changing after the \
limit indicates a rule conflict.",
    fix: "Report the file to the migrate maintainers; review the patch for that file by hand.",
    guide: "the file kept changing and was left alone: report it and review by hand",
    severities: None,
};

/// Passes after which a file that still changes is reported (MG002) and left as is.
pub const MAX_PASSES: usize = 4;

#[derive(Debug, Clone)]
pub struct PythonOutcome {
    /// The rewritten file; `None` when nothing changed (no copy of an untouched file).
    pub output: Option<SourceText>,
    pub edits: Vec<AppliedEdit>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the output refers to the helper module.
    pub uses_helper: bool,
    /// Rewrites a `migrate: ignore` comment kept from their lines (in the input's lines).
    pub held_back: Vec<HeldBack>,
}

impl PythonOutcome {
    /// The file after migration: the rewrite, or the input when nothing changed.
    pub fn text<'a>(&'a self, input: &'a SourceText) -> &'a SourceText {
        self.output.as_ref().unwrap_or(input)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonError {
    /// The input does not parse; the file is left unchanged.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A rewrite produced source that does not parse (a bug); the file is left unchanged.
    InvalidRewrite { rule: String, message: String },
    /// Nested too deeply to parse without risking the stack; the file is left unchanged.
    TooDeep(TooDeep),
}

impl std::fmt::Display for PythonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PythonError::Syntax {
                line,
                column,
                message,
            } => write!(f, "syntax error at {line}:{column}: {message}"),
            PythonError::InvalidRewrite { rule, message } => {
                write!(
                    f,
                    "rewrite by {rule} produced invalid Python ({message}); file left unchanged"
                )
            }
            PythonError::TooDeep(deep) => write!(f, "{deep} ({})", nesting::TOO_DEEP.code),
        }
    }
}

fn parse(source: &SourceText) -> Result<Parsed<ModModule>, (usize, String)> {
    ruff_python_parser::parse_module(&source.body)
        .map_err(|e| (e.location.start().to_usize(), e.error.to_string()))
}

/// Rewrites one Python file.
pub fn migrate(input: &SourceText, options: &RuleOptions) -> Result<PythonOutcome, PythonError> {
    nesting::check(&input.body, Syntax::Python).map_err(PythonError::TooDeep)?;
    let parsed = parse(input).map_err(|(offset, message)| PythonError::Syntax {
        line: input.line_of(offset),
        column: input.column_of(offset),
        message,
    })?;
    let mut rewritten_so_far: Option<SourceText> = None;
    let mut parsed = parsed;
    let mut applied = Vec::new();
    let mut diagnostics = Vec::new();
    let mut held_back = Vec::new();
    for pass in 0..MAX_PASSES {
        let current = rewritten_so_far.as_ref().unwrap_or(input);
        let mut findings = rules::collect(parsed.suite(), current, options);
        // Before overlaps are resolved, so a held-back fix never displaces another.
        let held = suppression::hold_back(current, &mut findings.fixes);
        if pass == 0 {
            diagnostics = findings.diagnostics;
            held_back = held;
        }
        let (mut fixes, _dropped) = edit::resolve_overlaps(findings.fixes);
        if fixes.is_empty() {
            let uses_helper =
                !applied.is_empty() && current.body.contains(&format!("{}.", options.helper));
            return Ok(PythonOutcome {
                output: rewritten_so_far,
                edits: applied,
                diagnostics,
                uses_helper,
                held_back,
            });
        }
        let needs_import = fixes
            .iter()
            .flat_map(|f| &f.edits)
            .any(|e| options.needs_import(&e.replacement));
        if needs_import && let Some(import) = imports::helper_import(&parsed, current, options) {
            fixes.push(import);
        }
        applied.extend(fixes.iter().map(|f| edit::describe(current, f)));
        let rewritten = current.with_body(edit::apply(&current.body, &fixes));
        parsed = parse(&rewritten).map_err(|(_, message)| PythonError::InvalidRewrite {
            rule: fixes
                .iter()
                .map(|f| f.code.as_str())
                .collect::<Vec<_>>()
                .join(","),
            message,
        })?;
        rewritten_so_far = Some(rewritten);
    }
    let mut outcome_diagnostics = diagnostics;
    outcome_diagnostics.push(Diagnostic::new(
        &FIXPOINT_CAP,
        1,
        1,
        format!("still changing after {MAX_PASSES} passes; file left unchanged"),
    ));
    Ok(PythonOutcome {
        output: None,
        edits: Vec::new(),
        diagnostics: outcome_diagnostics,
        uses_helper: false,
        held_back: Vec::new(),
    })
}
