//! Multi-device training: NCCL exists only on NVIDIA GPUs (Ascend's collective library is
//! HCCL, CPU runs use gloo), and torch_npu has no single-process DataParallel.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use crate::python::names::is_string;
use ruff_python_ast::{Arguments, CmpOp, Expr, ExprCall, ExprIf};
use ruff_text_size::{Ranged, TextRange};

pub(crate) static DIST_BACKEND: Entry = Entry {
    code: Code::PY007,
    name: "dist-backend",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "The \"nccl\" process-group backend becomes the backend of the selected device",
    explanation: "NCCL exists only on NVIDIA GPUs; Ascend's collective library is HCCL and CPU runs use gloo.",
    fix: "Portable style: `device_utils.DIST_BACKEND` (hccl / nccl / gloo). NPU style: \"hccl\".",
    guide: "`\"nccl\"` in `init_process_group` / `new_group` / `backend=` or as a branch of a \
conditional expression -> `device_utils.DIST_BACKEND` (`\"hccl\"`); `init_device_mesh(\"cuda\", ...)` \
-> `device_utils.DEVICE_TYPE`",
    severities: None,
};

pub(crate) static DATA_PARALLEL: Entry = Entry {
    code: Code::PY109,
    name: "data-parallel",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "torch.nn.DataParallel is not supported on NPU",
    explanation: "torch_npu does not implement single-process multi-device DataParallel.",
    fix: "Use DistributedDataParallel with one process per device (torchrun) and the hccl backend.",
    guide: "DistributedDataParallel with one process per device (torchrun) and hccl",
    severities: None,
};

pub(crate) static NCCL_SPECIFIC: Entry = Entry {
    code: Code::PY111,
    name: "nccl-specific",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "NCCL-specific checks and NCCL_* settings do not apply on NPU",
    explanation: "`backend == \"nccl\"`, `dist.is_nccl_available()` and NCCL_* environment variables \
configure NVIDIA's collective library only.",
    fix: "Compare with `device_utils.DIST_BACKEND`; the HCCL equivalents are HCCL_* variables \
(e.g. HCCL_CONNECT_TIMEOUT, HCCL_BUFFSIZE).",
    guide: "compare with `device_utils.DIST_BACKEND`; HCCL_* variables replace NCCL_*",
    severities: None,
};

impl Checker<'_> {
    /// `init_process_group("nccl")`, `new_group(..., "nccl")`'s first argument.
    pub fn process_group_call(&mut self, args: &Arguments) {
        if let Some(first) = args.args.first() {
            self.rewrite_backend(first);
        }
    }

    /// `init_device_mesh("cuda", (n,))`: the mesh's device type is the selected device's
    /// ("cpu" on a host without an accelerator, where the mesh runs on gloo).
    pub fn device_mesh_call(&mut self, args: &Arguments) {
        if let Some(first) = args.args.first()
            && is_string(first, "cuda")
        {
            self.handled.insert(first.start().to_usize());
            let replacement = self.opts.device_type();
            self.replace(&DIST_BACKEND, first, replacement);
        }
    }

    /// "nccl" given as a backend (positionally or as `backend=`).
    pub fn rewrite_backend(&mut self, expr: &Expr) {
        if is_string(expr, "nccl") {
            let replacement = self.opts.dist_backend();
            self.replace(&DIST_BACKEND, expr, replacement);
        }
    }

    /// `"nccl" if ... else "gloo"`: the NCCL branch becomes the selected device's backend,
    /// which is gloo wherever NCCL is not there, so every branch keeps its meaning.
    pub fn backend_ternary(&mut self, ternary: &ExprIf) {
        for branch in [&ternary.body, &ternary.orelse] {
            self.rewrite_backend(branch);
        }
    }

    pub fn data_parallel_call(&mut self, call: &ExprCall) {
        self.diag(
            &DATA_PARALLEL,
            call.range(),
            "torch.nn.DataParallel is not supported by torch_npu",
        );
    }

    pub fn is_nccl_available_call(&mut self, call: &ExprCall) {
        self.diag(
            &NCCL_SPECIFIC,
            call.range(),
            "is_nccl_available() is False on NPU hosts",
        );
    }

    /// `backend == "nccl"` (one comparison of a chain, `a` and `b` its operands).
    pub fn nccl_comparison(&mut self, op: CmpOp, a: &Expr, b: &Expr, whole: TextRange) {
        let nccl_side = is_string(a, "nccl") || is_string(b, "nccl");
        if matches!(op, CmpOp::Eq | CmpOp::NotEq) && nccl_side {
            self.diag(
                &NCCL_SPECIFIC,
                whole,
                format!("`{}` assumes the NCCL backend", self.text(&whole)),
            );
        }
    }
}
