//! safetensors loaders take their own device argument, which torch_npu's runtime shim does
//! not see; they accept "npu" once torch_npu is imported.

use crate::code::{Code, Entry, Kind, Severity};

pub(crate) static SAFETENSORS_DEVICE: Entry = Entry {
    code: Code::PY008,
    name: "safetensors-device",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "safetensors `load_file(..., device=\"cuda\")` / `safe_open(..., device=\"cuda\")` load onto the helper's device",
    explanation: "The torch_npu runtime shim does not see third-party device arguments. safetensors accepts \
\"npu\" / \"npu:N\" as a device once torch_npu is imported.",
    fix: "Portable style: `device=device_utils.DEVICE`. NPU style: `device=\"npu\"`.",
    guide: "`load_file(..., device=\"cuda\")`, `safe_open(..., device=\"cuda\")` -> the helper's \
device (safetensors accepts `npu:N`)",
    severities: None,
};

/// Calls whose `device=` belongs to safetensors (or a loader with the same convention).
pub fn is_safetensors_loader(callee_tail: &str) -> bool {
    matches!(
        callee_tail,
        "load_file" | "safe_open" | "load_model" | "load"
    )
}
