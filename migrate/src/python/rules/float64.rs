//! Ascend NPUs do not compute in float64: a float64 tensor made or converted on the
//! accelerator fails or falls back to the CPU.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use crate::python::names::{is_float64, is_string};
use ruff_python_ast::ExprCall;
use ruff_text_size::Ranged;

pub(crate) static FLOAT64_ON_DEVICE: Entry = Entry {
    code: Code::PY106,
    name: "float64-on-device",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "float64 tensors on the accelerator: the NPU has no float64 compute",
    explanation: "Ascend NPUs do not compute in float64; Flux- and HiDream-style RoPE code that builds its \
angles in float64 on the device fails or falls back to the CPU.",
    fix: "Compute in float32 on the device, or build the float64 tensor on the CPU and move the \
float32 result: `torch.arange(..., dtype=torch.float64).float().to(device)`.",
    guide: "compute in float32 on the device, or build float64 on the CPU and move the float32 \
result",
    severities: None,
};

impl Checker<'_> {
    /// `x.to(torch.float64)` / `x.to(device, torch.double)`.
    pub fn float64_conversion(&mut self, call: &ExprCall) {
        let args = &call.arguments.args;
        if args.first().is_some_and(is_float64) || args.get(1).is_some_and(is_float64) {
            self.diag(
                &FLOAT64_ON_DEVICE,
                call.range(),
                "a tensor converted to float64",
            );
        }
    }

    /// `torch.arange(..., dtype=torch.float64, device=d)` with a device other than "cpu".
    pub fn float64_on_device(&mut self, call: &ExprCall) {
        let kw = |name: &str| {
            call.arguments
                .keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
        };
        let (Some(dtype), Some(device)) = (kw("dtype"), kw("device")) else {
            return;
        };
        if is_float64(&dtype.value) && !is_string(&device.value, "cpu") {
            self.diag(
                &FLOAT64_ON_DEVICE,
                call.range(),
                format!(
                    "{} creates a float64 tensor on the accelerator",
                    self.text(call.func.as_ref())
                ),
            );
        }
    }
}
