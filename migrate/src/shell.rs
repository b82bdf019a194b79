//! Shell scripts, line by line: visible-devices variables and nvidia-smi. Comment lines are
//! never touched; anything not clearly a simple command becomes a diagnostic.

use crate::diagnostic::Diagnostic;
use crate::edit::Fix;
use crate::options::{RuleOptions, Style};
use crate::python::lint_visible_devices;
use crate::text::SourceText;

pub struct ShellFindings {
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
}

const CUDA_VAR: &str = "CUDA_VISIBLE_DEVICES";
const ASCEND_VAR: &str = "ASCEND_RT_VISIBLE_DEVICES";

pub fn collect(source: &SourceText, options: &RuleOptions) -> ShellFindings {
    let mut out = ShellFindings {
        fixes: Vec::new(),
        diagnostics: Vec::new(),
    };
    let already_ascend = source.body.contains(ASCEND_VAR);
    let mut offset = 0;
    for raw in source.body.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_no = source.line_of(offset);
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if !trimmed.starts_with('#') && !trimmed.is_empty() {
            visible_devices(
                line,
                offset,
                indent,
                already_ascend,
                options,
                line_no,
                source.newline,
                &mut out,
            );
            nvidia_smi(line, offset, indent, options, line_no, &mut out);
            if trimmed.contains("NCCL_")
                && (trimmed.starts_with("export ") || trimmed.starts_with("NCCL_"))
            {
                out.diagnostics.push(Diagnostic::new(
                    "SH102",
                    line_no,
                    indent.len() + 1,
                    format!("`{trimmed}` does not configure HCCL"),
                ));
            }
        }
        offset += raw.len();
    }
    out
}

/// The value of `CUDA_VISIBLE_DEVICES=value` starting at `at` in `line`, and its end.
fn assignment_value(line: &str, at: usize) -> (&str, usize) {
    let rest = &line[at + CUDA_VAR.len() + 1..];
    let len = if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
        rest[1..].find(q).map_or(rest.len(), |i| i + 2)
    } else {
        rest.find(char::is_whitespace).unwrap_or(rest.len())
    };
    (&rest[..len], at + CUDA_VAR.len() + 1 + len)
}

#[allow(clippy::too_many_arguments)]
fn visible_devices(
    line: &str,
    offset: usize,
    indent: &str,
    already_ascend: bool,
    options: &RuleOptions,
    line_no: usize,
    newline: &str,
    out: &mut ShellFindings,
) {
    let Some(at) = line.find(&format!("{CUDA_VAR}=")) else {
        return;
    };
    // Only an assignment at the start of a command: `export X=..`, `X=.. cmd`.
    let before = line[..at].trim();
    if !(before.is_empty() || before == "export") {
        return;
    }
    let (value, value_end) = assignment_value(line, at);
    lint_visible_devices(value.trim_matches(['"', '\'']), |msg| {
        out.diagnostics
            .push(Diagnostic::new("SH101", line_no, at + 1, msg));
    });
    if already_ascend {
        return;
    }
    if options.style == Style::Npu {
        let start = offset + at;
        out.fixes.push(Fix::single(
            "SH001",
            start,
            start + CUDA_VAR.len(),
            ASCEND_VAR,
        ));
        return;
    }
    let is_export = before == "export" || line[value_end..].trim().is_empty();
    if is_export {
        let end = offset + line.len();
        let prefix = if before == "export" { "export " } else { "" };
        let text = format!("{newline}{indent}{prefix}{ASCEND_VAR}=\"${CUDA_VAR}\"");
        out.fixes.push(Fix::new(
            "SH001",
            vec![crate::edit::Edit::insert(end, text)],
        ));
    } else {
        out.fixes.push(Fix::new(
            "SH001",
            vec![crate::edit::Edit::insert(
                offset + value_end,
                format!(" {ASCEND_VAR}={value}"),
            )],
        ));
    }
}

fn nvidia_smi(
    line: &str,
    offset: usize,
    indent: &str,
    options: &RuleOptions,
    line_no: usize,
    out: &mut ShellFindings,
) {
    let Some(col) = line.find("nvidia-smi") else {
        return;
    };
    if line.contains("command -v npu-smi") {
        return; // already migrated
    }
    let trimmed = line.trim_start();
    let simple = trimmed.starts_with("nvidia-smi")
        && !trimmed.contains(['|', ';', '`', '>', '<', '&'])
        && !trimmed.contains("$(")
        && !trimmed.ends_with('\\');
    if !simple {
        out.diagnostics.push(Diagnostic::new(
            "SH103",
            line_no,
            col + 1,
            format!("`{trimmed}`"),
        ));
        return;
    }
    let replacement = match options.style {
        Style::Npu => format!("{indent}npu-smi info"),
        Style::Portable => {
            format!(
                "{indent}if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else {trimmed}; fi"
            )
        }
    };
    out.fixes.push(Fix::single(
        "SH002",
        offset,
        offset + line.len(),
        replacement,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit;

    fn run(text: &str, options: &RuleOptions) -> (String, Vec<&'static str>) {
        let source = SourceText::new(text);
        let found = collect(&source, options);
        let (fixes, _) = edit::resolve_overlaps(found.fixes);
        (
            edit::apply(&source.body, &fixes),
            found.diagnostics.iter().map(|d| d.code).collect(),
        )
    }

    #[test]
    fn export_gains_the_ascend_variable_once() {
        let (out, diags) = run(
            "export CUDA_VISIBLE_DEVICES=0,1\npython a.py\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "export CUDA_VISIBLE_DEVICES=0,1\nexport ASCEND_RT_VISIBLE_DEVICES=\"$CUDA_VISIBLE_DEVICES\"\npython a.py\n"
        );
        assert!(diags.is_empty());
        assert_eq!(
            run(&out, &RuleOptions::default()).0,
            out,
            "second run changes nothing"
        );
    }

    #[test]
    fn command_prefix_gets_the_same_value() {
        let (out, _) = run(
            "CUDA_VISIBLE_DEVICES=2 python a.py\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "CUDA_VISIBLE_DEVICES=2 ASCEND_RT_VISIBLE_DEVICES=2 python a.py\n"
        );
    }

    #[test]
    fn npu_style_renames_and_comments_stay() {
        let text =
            "# CUDA_VISIBLE_DEVICES=0 nvidia-smi\nexport CUDA_VISIBLE_DEVICES=3,1\nnvidia-smi\n";
        let (out, diags) = run(text, &RuleOptions::npu());
        assert_eq!(
            out,
            "# CUDA_VISIBLE_DEVICES=0 nvidia-smi\nexport ASCEND_RT_VISIBLE_DEVICES=3,1\nnpu-smi info\n"
        );
        assert_eq!(diags, vec!["SH101"]);
    }

    #[test]
    fn nvidia_smi_falls_back_and_pipelines_are_reported() {
        let (out, diags) = run(
            "  nvidia-smi -L\nnvidia-smi | grep MiB\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "  if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else nvidia-smi -L; fi\nnvidia-smi | grep MiB\n"
        );
        assert_eq!(diags, vec!["SH103"]);
        let (again, diags) = run(&out, &RuleOptions::default());
        assert_eq!(again, out);
        assert_eq!(diags, vec!["SH103"]);
    }

    #[test]
    fn crlf_scripts_keep_crlf() {
        let (out, _) = run(
            "export CUDA_VISIBLE_DEVICES=0\r\necho hi\r\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "export CUDA_VISIBLE_DEVICES=0\r\nexport ASCEND_RT_VISIBLE_DEVICES=\"$CUDA_VISIBLE_DEVICES\"\r\necho hi\r\n"
        );
    }
}
