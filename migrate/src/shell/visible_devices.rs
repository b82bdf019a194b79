//! `CUDA_VISIBLE_DEVICES=...` in a script: Ascend's runtime reads
//! ASCEND_RT_VISIBLE_DEVICES, so the same value is exported under that name too (renamed
//! in NPU style).

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::{Edit, Fix};
use crate::findings::Findings;
use crate::options::{RuleOptions, Style};
use crate::text::{Line, SourceText};
use crate::visible_devices_order::{VISIBLE_DEVICES_ORDER, lint_visible_devices};

pub(crate) static VISIBLE_DEVICES: Entry = Entry {
    code: Code::SH001,
    name: "visible-devices",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "CUDA_VISIBLE_DEVICES in shell also sets ASCEND_RT_VISIBLE_DEVICES",
    explanation: "Ascend's runtime reads ASCEND_RT_VISIBLE_DEVICES, not CUDA_VISIBLE_DEVICES.",
    fix: "An `export CUDA_VISIBLE_DEVICES=...` line is followed by \
`export ASCEND_RT_VISIBLE_DEVICES=\"$CUDA_VISIBLE_DEVICES\"`; a one-command prefix gains the \
same assignment. NPU style renames the variable.",
    guide: "`export CUDA_VISIBLE_DEVICES=...` gains an `ASCEND_RT_VISIBLE_DEVICES` export; \
`CUDA_VISIBLE_DEVICES=0 cmd` gains the same prefix (renamed)",
    severities: None,
};

const CUDA_VAR: &str = "CUDA_VISIBLE_DEVICES";
const ASCEND_VAR: &str = "ASCEND_RT_VISIBLE_DEVICES";

/// A script that mentions the Ascend variable anywhere has been migrated (or set up by
/// hand) already: nothing is added.
pub fn already_set(source: &SourceText) -> bool {
    source.body.contains(ASCEND_VAR)
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

pub fn check(
    line: &Line,
    already_ascend: bool,
    options: &RuleOptions,
    newline: &str,
    out: &mut Findings,
) {
    let text = line.text;
    let Some(at) = text.find(&format!("{CUDA_VAR}=")) else {
        return;
    };
    // Only an assignment at the start of a command: `export X=..`, `X=.. cmd`.
    let before = text[..at].trim();
    if !(before.is_empty() || before == "export") {
        return;
    }
    let (value, value_end) = assignment_value(text, at);
    lint_visible_devices(value.trim_matches(['"', '\'']), |msg| {
        out.diagnostics.push(Diagnostic::new(
            &VISIBLE_DEVICES_ORDER,
            line.number,
            at + 1,
            msg,
        ));
    });
    if already_ascend {
        return;
    }
    let code = VISIBLE_DEVICES.code;
    if options.style == Style::Npu {
        let start = line.offset + at;
        out.fixes
            .push(Fix::single(code, start, start + CUDA_VAR.len(), ASCEND_VAR));
        return;
    }
    let is_export = before == "export" || text[value_end..].trim().is_empty();
    if is_export {
        let prefix = if before == "export" { "export " } else { "" };
        let indent = line.indent();
        let added = format!("{newline}{indent}{prefix}{ASCEND_VAR}=\"${CUDA_VAR}\"");
        out.fixes
            .push(Fix::new(code, vec![Edit::insert(line.end(), added)]));
    } else {
        out.fixes.push(Fix::new(
            code,
            vec![Edit::insert(
                line.offset + value_end,
                format!(" {ASCEND_VAR}={value}"),
            )],
        ));
    }
}
