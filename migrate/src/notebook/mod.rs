//! Jupyter notebooks (.ipynb): code cells are migrated with the Python rules, as a .py file
//! is. The notebook's JSON is never re-serialised: each changed cell's `source` value is
//! replaced in place (see `json_spans`), so outputs, metadata, key order and indentation
//! keep their bytes and the patch shows only the lines that changed. Findings are reported
//! at the notebook line that holds the cell line, with the cell named in the message.

mod cell;
mod json_spans;
mod json_string;
mod magics;
pub(crate) mod rule;
mod source_layout;

use crate::diagnostic::Diagnostic;
use crate::edit::{self, AppliedEdit, Fix};
use crate::options::RuleOptions;
use crate::suppression::HeldBack;
use crate::text::SourceText;
use json_spans::{SourceSpan, StringToken};

#[derive(Debug, Default)]
pub struct NotebookOutcome {
    /// The rewritten notebook text (body, without a BOM), when a cell changed.
    pub output: Option<String>,
    pub edits: Vec<AppliedEdit>,
    pub diagnostics: Vec<Diagnostic>,
    /// Rewrites held back by suppression comments, at notebook lines.
    pub held_back: Vec<HeldBack>,
}

/// Migrates a notebook's code cells, or says why the file is not a notebook it can read.
pub fn migrate(
    raw: &str,
    options: &RuleOptions,
    is_trigger: impl Fn(&str) -> bool,
) -> Result<NotebookOutcome, String> {
    let parsed: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("not a notebook (invalid JSON: {e})"))?;
    if !parsed.get("cells").is_some_and(|c| c.is_array()) {
        return Err("not a notebook (no \"cells\" list)".to_string());
    }
    let cells = json_spans::cells(raw)?;
    let lines = SourceText::new(raw);
    let style = json_string::Style::of(raw);
    let mut out = NotebookOutcome::default();
    let mut fixes = Vec::new();
    let mut expected_sources = Vec::new();
    let code_cells = cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.cell_type.as_deref() == Some("code"));
    for (number, (index, cell)) in code_cells.enumerate() {
        let Some(span) = &cell.source else { continue };
        let text = span_text(span);
        if !is_trigger(&text) {
            continue;
        }
        let found = cell::migrate(&text, options, &is_trigger);
        let place = Placement::new(span, &lines);
        let label = format!("code cell {}", number + 1);
        for mut d in found.diagnostics {
            d.message = format!("{label}, line {}: {}", d.line, d.message);
            d.line = place.file_line(d.line);
            d.column = place.column;
            out.diagnostics.push(d);
        }
        for mut h in found.held_back {
            h.line = place.file_line(h.line);
            out.held_back.push(h);
        }
        for mut e in found.edits {
            e.line_start = place.file_line(e.line_start);
            e.line_end = place.file_line(e.line_end);
            out.edits.push(e);
        }
        if let Some(new_text) = found.output {
            let edit = source_layout::rewrite(raw, span, &new_text, style);
            fixes.push(Fix::new(rule::NOTEBOOK_CUDA.code, vec![edit]));
            expected_sources.push((index, new_text, matches!(span, SourceSpan::Text(_))));
        }
    }
    if !fixes.is_empty() {
        let output = edit::apply(raw, &fixes);
        check_only_sources_changed(&parsed, &output, &expected_sources)?;
        out.output = Some(output);
    }
    Ok(out)
}

/// A cell's source as one text (nbformat's lines joined).
fn span_text(span: &SourceSpan) -> String {
    match span {
        SourceSpan::Text(t) => t.value.clone(),
        SourceSpan::Lines { items, .. } => items.iter().map(|t| t.value.as_str()).collect(),
    }
}

/// Where a cell's lines are in the notebook's text.
struct Placement {
    /// For each cell line (0-based), the 1-based notebook line of the string holding it.
    lines: Vec<usize>,
    /// The column of the cell's first string, which diagnostics point at.
    column: usize,
}

impl Placement {
    fn new(span: &SourceSpan, file: &SourceText) -> Self {
        let tokens: Vec<&StringToken> = match span {
            SourceSpan::Text(t) => vec![t],
            SourceSpan::Lines { items, .. } => items.iter().collect(),
        };
        // A cell line starts in the item that holds its first character (items are lines
        // as Jupyter writes them, but a hand-made file may split them differently).
        let mut lines = Vec::new();
        let mut at_line_start = true;
        for token in &tokens {
            let file_line = file.line_of(token.start);
            for c in token.value.chars() {
                if at_line_start {
                    lines.push(file_line);
                }
                at_line_start = c == '\n';
            }
        }
        let column = tokens.first().map_or(1, |t| file.column_of(t.start));
        Placement { lines, column }
    }

    fn file_line(&self, cell_line: usize) -> usize {
        let last = self.lines.last().copied().unwrap_or(1);
        self.lines
            .get(cell_line.saturating_sub(1))
            .copied()
            .unwrap_or(last)
    }
}

/// The rewrite is held to what it promises: parsed again, the notebook equals the original
/// with only the changed cells' sources replaced (as the same kind of value). Anything else
/// is a bug, and the notebook is left unchanged rather than written.
fn check_only_sources_changed(
    original: &serde_json::Value,
    output: &str,
    changed: &[(usize, String, bool)],
) -> Result<(), String> {
    let mut expected = original.clone();
    for (index, text, is_string) in changed {
        let value = if *is_string {
            serde_json::Value::String(text.clone())
        } else {
            serde_json::Value::Array(
                text.split_inclusive('\n')
                    .map(|l| serde_json::Value::String(l.to_string()))
                    .collect(),
            )
        };
        if let Some(cell) = expected
            .get_mut("cells")
            .and_then(|c| c.get_mut(*index))
            .and_then(|c| c.as_object_mut())
        {
            cell.insert("source".to_string(), value);
        }
    }
    let actual: serde_json::Value = serde_json::from_str(output).map_err(|e| {
        format!("rewriting the notebook produced invalid JSON ({e}); left unchanged")
    })?;
    if actual != expected {
        return Err(
            "rewriting the notebook would change more than cell sources; left unchanged"
                .to_string(),
        );
    }
    Ok(())
}
