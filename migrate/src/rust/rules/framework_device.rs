//! candle's `Device::new_cuda(n)` / `Device::cuda_if_available(n)` and tch's
//! `Device::Cuda(n)` / `Device::cuda_if_available()` pick CUDA at compile time with no NPU
//! backend: they select through the toolkit's `device` crate instead.

use super::checker::Checker;
use super::framework::Framework;
use crate::code::{Code, Entry, Kind, Severity};
use syn::spanned::Spanned;

pub(crate) static CANDLE_DEVICE: Entry = Entry {
    code: Code::RS001,
    name: "candle-device",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "candle `Device::new_cuda(n)` / `Device::cuda_if_available(n)` select through the device crate",
    explanation: "candle decides CUDA at compile time and has no NPU backend. \
`device::candle::best_candle_device(n)` applies the toolkit's selection: PREFERRED_DEVICE when \
set (an NPU or absent device is an error), else CUDA n when visible and candle was built \
with CUDA, else the CPU. Its error converts into `candle_core::Error`, so `?` keeps working.",
    fix: "The call becomes `::device::candle::best_candle_device(n)`, and the crate's Cargo.toml gains \
the `device` dependency with its `candle` feature (CG001).",
    guide: "candle `Device::new_cuda(n)` / `Device::cuda_if_available(n)` (also through aliases \
and `candle_core::` / `candle::` paths) -> `::device::candle::best_candle_device(n)`",
    severities: None,
};

pub(crate) static TCH_DEVICE: Entry = Entry {
    code: Code::RS002,
    name: "tch-device",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "tch `Device::Cuda(n)` / `Device::cuda_if_available()` select through the device crate",
    explanation: "tch has no NPU backend either; the same selection rules pick CUDA n or the CPU.",
    fix: "The expression becomes `::device::framework::cuda_ordinal(n).expect(..).map_or(tch::Device::Cpu, \
tch::Device::Cuda)`; an unusable PREFERRED_DEVICE stops the program with the reason.",
    guide: "tch `Device::Cuda(n)` / `Device::cuda_if_available()` -> \
`::device::framework::cuda_ordinal(n).expect(..).map_or(tch::Device::Cpu, tch::Device::Cuda)`",
    severities: None,
};

const TCH_EXPECT: &str = "PREFERRED_DEVICE names a device this program cannot use";

impl Checker<'_> {
    pub fn device_construction(&mut self, call: &syn::ExprCall) {
        let syn::Expr::Path(func) = call.func.as_ref() else {
            return;
        };
        let Some((framework, function)) = self.device_path(&func.path) else {
            return;
        };
        let args: Vec<&syn::Expr> = call.args.iter().collect();
        let replacement = match (framework, function.as_str(), args.as_slice()) {
            (Framework::Candle, "new_cuda" | "cuda_if_available", [ordinal]) => {
                self.needs.candle = true;
                format!(
                    "::device::candle::best_candle_device({})",
                    self.text(ordinal.span())
                )
            }
            (Framework::Tch, "Cuda", [ordinal]) => {
                self.needs.framework = true;
                tch_device(self.text(ordinal.span()))
            }
            (Framework::Tch, "cuda_if_available", []) => {
                self.needs.framework = true;
                tch_device("0")
            }
            _ => return,
        };
        let entry = match framework {
            Framework::Candle => &CANDLE_DEVICE,
            Framework::Tch => &TCH_DEVICE,
        };
        self.replace(entry, call.span(), replacement);
    }
}

fn tch_device(ordinal: &str) -> String {
    format!(
        "::device::framework::cuda_ordinal({ordinal}).expect(\"{TCH_EXPECT}\").map_or(tch::Device::Cpu, tch::Device::Cuda)"
    )
}
