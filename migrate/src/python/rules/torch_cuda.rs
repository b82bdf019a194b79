//! `torch.cuda.<member>`: functions with the same meaning on `torch.npu` go through the
//! selected device's module; capability queries and CUDA-only APIs are reported.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use crate::options::Style;
use ruff_python_ast::{ExprAttribute, ExprContext, ExprName};
use ruff_text_size::{Ranged, TextRange};

pub(crate) static DEVICE_MODULE: Entry = Entry {
    code: Code::PY004,
    name: "device-module",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`torch.cuda.<function>` becomes the selected device's module",
    explanation: "`torch.cuda.synchronize`, `empty_cache`, `memory_summary`, `memory_allocated`, \
`set_device`, `manual_seed_all`, `Stream`, `Event` and the rest of the portable list exist \
with the same meaning on `torch.npu` (torch_npu). The helper's `DEVICE_MODULE` is \
`torch.npu`, `torch.cuda`, or a CPU stand-in whose functions do nothing or report zero.",
    fix: "Portable style: `device_utils.DEVICE_MODULE.<function>`. NPU style: `torch.npu.<function>`.",
    guide: "`torch.cuda.{is_available, device_count, set_device, current_device, synchronize, \
empty_cache, manual_seed[_all], memory_*, max_memory_*, reset_peak_memory_stats, mem_get_info, \
Stream, Event, get/set_rng_state, is_bf16_supported, ...}` -> `device_utils.DEVICE_MODULE.*` \
(`torch.npu.*`)",
    severities: None,
};

pub(crate) static DEVICE_CAPABILITY: Entry = Entry {
    code: Code::PY107,
    name: "device-capability",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "get_device_capability / get_device_properties fail on an NPU host",
    explanation: "`torch.cuda.get_device_capability()` has no meaning on Ascend (torch.npu returns None or \
lacks the call) and `get_device_properties(...).major/minor` do not exist there, so \
capability-based branches break.",
    fix: "Decide on dtype support with `device_utils.DTYPE` (or `torch.npu.is_bf16_supported()` on \
NPU) instead of the compute capability.",
    guide: "decide dtype support with `device_utils.DTYPE` (or `torch.npu.is_bf16_supported()`) \
instead of the compute capability",
    severities: None,
};

pub(crate) static CUDA_ONLY_API: Entry = Entry {
    code: Code::PY110,
    name: "cuda-only-api",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A torch.cuda / torch.backends.cuda API with no NPU equivalent",
    explanation: "torch.cuda.nvtx, torch.cuda.comm, torch.cuda.graphs, the scaled-dot-product backend \
switches (`torch.backends.cuda.enable_flash_sdp`, `sdp_kernel`, ...), \
`preferred_linalg_library` and other CUDA-specific calls are left as they are.",
    fix: "Guard the call with `if device_utils.DEVICE_TYPE == \"cuda\":` or remove it; for profiling \
ranges on NPU use torch_npu.npu.mstx / the Ascend profiler.",
    guide: "guard with `if device_utils.DEVICE_TYPE == \"cuda\":` or remove (nvtx, comm, graphs, \
SDP backend switches, `preferred_linalg_library`)",
    severities: None,
};

/// `torch.cuda` functions with the same meaning on `torch.npu` (and a CPU stand-in).
const PORTABLE_CUDA_FUNCTIONS: &[&str] = &[
    "is_available",
    "device_count",
    "set_device",
    "current_device",
    "synchronize",
    "empty_cache",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "memory_summary",
    "memory_stats",
    "memory_allocated",
    "memory_reserved",
    "max_memory_allocated",
    "max_memory_reserved",
    "reset_peak_memory_stats",
    "reset_max_memory_allocated",
    "mem_get_info",
    "Stream",
    "Event",
    "current_stream",
    "default_stream",
    "stream",
    "get_rng_state",
    "set_rng_state",
    "get_rng_state_all",
    "set_rng_state_all",
    "is_bf16_supported",
    "device",
    "get_device_name",
    "init",
    "is_initialized",
];

const CAPABILITY_FUNCTIONS: &[&str] = &[
    "get_device_capability",
    "get_device_properties",
    "get_arch_list",
];

impl Checker<'_> {
    /// What replaces `torch.cuda`: the helper's module, or `torch.npu` spelled with the
    /// name torch is imported under.
    fn device_module_text(&self) -> String {
        match self.opts.style {
            Style::Portable => self.opts.device_module(),
            Style::Npu => format!(
                "{}.npu",
                self.bindings.local_for("torch").unwrap_or("torch")
            ),
        }
    }

    /// `torch.cuda.<member>` anywhere, under any import name: called, passed or read.
    pub fn torch_cuda_member(&mut self, attr: &ExprAttribute, member: &str) {
        if member == "amp" {
            return; // handled where the amp name is used
        }
        if self.shimmed.contains(member) {
            return self.shimmed_use(attr.range(), member);
        }
        if PORTABLE_CUDA_FUNCTIONS.contains(&member) {
            let replacement = self.device_module_text();
            self.replace(&DEVICE_MODULE, attr.value.as_ref(), replacement);
        } else {
            self.cuda_member_diagnostic(attr.range(), member);
        }
    }

    /// A bare name imported from torch.cuda (`from torch.cuda import synchronize`).
    pub fn torch_cuda_name(&mut self, name: &ExprName) {
        if name.ctx != ExprContext::Load {
            return;
        }
        let Some(member) = self
            .bindings
            .resolve_name(name.id.as_str())
            .and_then(|q| q.strip_prefix("torch.cuda.").map(str::to_string))
        else {
            return;
        };
        if member.contains('.') || member == "amp" {
            return;
        }
        if PORTABLE_CUDA_FUNCTIONS.contains(&member.as_str()) {
            let replacement = format!("{}.{member}", self.device_module_text());
            self.replace(&DEVICE_MODULE, name, replacement);
        } else {
            self.cuda_member_diagnostic(name.range(), &member);
        }
    }

    fn cuda_member_diagnostic(&mut self, at: TextRange, member: &str) {
        if CAPABILITY_FUNCTIONS.contains(&member) {
            self.diag(
                &DEVICE_CAPABILITY,
                at,
                format!("torch.cuda.{member} has no NPU meaning"),
            );
        } else {
            self.diag(
                &CUDA_ONLY_API,
                at,
                format!("torch.cuda.{member} has no NPU equivalent"),
            );
        }
    }
}
