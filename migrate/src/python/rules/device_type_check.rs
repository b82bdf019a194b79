//! Code that branches on CUDA (`x.is_cuda`, `x.device.type == "cuda"`, `"cuda" in
//! str(x.device)`) takes its CPU path on an NPU host, silently and slowly. Where the
//! receiver is a tensor or a device in practice, the test becomes the helper's
//! `is_accelerator(...)` (NPU style: `is_npu` / `"npu"`); as a guard, it is converted only
//! with the code it guards (guards.rs). Anything else is reported.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use crate::options::Style;
use crate::python::names::is_string;
use ruff_python_ast::{CmpOp, Expr, ExprAttribute, ExprCompare, ExprContext};
use ruff_text_size::{Ranged, TextRange};

pub(crate) static ACCELERATOR_CHECK: Entry = Entry {
    code: Code::PY014,
    name: "accelerator-check",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`x.is_cuda`, `x.device.type == \"cuda\"`, `\"cuda\" in str(x.device)` test for the accelerator",
    explanation: "These tests mean \"is this on the accelerator\" in practice; on an NPU host they are \
False and the code takes its CPU path. The helper's `is_accelerator(x)` is True for a tensor or \
device on the selected accelerator (NPU or CUDA) and False on the CPU, as the original is on a \
CPU-only host. A test that guards code still holding CUDA uses is kept (PY116); receivers that \
may not be tensors (`self.is_cuda`, a class that defines is_cuda) are reported (PY108).",
    fix: "Portable style: `device_utils.is_accelerator(x)`, `device_utils.is_accelerator(x.device)`, \
`not device_utils.is_accelerator(...)` for `!=` / `not in`. NPU style: `x.is_npu`, `\"npu\"`.",
    guide: "`x.is_cuda`, `x.device.type == \"cuda\"` (`!=`), `\"cuda\" in str(x.device)` (`not in`) \
-> `device_utils.is_accelerator(x)` / `(x.device)` (`x.is_npu`, `\"npu\"`)",
    severities: None,
};

pub(crate) static DEVICE_TYPE_CHECK: Entry = Entry {
    code: Code::PY108,
    name: "device-type-check",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A CUDA test whose receiver may not be a tensor or device",
    explanation: "Code that branches on CUDA takes its CPU path on an NPU host, silently and slowly. \
These tests were left as written: the receiver may be a user object (`self.is_cuda`, a class \
with its own is_cuda), a string (`device == \"cuda\"`), or the comparison is part of a chain.",
    fix: "Use `device_utils.is_accelerator(x)` or compare with `device_utils.DEVICE_TYPE`.",
    guide: "`device_utils.is_accelerator(x)` or compare with `device_utils.DEVICE_TYPE`",
    severities: None,
};

/// `x.device`, `device`, `dev`, `self.device`, `target_device`: holds a torch.device in
/// practice.
fn device_like(expr: &Expr) -> bool {
    match expr {
        Expr::Attribute(attr) => attr.attr.id.as_str() == "device",
        Expr::Name(name) => {
            let id = name.id.as_str().to_ascii_lowercase();
            id == "dev" || id.contains("device")
        }
        _ => false,
    }
}

/// A receiver whose text can be passed as an argument unchanged.
fn plain_receiver(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_) | Expr::Call(_)
    )
}

/// What a rewritable comparison tests: the device expression and whether it is negated.
struct DeviceCompare<'e> {
    device: &'e Expr,
    negated: bool,
    cuda_literal: &'e Expr,
}

fn device_compare(cmp: &ExprCompare) -> Option<DeviceCompare<'_>> {
    let ([op], [right]) = (&*cmp.ops, &*cmp.comparators) else {
        return None;
    };
    let left = cmp.left.as_ref();
    match op {
        CmpOp::Eq | CmpOp::NotEq => {
            let (other, literal) = if is_string(right, "cuda") {
                (left, right)
            } else if is_string(left, "cuda") {
                (right, left)
            } else {
                return None;
            };
            let Expr::Attribute(attr) = other else {
                return None;
            };
            (attr.attr.id.as_str() == "type" && device_like(&attr.value)).then_some(DeviceCompare {
                device: &attr.value,
                negated: *op == CmpOp::NotEq,
                cuda_literal: literal,
            })
        }
        CmpOp::In | CmpOp::NotIn if is_string(left, "cuda") => {
            let Expr::Call(call) = right else {
                return None;
            };
            let is_str = matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "str");
            let [arg] = &*call.arguments.args else {
                return None;
            };
            (is_str && call.arguments.keywords.is_empty() && device_like(arg)).then_some(
                DeviceCompare {
                    device: arg,
                    negated: *op == CmpOp::NotIn,
                    cuda_literal: left,
                },
            )
        }
        _ => None,
    }
}

impl Checker<'_> {
    fn is_cuda_rewritable(&self, attr: &ExprAttribute) -> bool {
        let receiver_is_self =
            matches!(attr.value.as_ref(), Expr::Name(n) if matches!(n.id.as_str(), "self" | "cls"));
        attr.ctx == ExprContext::Load
            && !receiver_is_self
            && !self.defines_is_cuda
            && plain_receiver(&attr.value)
    }

    /// The range of a device test this module rewrites (for the guard rule), if `expr` is one.
    pub fn accelerator_test(&self, expr: &Expr) -> Option<TextRange> {
        match expr {
            Expr::Attribute(attr)
                if attr.attr.id.as_str() == "is_cuda" && self.is_cuda_rewritable(attr) =>
            {
                Some(attr.range())
            }
            Expr::Compare(cmp) => device_compare(cmp).map(|_| cmp.range()),
            _ => None,
        }
    }

    /// `x.is_cuda`.
    pub fn is_cuda_attribute(&mut self, attr: &ExprAttribute) {
        if !self.is_cuda_rewritable(attr) {
            self.diag(
                &DEVICE_TYPE_CHECK,
                attr.range(),
                format!(
                    "{} is False for NPU tensors (left as written: the receiver may not be a tensor)",
                    self.text(attr)
                ),
            );
            return;
        }
        let receiver = self.text(attr.value.as_ref());
        let replacement = match self.opts.style {
            Style::Portable => format!("{}.is_accelerator({receiver})", self.opts.helper),
            Style::Npu => format!("{receiver}.is_npu"),
        };
        self.replace(&ACCELERATOR_CHECK, attr, replacement);
    }

    /// A comparison with "cuda" as a whole (`whole`); true when it was one.
    pub fn cuda_comparison(&mut self, cmp: &ExprCompare) -> bool {
        if let Some(test) = device_compare(cmp) {
            self.handled.insert(test.cuda_literal.start().to_usize());
            match self.opts.style {
                Style::Portable => {
                    let not = if test.negated { "not " } else { "" };
                    let device = self.text(test.device);
                    let replacement = format!("{not}{}.is_accelerator({device})", self.opts.helper);
                    self.replace(&ACCELERATOR_CHECK, cmp, replacement);
                }
                Style::Npu => {
                    let literal = self.text(test.cuda_literal).replace("cuda", "npu");
                    self.replace(&ACCELERATOR_CHECK, test.cuda_literal, literal);
                }
            }
            return true;
        }
        let operands: Vec<&Expr> = std::iter::once(cmp.left.as_ref())
            .chain(cmp.comparators.iter())
            .collect();
        let mut found = false;
        for (op, pair) in cmp.ops.iter().zip(operands.windows(2)) {
            if !matches!(op, CmpOp::Eq | CmpOp::NotEq | CmpOp::In | CmpOp::NotIn) {
                continue;
            }
            let Some(cuda_side) = pair.iter().find(|e| is_string(e, "cuda")) else {
                continue;
            };
            self.handled.insert(cuda_side.start().to_usize());
            found = true;
        }
        if found {
            self.diag(
                &DEVICE_TYPE_CHECK,
                cmp.range(),
                format!("`{}` is False on NPU", self.text(cmp)),
            );
        }
        found
    }
}
