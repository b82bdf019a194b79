//! Hard-coded torch.bfloat16: Ascend 910A and 310P (and pre-Ampere GPUs) have no bf16
//! compute. Reported once per file, at the first use, with the count.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::ExprAttribute;
use ruff_text_size::Ranged;

pub(crate) static HARD_CODED_BF16: Entry = Entry {
    code: Code::PY114,
    name: "hard-coded-bf16",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "torch.bfloat16 is hard-coded",
    explanation: "Ascend 910A and 310P (and pre-Ampere GPUs) have no bfloat16 compute; a script that \
always asks for bf16 fails or crawls there. fp16 has also produced black images on NPU for \
some DiT models, so the choice should stay overridable.",
    fix: "Use `device_utils.DTYPE`, the best dtype the selected device supports \
(PREFERRED_DTYPE=f32|f16|bf16 overrides it), where bf16 is a speed choice.",
    guide: "`device_utils.DTYPE` where bf16 is a speed choice: 910A / 310P have no bf16",
    severities: None,
};

impl Checker<'_> {
    /// Remembers a `torch.bfloat16` for the end-of-file report.
    pub fn bf16_use(&mut self, attr: &ExprAttribute) {
        self.bf16_uses.push(attr.range());
    }

    /// The one PY114 diagnostic for the file, after the walk.
    pub fn report_bf16(&mut self) {
        let Some(first) = self.bf16_uses.first().copied() else {
            return;
        };
        let n = self.bf16_uses.len();
        let helper = &self.opts.helper;
        let fix = format!(
            "Ascend 910A and 310P have no bf16: use `{helper}.DTYPE` (the device's best dtype, \
PREFERRED_DTYPE to override) where bf16 is a speed choice rather than a requirement."
        );
        self.diag(
            &HARD_CODED_BF16,
            first,
            format!("torch.bfloat16 is hard-coded {n} time(s) in this file"),
        )
        .set_fix(fix);
    }
}
