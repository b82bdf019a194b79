//! Code that decides between CUDA and the CPU (a match on `Device::Cuda(..)`, `is_cuda()`)
//! never sees the NPU: neither candle nor tch has an NPU variant, so it is reported.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use syn::spanned::Spanned;

pub(crate) static CUDA_VARIANT_MATCH: Entry = Entry {
    code: Code::RS101,
    name: "cuda-variant-match",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "A match on `Device::Cuda(..)`",
    explanation: "Neither candle nor tch has an NPU variant: code that matches the CUDA variant keeps \
treating everything else as the CPU.",
    fix: "Keep it if the branch is about candle's own device; for NPU work use ops-npu.",
    guide: "a `Device::Cuda(..)` pattern: keep it for candle's own device; NPU work goes through \
ops-npu",
    severities: None,
};

pub(crate) static IS_CUDA_DECISION: Entry = Entry {
    code: Code::RS102,
    name: "is-cuda-decision",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "`is_cuda()` / `is_cpu()` decide between CUDA and the CPU only",
    explanation: "On an NPU host the candle device is the CPU, so such a branch takes its CPU path.",
    fix: "Decide with `device::DeviceManager::new().select(None)` when the NPU matters.",
    guide: "`is_cuda()` / `is_cpu()` never see the NPU; decide with \
`device::DeviceManager::new().select(None)` when it matters",
    severities: None,
};

impl Checker<'_> {
    /// A pattern `Device::Cuda(..)` of candle or tch.
    pub fn cuda_variant_pattern(&mut self, pat: &syn::PatTupleStruct) {
        if self
            .device_path(&pat.path)
            .is_some_and(|(_, variant)| variant == "Cuda")
        {
            self.diag(
                &CUDA_VARIANT_MATCH,
                pat.span(),
                "a match on the CUDA device variant; no NPU variant exists",
            );
        }
    }

    /// `x.is_cuda()` / `x.is_cpu()` (`method` is the method's name).
    pub fn is_cuda_call(&mut self, call: &syn::ExprMethodCall, method: &str) {
        self.diag(
            &IS_CUDA_DECISION,
            call.method.span(),
            format!("`{method}()` decides between CUDA and the CPU only"),
        );
    }
}
