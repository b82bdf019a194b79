//! Jupyter notebooks (.ipynb): reported, not rewritten. Each code cell is run through the
//! Python rules to find its CUDA references, and each becomes a warning at the notebook
//! line that holds it, so a notebook full of `.cuda()` counts as work for a human instead
//! of "0 of 0 converted (100%)". Rewriting would mean re-serialising the notebook's JSON,
//! which migrate does not do.

use crate::diagnostic::Diagnostic;
use crate::options::RuleOptions;
use crate::python;
use crate::text::SourceText;

pub(crate) mod rule;
use rule::NOTEBOOK_CUDA;

/// The notebook's findings, or why it could not be read as a notebook.
pub fn collect(
    raw: &str,
    options: &RuleOptions,
    is_trigger: impl Fn(&str) -> bool,
) -> Result<Vec<Diagnostic>, String> {
    let notebook: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("not a notebook (invalid JSON: {e})"))?;
    let cells = notebook
        .get("cells")
        .and_then(|c| c.as_array())
        .ok_or("not a notebook (no \"cells\" list)")?;
    let mut locator = Locator { raw, cursor: 0 };
    let mut out = Vec::new();
    let code_cells = cells
        .iter()
        .filter(|c| c.get("cell_type").and_then(|t| t.as_str()) == Some("code"));
    for (index, cell) in code_cells.enumerate() {
        let lines = source_lines(cell);
        let text: String = lines.concat();
        if !is_trigger(&text) {
            continue;
        }
        for (line, what) in findings(&text, options, &is_trigger) {
            let line_text = lines.get(line - 1).map_or("", String::as_str);
            let at = locator.line_of(line_text);
            let message = format!(
                "code cell {}, line {line}: {what}; notebooks are reported, not rewritten",
                index + 1
            );
            out.push(Diagnostic::new(&NOTEBOOK_CUDA, at, 1, message));
        }
    }
    Ok(out)
}

/// A cell's source as its lines, each with its line break (nbformat keeps a list of those,
/// or one string).
fn source_lines(cell: &serde_json::Value) -> Vec<String> {
    match cell.get("source") {
        Some(serde_json::Value::String(s)) => s.split_inclusive('\n').map(String::from).collect(),
        Some(serde_json::Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.as_str())
            .flat_map(|s| s.split_inclusive('\n'))
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// (1-based cell line, what the rules would do there) for one cell.
fn findings(
    text: &str,
    options: &RuleOptions,
    is_trigger: &impl Fn(&str) -> bool,
) -> Vec<(usize, String)> {
    // IPython magics and shell escapes are not Python; `pass` keeps lines and indentation.
    let python: String = text
        .split_inclusive('\n')
        .map(|line| {
            let body = line.trim_start();
            if body.starts_with(['%', '!']) {
                let indent = &line[..line.len() - body.len()];
                let newline = if line.ends_with('\n') { "\n" } else { "" };
                format!("{indent}pass{newline}")
            } else {
                line.to_string()
            }
        })
        .collect();
    match python::migrate(&SourceText::new(&python), options) {
        Ok(outcome) => {
            let edits = outcome
                .edits
                .iter()
                .filter(|e| e.rule != python::imports::HELPER_IMPORT.code)
                .map(|e| {
                    let name = crate::catalog::entry(e.rule).name;
                    (e.line_start, format!("{} {name} would rewrite it", e.rule))
                });
            let diagnostics = outcome
                .diagnostics
                .iter()
                .map(|d| (d.line, format!("{} {}", d.code, d.message)));
            let mut all: Vec<_> = edits.chain(diagnostics).collect();
            all.sort();
            all
        }
        // A cell that does not parse (or is too deep): every line with CUDA text counts.
        Err(_) => text
            .split_inclusive('\n')
            .enumerate()
            .filter(|(_, line)| is_trigger(line))
            .map(|(i, _)| (i + 1, "CUDA-specific text".to_string()))
            .collect(),
    }
}

/// Finds cell lines in the notebook's text, in order, for the line numbers diagnostics show.
struct Locator<'a> {
    raw: &'a str,
    cursor: usize,
}

impl Locator<'_> {
    fn line_of(&mut self, cell_line: &str) -> usize {
        let encoded = serde_json::to_string(cell_line).unwrap_or_default();
        let needle = encoded.trim_end_matches('"');
        if let Some(found) = self.raw[self.cursor..]
            .find(needle)
            .filter(|_| needle.len() > 1)
        {
            self.cursor += found;
        }
        self.raw[..self.cursor].matches('\n').count() + 1
    }
}
