//! One code cell through the same rules as a .py file: IPython lines masked, the Python
//! rules run, the masked lines restored, and `!nvidia-smi` escapes given the shell rule.
//! Line numbers here are the cell's own (1-based); the caller maps them into the file.

use super::magics::{self, Cell};
use super::rule::NOTEBOOK_CUDA;
use crate::diagnostic::Diagnostic;
use crate::edit::{self, AppliedEdit};
use crate::findings::Findings;
use crate::options::RuleOptions;
use crate::python;
use crate::shell::nvidia_smi;
use crate::suppression::HeldBack;
use crate::text::SourceText;

#[derive(Debug, Default)]
pub struct CellOutcome {
    /// The new cell text, when it changed.
    pub output: Option<String>,
    pub edits: Vec<AppliedEdit>,
    pub diagnostics: Vec<Diagnostic>,
    /// Rewrites held back by suppression comments, at cell lines.
    pub held_back: Vec<HeldBack>,
}

pub fn migrate(
    text: &str,
    options: &RuleOptions,
    is_trigger: &impl Fn(&str) -> bool,
) -> CellOutcome {
    if !magics::can_mask(text) {
        return unparsed(text, is_trigger, "holds migrate's own mask comment");
    }
    if let Cell::Other(name) = magics::mask(text) {
        let why = format!("is a %%{name} cell, not Python, and is left as it is");
        return unparsed(text, is_trigger, &why);
    }
    // `%%time` must stay the first line, so its body is migrated on its own.
    let (header, body) = text.split_at(magics::header_len(text));
    let shift = usize::from(!header.is_empty());
    let mut result = migrate_body(body, options, is_trigger);
    for d in &mut result.diagnostics {
        d.line += shift;
    }
    for e in &mut result.edits {
        e.line_start += shift;
        e.line_end += shift;
    }
    for h in &mut result.held_back {
        h.line += shift;
    }
    result.output = result.output.map(|o| format!("{header}{o}"));
    result
}

fn migrate_body(
    text: &str,
    options: &RuleOptions,
    is_trigger: &impl Fn(&str) -> bool,
) -> CellOutcome {
    let Cell::Python(masked) = magics::mask(text) else {
        return unparsed(text, is_trigger, "holds a cell magic after its first line");
    };
    let outcome = match python::migrate(&SourceText::new(&masked.python), options) {
        Ok(outcome) => outcome,
        Err(err) => return unparsed(text, is_trigger, &format!("does not parse ({err})")),
    };
    let mut result = CellOutcome {
        edits: outcome.edits,
        diagnostics: outcome.diagnostics,
        held_back: outcome.held_back,
        output: None,
    };
    let migrated = outcome.output.map(|o| o.body);
    let (mut cell, escapes_at) = match &migrated {
        Some(body) => match magics::unmask(body, &masked.originals) {
            Ok(restored) => restored,
            // A rewrite touched a masked line: keep the cell and say so, never guess.
            Err(()) => {
                return unparsed(text, is_trigger, "could not be rewritten around its magics");
            }
        },
        None => (text.to_string(), masked.lines.clone()),
    };
    shell_escapes(&mut cell, &escapes_at, &masked.lines, options, &mut result);
    if cell != text {
        result.output = Some(cell);
    }
    result
}

/// `!nvidia-smi ...` runs in a shell, so it gets exactly the shell rule: a plain command
/// falls back to `npu-smi info`, anything more is reported (SH103).
fn shell_escapes(
    cell: &mut String,
    lines_at: &[usize],
    original_lines: &[usize],
    options: &RuleOptions,
    result: &mut CellOutcome,
) {
    let source = SourceText::new(cell);
    let mut fixes = Vec::new();
    for (k, line) in source
        .numbered_lines()
        .filter(|l| lines_at.contains(&l.number))
        .enumerate()
    {
        let indent = line.indent();
        let Some(command) = line.trimmed().strip_prefix('!') else {
            continue;
        };
        let command_line = crate::text::Line {
            text: command,
            offset: line.offset + indent.len() + 1,
            number: line.number,
            ends_with_newline: line.ends_with_newline,
        };
        let mut found = Findings::default();
        nvidia_smi::check(&command_line, options, &mut found);
        fixes.extend(found.fixes);
        for mut d in found.diagnostics {
            // Reported where the user sees it: the line in the cell as written.
            d.line = original_lines.get(k).copied().unwrap_or(line.number);
            d.column += indent.len() + 1;
            result.diagnostics.push(d);
        }
    }
    if fixes.is_empty() {
        return;
    }
    let (fixes, _) = edit::resolve_overlaps(fixes);
    result
        .edits
        .extend(fixes.iter().map(|f| edit::describe(&source, f)));
    *cell = edit::apply(&source.body, &fixes);
}

/// A cell the Python rules cannot read: each line with CUDA-specific text is reported, so
/// it still counts as work for a human, and the cell is left as it is.
fn unparsed(text: &str, is_trigger: &impl Fn(&str) -> bool, why: &str) -> CellOutcome {
    let diagnostics = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(_, line)| is_trigger(line))
        .map(|(i, _)| {
            Diagnostic::new(
                &NOTEBOOK_CUDA,
                i + 1,
                1,
                format!("CUDA-specific text in a cell that {why}"),
            )
        })
        .collect();
    CellOutcome {
        diagnostics,
        ..CellOutcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(t: &str) -> bool {
        t.contains("cuda") || t.contains("nvidia")
    }

    #[test]
    fn a_cell_with_magics_is_migrated_around_them() {
        let text = "%matplotlib inline\nimport torch\nx = torch.zeros(1).cuda()\n!nvidia-smi";
        let out = migrate(text, &RuleOptions::npu(), &trigger);
        assert_eq!(
            out.output.as_deref(),
            // The import goes before the cell's first statement, here the masked magic.
            Some(
                "import torch_npu\n%matplotlib inline\nimport torch\nx = torch.zeros(1).npu()\n!npu-smi info"
            )
        );
        let codes: Vec<_> = out.edits.iter().map(|e| e.rule.as_str()).collect();
        assert!(
            codes.contains(&"PY002") && codes.contains(&"SH002"),
            "{codes:?}"
        );
    }

    #[test]
    fn a_time_cell_keeps_its_magic_first_and_lines_count_from_it() {
        let out = migrate(
            "%%time\ny = x.cuda()\nimport sageattention\n",
            &RuleOptions::npu(),
            &trigger,
        );
        assert_eq!(
            out.output.as_deref(),
            Some("%%time\nimport torch_npu\ny = x.npu()\nimport sageattention\n")
        );
        let py101 = out
            .diagnostics
            .iter()
            .find(|d| d.code.as_str() == "PY101")
            .unwrap();
        assert_eq!(py101.line, 3);
    }

    #[test]
    fn a_piped_nvidia_smi_escape_is_reported_at_its_cell_line() {
        let out = migrate(
            "import os\n!nvidia-smi | grep MiB\n",
            &RuleOptions::default(),
            &trigger,
        );
        assert_eq!(out.output, None);
        let d = &out.diagnostics[0];
        assert_eq!((d.code.as_str(), d.line, d.column), ("SH103", 2, 2));
    }

    #[test]
    fn a_bash_cell_or_a_broken_cell_is_reported_not_rewritten() {
        let out = migrate("%%bash\nnvidia-smi\n", &RuleOptions::default(), &trigger);
        assert_eq!(out.output, None);
        assert_eq!(out.diagnostics[0].code.as_str(), "NB101");
        assert_eq!(out.diagnostics[0].line, 2);
        let out = migrate("x = (\ny.cuda()\n", &RuleOptions::default(), &trigger);
        assert_eq!(out.output, None);
        assert_eq!(out.diagnostics.len(), 1);
        assert!(out.diagnostics[0].message.contains("does not parse"));
    }
}
