//! `os.environ[...] = ...` in Python: CUDA_VISIBLE_DEVICES is not read by Ascend's runtime,
//! so the value is copied into ASCEND_RT_VISIBLE_DEVICES (the key is renamed in NPU style);
//! NCCL_* keys configure nothing there.

use super::checker::{Checker, span};
use super::distributed::NCCL_SPECIFIC;
use crate::code::{Code, Entry, Kind, Severity};
use crate::edit::Edit;
use crate::options::Style;
use crate::python::names::is_string;
use crate::visible_devices_order::{VISIBLE_DEVICES_ORDER, lint_visible_devices};
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

pub(crate) static VISIBLE_DEVICES_ENV: Entry = Entry {
    code: Code::PY010,
    name: "visible-devices-env",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`os.environ[\"CUDA_VISIBLE_DEVICES\"] = ...` also sets ASCEND_RT_VISIBLE_DEVICES",
    explanation: "Ascend's runtime ignores CUDA_VISIBLE_DEVICES; it reads ASCEND_RT_VISIBLE_DEVICES, \
whose ids must be ascending and which stops silently at the first invalid id.",
    fix: "A following statement copies the value into ASCEND_RT_VISIBLE_DEVICES \
(NPU style: the key is renamed).",
    guide: "`os.environ[\"CUDA_VISIBLE_DEVICES\"] = v` gains \
`os.environ[\"ASCEND_RT_VISIBLE_DEVICES\"] = ...` on the next line (key renamed)",
    severities: None,
};

impl Checker<'_> {
    /// `os.environ[key] = value` as the statement `stmt`.
    pub fn environ_assignment(&mut self, key: &Expr, value: &Expr, stmt: &Stmt) {
        if is_string(key, "CUDA_VISIBLE_DEVICES") {
            self.visible_devices_assignment(key, value, stmt);
        } else if let Expr::StringLiteral(k) = key
            && k.value.to_str().starts_with("NCCL_")
        {
            self.diag(
                &NCCL_SPECIFIC,
                key.range(),
                format!("{} does not configure HCCL", k.value.to_str()),
            );
        }
    }

    fn visible_devices_assignment(&mut self, key: &Expr, value: &Expr, stmt: &Stmt) {
        if let Expr::StringLiteral(v) = value {
            lint_visible_devices(v.value.to_str(), |msg| {
                self.diag(&VISIBLE_DEVICES_ORDER, value.range(), msg);
            });
        }
        // Checked only here: most files never assign CUDA_VISIBLE_DEVICES.
        if self.src.body.contains("ASCEND_RT_VISIBLE_DEVICES") {
            return;
        }
        match self.opts.style {
            Style::Npu => {
                let replacement =
                    self.text(key)
                        .replacen("CUDA_VISIBLE_DEVICES", "ASCEND_RT_VISIBLE_DEVICES", 1);
                self.replace(&VISIBLE_DEVICES_ENV, key, replacement);
            }
            Style::Portable => {
                let (_, stmt_end) = span(stmt);
                let (line_start, end) = self.src.line_span(stmt.start().to_usize(), stmt_end);
                let indent: String = self.src.body[line_start..]
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                let quote = if self.text(key).starts_with('\'') {
                    "'"
                } else {
                    "\""
                };
                let line = format!(
                    "{nl}{indent}os.environ[{q}ASCEND_RT_VISIBLE_DEVICES{q}] = os.environ[{q}CUDA_VISIBLE_DEVICES{q}]",
                    nl = self.src.newline,
                    q = quote
                );
                self.edit(&VISIBLE_DEVICES_ENV, vec![Edit::insert(end, line)]);
            }
        }
    }
}
