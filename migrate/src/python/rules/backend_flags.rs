//! `torch.backends.cuda` / `torch.backends.cudnn` switches: the scaled-dot-product backend
//! and linear-algebra switches have no NPU equivalent; TF32 and cuDNN flags are harmless
//! there but do nothing, so they are noted once per line.

use super::checker::Checker;
use super::torch_cuda::CUDA_ONLY_API;
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::{Alias, ExprAttribute};
use ruff_text_size::Ranged;

pub(crate) static TF32_FLAGS: Entry = Entry {
    code: Code::PY112,
    name: "tf32-flags",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "TF32 / cuDNN flags are kept; NPU has its own HF32 switches",
    explanation: "`torch.backends.cuda.matmul.allow_tf32`, `torch.backends.cudnn.allow_tf32`, `benchmark` \
and `deterministic` are harmless on NPU but have no effect there.",
    fix: "On NPU the analogues are `torch.npu.matmul.allow_hf32` and `torch.npu.conv.allow_hf32`.",
    guide: "kept; the NPU analogues are `torch.npu.matmul.allow_hf32` / `torch.npu.conv.allow_hf32`",
    severities: None,
};

impl Checker<'_> {
    /// `torch.backends.cuda.<member>` and `torch.backends.cuda.matmul.<member>`.
    pub fn backends_cuda_member(&mut self, attr: &ExprAttribute, member: &str) {
        if member.contains("sdp") || member == "preferred_linalg_library" {
            self.diag(
                &CUDA_ONLY_API,
                attr.range(),
                format!("torch.backends.cuda.{member} has no NPU equivalent"),
            );
        } else if member == "allow_tf32"
            || member == "allow_fp16_reduced_precision_reduction"
            || member == "allow_bf16_reduced_precision_reduction"
        {
            self.precision_flag(attr);
        }
    }

    /// `from torch.backends.cuda import sdp_kernel, SDPBackend`: its uses are bare names.
    pub fn backends_cuda_import(&mut self, aliases: &[Alias]) {
        for alias in aliases {
            let name = alias.name.id.as_str();
            if name.contains("sdp") || name == "SDPBackend" || name == "preferred_linalg_library" {
                self.diag(
                    &CUDA_ONLY_API,
                    alias.range(),
                    format!("torch.backends.cuda.{name} has no NPU equivalent"),
                );
            }
        }
    }

    /// `torch.backends.cudnn.<member>`.
    pub fn backends_cudnn_member(&mut self, attr: &ExprAttribute, member: &str) {
        if matches!(member, "allow_tf32" | "benchmark" | "deterministic") {
            self.precision_flag(attr);
        }
    }

    fn precision_flag(&mut self, attr: &ExprAttribute) {
        self.note_once(
            &TF32_FLAGS,
            attr.range(),
            format!("{} is kept and has no effect on NPU", self.text(attr)),
        );
    }
}
