//! Code that branches on CUDA (`x.is_cuda`, `device.type == "cuda"`, `"cuda" in
//! str(device)`) takes its CPU path on an NPU host, silently and slowly.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use crate::python::names::is_string;
use ruff_python_ast::{CmpOp, Expr, ExprAttribute};
use ruff_text_size::{Ranged, TextRange};

pub(crate) static DEVICE_TYPE_CHECK: Entry = Entry {
    code: Code::PY108,
    name: "device-type-check",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "`x.is_cuda`, `device.type == \"cuda\"` and `\"cuda\" in str(device)` are False on NPU",
    explanation: "Code that branches on CUDA takes its CPU path on an NPU host, silently and slowly.",
    fix: "Use `device_utils.is_accelerator(x)` or compare with `device_utils.DEVICE_TYPE`.",
    guide: "`device_utils.is_accelerator(x)` or compare with `device_utils.DEVICE_TYPE`",
    severities: None,
};

impl Checker<'_> {
    /// `x.is_cuda`.
    pub fn is_cuda_attribute(&mut self, attr: &ExprAttribute) {
        self.diag(
            &DEVICE_TYPE_CHECK,
            attr.range(),
            format!("{} is False for NPU tensors", self.text(attr)),
        );
    }

    /// `x == "cuda"`, `"cuda" in s` (one comparison of a chain, `a` and `b` its operands);
    /// true when it was one.
    pub fn cuda_comparison(&mut self, op: CmpOp, a: &Expr, b: &Expr, whole: TextRange) -> bool {
        if !matches!(op, CmpOp::Eq | CmpOp::NotEq | CmpOp::In | CmpOp::NotIn) {
            return false;
        }
        let Some(cuda_side) = [a, b].into_iter().find(|e| is_string(e, "cuda")) else {
            return false;
        };
        self.handled.insert(cuda_side.start().to_usize());
        self.diag(
            &DEVICE_TYPE_CHECK,
            whole,
            format!("`{}` is False on NPU", self.text(&whole)),
        );
        true
    }
}
