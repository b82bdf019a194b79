//! torch reads a bare integer device as a CUDA index, so `.to(local_rank)` still means
//! `cuda:<local_rank>` on an NPU host: integer literals and names that are clearly device
//! indices become explicit devices.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use crate::python::names::looks_like_device_index;
use ruff_python_ast::Expr;

pub(crate) static INTEGER_DEVICE_INDEX: Entry = Entry {
    code: Code::PY009,
    name: "integer-device-index",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`.to(0)` / `.to(local_rank)` integer device indices become explicit devices",
    explanation: "torch reads a bare integer device as a CUDA index, so `.to(local_rank)` still means \
`cuda:<local_rank>` on an NPU host. Integer literals and names that are clearly ranks or \
device ids (`local_rank`, `rank`, `gpu`, `gpu_id`, `device_id`) are rewritten.",
    fix: "Portable style: `.to(device_utils.device(i))`. NPU style: `.to(f\"npu:{i}\")`.",
    guide: "`.to(0)`, `.to(local_rank)`, `.to(args.gpu)`, `device=local_rank` -> \
`device_utils.device(i)`: torch reads a bare integer as a CUDA index",
    severities: None,
};

impl Checker<'_> {
    /// The first argument of `x.to(...)`, when it is not a device string.
    pub fn integer_device_index(&mut self, first: &Expr) {
        if looks_like_device_index(first) {
            let replacement = self.opts.device_with_index(self.text(first));
            self.replace(&INTEGER_DEVICE_INDEX, first, replacement);
        }
    }
}
