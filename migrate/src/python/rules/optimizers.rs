//! apex's FusedAdam / FusedLAMB and bitsandbytes' Adam family go through the helper's
//! stand-ins (their own kernels on CUDA when installed, torch_npu's fused optimizers on the
//! NPU, torch's elsewhere), or straight to torch_npu in NPU style. What the switch changes,
//! saved optimizer state above all, is reported at each call. bitsandbytes' quantisation
//! (8-bit / 4-bit layers, `load_in_8bit`) has no equivalent and is reported.

use super::call_arguments::named;
use super::checker::Checker;
use super::shim_table::Shim;
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::Ranged;

pub(crate) static OPTIMIZER_SHIM: Entry = Entry {
    code: Code::PY013,
    name: "optimizer-shim",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "apex FusedAdam / FusedLAMB and bitsandbytes' Adam optimizers go through the helper",
    explanation: "apex and bitsandbytes ship CUDA kernels only. The helper's `FusedAdam`, `FusedLAMB` \
and `bnb_optim.<class>` take the same arguments and build the original on CUDA when it is \
installed, torch_npu's NpuFusedAdamW / NpuFusedAdam / NpuFusedLamb on the NPU, and torch's \
AdamW / Adam (fused on CUDA) or an apex-compatible LAMB elsewhere. bitsandbytes' Adam and \
AdamW run the same update with decoupled weight decay and differ in the default decay, so \
both become AdamW with the class's default.",
    fix: "Portable style: `apex.optimizers.FusedAdam(...)` -> `device_utils.FusedAdam(...)`, \
`bnb.optim.AdamW8bit(...)` -> `device_utils.bnb_optim.AdamW8bit(...)`. NPU style: \
`torch_npu.optim.NpuFusedAdamW(params, lr=..., weight_decay=...)` with apex's and \
bitsandbytes' defaults written out (NpuFusedLamb for FusedLAMB).",
    guide: "`apex.optimizers.FusedAdam` / `FusedLAMB`, `bitsandbytes.optim.{Adam, AdamW, \
Paged...}{,8bit,32bit}` -> `device_utils.FusedAdam` / `FusedLAMB` / `bnb_optim.<class>` \
(`torch_npu.optim.NpuFusedAdamW` / `NpuFusedAdam` / `NpuFusedLamb`); arguments a stand-in \
cannot carry over are reported (PY103)",
    severities: None,
};

pub(crate) static OPTIMIZER_STATE: Entry = Entry {
    code: Code::PY118,
    name: "optimizer-state",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A replaced optimizer keeps its state differently from the original",
    explanation: "The stand-ins compute the same update but store their state their own way: a \
checkpoint's optimizer state dict saved with apex or bitsandbytes does not load into torch's or \
torch_npu's optimizer (nor back). bitsandbytes' 8-bit state becomes 32-bit off CUDA, four times \
the optimizer memory. torch_npu's NpuFusedLamb takes no max_grad_norm, so apex's global \
gradient clipping is not applied on the NPU.",
    fix: "Resume training from model weights, not optimizer state, when moving between \
devices; budget 8 bytes per parameter for AdamW's state; clip gradients with \
torch.nn.utils.clip_grad_norm_ before step() where FusedLAMB relied on max_grad_norm.",
    guide: "start optimizer state afresh when changing device (state dicts are not \
interchangeable); 8-bit state is 32-bit off CUDA; clip gradients yourself for LAMB on NPU",
    severities: None,
};

pub(crate) static BNB_QUANTIZATION: Entry = Entry {
    code: Code::PY119,
    name: "bnb-quantization",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "bitsandbytes quantisation (8-bit / 4-bit layers, load_in_8bit) has no Ascend build",
    explanation: "Linear8bitLt, Linear4bit, Params4bit and bitsandbytes.functional run CUDA kernels; \
`load_in_8bit=True` / `load_in_4bit=True` and BitsAndBytesConfig make transformers and diffusers \
load through them. Nothing of that runs on an NPU host or a CPU-only one.",
    fix: "Load in bf16 / fp16 on the NPU (`torch_dtype=device_utils.DTYPE`), or quantise with \
Ascend's own tools (msModelSlim, torch_npu's npu_quant_matmul / weight-quant layers).",
    guide: "load in bf16 / fp16 (`device_utils.DTYPE`), or quantise with Ascend's tools \
(msModelSlim, torch_npu weight-quant layers)",
    severities: None,
};

impl Checker<'_> {
    /// PY118 at a call whose optimizer is replaced.
    pub fn optimizer_caveat(&mut self, call: &ExprCall, shim: Shim) {
        let message = match shim {
            Shim::FusedLamb => format!(
                "{}: state dicts are not interchangeable with apex's; torch_npu's NpuFusedLamb does not clip by max_grad_norm",
                shim.library_name()
            ),
            Shim::BnbAdam(_) => format!(
                "{}: optimizer state is 32-bit off CUDA (4x the memory of 8-bit) and state dicts are not interchangeable",
                shim.library_name()
            ),
            _ => format!(
                "{}: state dicts are not interchangeable with the replacement's",
                shim.library_name()
            ),
        };
        self.diag(&OPTIMIZER_STATE, call.range(), message);
    }

    /// `load_in_8bit=True` / `load_in_4bit=True` in any call.
    pub fn quantized_loading_keyword(&mut self, keyword: &str, value: &Expr) {
        if self.text(value) == "False" {
            return;
        }
        self.diag(
            &BNB_QUANTIZATION,
            value.range(),
            format!("{keyword}= loads through bitsandbytes' CUDA kernels"),
        );
    }

    /// `BitsAndBytesConfig(...)` (transformers / diffusers).
    pub fn bitsandbytes_config_call(&mut self, call: &ExprCall) {
        self.diag(
            &BNB_QUANTIZATION,
            call.range(),
            "BitsAndBytesConfig quantises through bitsandbytes' CUDA kernels",
        );
    }

    /// NPU style: the call to torch_npu's fused optimizer, the original's defaults written
    /// out where torch_npu's differ (apex FusedAdam decays by 0, NpuFusedAdamW by 1e-2).
    pub fn npu_optimizer_call(&mut self, call: &ExprCall, shim: Shim) -> Result<(), String> {
        let args =
            named(call, shim.positional(), shim.keyword_only()).map_err(|e| e.to_string())?;
        let value = |name: &str| {
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| self.text(*v))
        };
        let params = value("params").ok_or("no parameters")?;
        let (class, default_decay) = match shim {
            Shim::FusedAdam => match value("adam_w_mode") {
                None | Some("True") => ("NpuFusedAdamW", "0.0"),
                Some("False") => ("NpuFusedAdam", "0.0"),
                Some(other) => return Err(format!("adam_w_mode={other}")),
            },
            Shim::FusedLamb => {
                for (name, allowed) in [("grad_averaging", "True"), ("use_nvlamb", "False")] {
                    if let Some(v) = value(name).filter(|v| *v != allowed) {
                        return Err(format!("{name}={v} (NpuFusedLamb has no such option)"));
                    }
                }
                ("NpuFusedLamb", "0.01")
            }
            Shim::BnbAdam(name) if name.contains("AdamW") => ("NpuFusedAdamW", "0.01"),
            Shim::BnbAdam(_) => ("NpuFusedAdamW", "0.0"),
            _ => return Err("not an optimizer".to_string()),
        };
        let mut parts = vec![params.to_string()];
        for name in ["lr", "betas", "eps"] {
            if let Some(v) = value(name) {
                parts.push(format!("{name}={v}"));
            }
        }
        parts.push(format!(
            "weight_decay={}",
            value("weight_decay").unwrap_or(default_decay)
        ));
        let replacement = format!("torch_npu.optim.{class}({})", parts.join(", "));
        self.replace(&OPTIMIZER_SHIM, call, replacement);
        Ok(())
    }
}
