//! `nvidia-smi` is missing on Ascend hosts, so a script with `set -e` stops there: a line
//! that is only that command falls back to `npu-smi info`; anything more is reported.

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::Fix;
use crate::findings::Findings;
use crate::options::{RuleOptions, Style};
use crate::text::Line;

pub(crate) static NVIDIA_SMI: Entry = Entry {
    code: Code::SH002,
    name: "nvidia-smi",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`nvidia-smi` commands fall back to `npu-smi info` where it exists",
    explanation: "nvidia-smi is missing on Ascend hosts, so a script with `set -e` stops there.",
    fix: "The line becomes `if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else ...; fi` \
(NPU style: `npu-smi info`).",
    guide: "a line whose command is `nvidia-smi` -> `npu-smi info` when it exists, else the \
original command (`npu-smi info`)",
    severities: None,
};

pub(crate) static NVIDIA_SMI_INLINE: Entry = Entry {
    code: Code::SH103,
    name: "nvidia-smi-inline",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "nvidia-smi inside a pipeline or substitution is left as it is",
    explanation: "The tool only rewrites lines where nvidia-smi is the command itself.",
    fix: "Use `npu-smi info` (or `npu-smi info -t usages`) on Ascend hosts.",
    guide: "use `npu-smi info` inside pipelines and substitutions by hand",
    severities: None,
};

pub fn check(line: &Line, options: &RuleOptions, out: &mut Findings) {
    let text = line.text;
    let Some(col) = text.find("nvidia-smi") else {
        return;
    };
    if text.contains("command -v npu-smi") {
        return; // already migrated
    }
    let trimmed = line.trimmed();
    let simple = trimmed.starts_with("nvidia-smi")
        && !trimmed.contains(['|', ';', '`', '>', '<', '&'])
        && !trimmed.contains("$(")
        && !trimmed.ends_with('\\');
    if !simple {
        out.diagnostics.push(Diagnostic::new(
            &NVIDIA_SMI_INLINE,
            line.number,
            col + 1,
            format!("`{trimmed}`"),
        ));
        return;
    }
    let indent = line.indent();
    let replacement = match options.style {
        Style::Npu => format!("{indent}npu-smi info"),
        Style::Portable => {
            format!(
                "{indent}if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else {trimmed}; fi"
            )
        }
    };
    out.fixes.push(Fix::single(
        NVIDIA_SMI.code,
        line.offset,
        line.end(),
        replacement,
    ));
}
