//! `torch.backends.cuda` / `torch.backends.cudnn` switches: the scaled-dot-product backend
//! and linear-algebra switches have no NPU equivalent; TF32 and cuDNN flags are harmless
//! there but do nothing, so they are noted once per line. Setting a TF32 switch gains the
//! NPU's HF32 switch on the next line, reading back the value just set.

use super::checker::Checker;
use super::own_line::own_lines;
use super::torch_cuda::CUDA_ONLY_API;
use crate::code::{Code, Entry, Kind, Severity};
use crate::options::Style;
use ruff_python_ast::{Alias, Expr, ExprAttribute, Stmt};
use ruff_text_size::Ranged;

pub(crate) static HF32_SWITCH: Entry = Entry {
    code: Code::PY015,
    name: "hf32-switch",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "Setting a TF32 switch also sets the NPU's HF32 switch",
    explanation: "`torch.backends.cuda.matmul.allow_tf32` and `torch.backends.cudnn.allow_tf32` do nothing on an NPU; torch_npu's equivalents are `torch_npu.npu.matmul.allow_hf32` (default False) and `torch_npu.npu.conv.allow_hf32` (default True). The added line reads the TF32 switch back, so the value is evaluated once; the helper sets the HF32 switch only on an NPU host, so a CUDA or CPU-only torch runs as before.",
    fix: "Portable style: `device_utils.allow_hf32(matmul=torch.backends.cuda.matmul.allow_tf32)` (`conv=` for cuDNN) after the assignment. NPU style: `torch_npu.npu.matmul.allow_hf32 = torch.backends.cuda.matmul.allow_tf32`.",
    guide: "`torch.backends.cuda.matmul.allow_tf32 = v` / `torch.backends.cudnn.allow_tf32 = v` gain `device_utils.allow_hf32(matmul=...)` / `(conv=...)` on the next line (`torch_npu.npu.matmul.allow_hf32 = ...`)",
    severities: None,
};

pub(crate) static TF32_FLAGS: Entry = Entry {
    code: Code::PY112,
    name: "tf32-flags",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "TF32 / cuDNN flags are kept; NPU has its own HF32 switches",
    explanation: "`torch.backends.cuda.matmul.allow_tf32`, `torch.backends.cudnn.allow_tf32`, `benchmark` \
and `deterministic` are harmless on NPU but have no effect there.",
    fix: "On NPU the analogues are `torch_npu.npu.matmul.allow_hf32` and \
`torch_npu.npu.conv.allow_hf32` (set next to an assignment of the TF32 switches, PY015).",
    guide: "kept; the NPU analogues are `torch_npu.npu.matmul.allow_hf32` / \
`torch_npu.npu.conv.allow_hf32` (added next to TF32 assignments, PY015)",
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

    /// `torch.backends.cuda.matmul.allow_tf32 = v` (or cuDNN's) alone on its line: the HF32
    /// line goes after it, unless it is already there.
    pub fn tf32_assignment(&mut self, targets: &[Expr], stmt: &Stmt) {
        let [target] = targets else {
            return;
        };
        let switch = match self.qualified(target).as_deref() {
            Some("torch.backends.cuda.matmul.allow_tf32") => "matmul",
            Some("torch.backends.cudnn.allow_tf32") => "conv",
            _ => return,
        };
        let Some(lines) = own_lines(self.src, stmt.range()) else {
            return;
        };
        let flag = self.text(target);
        let line = match self.opts.style {
            Style::Portable => format!("{}.allow_hf32({switch}={flag})", self.opts.helper),
            Style::Npu => format!("torch_npu.npu.{switch}.allow_hf32 = {flag}"),
        };
        self.hf32_targets.push(target.range());
        let indent = &lines.indent;
        let next = self.src.body[lines.end..].trim_start_matches(['\n', '\r']);
        if next.starts_with(&format!("{indent}{line}")) {
            return; // added by an earlier run
        }
        // The edit spans the assignment's own lines too, so the report shows it on them.
        let nl = self.src.newline;
        let own = &self.src.body[lines.start..lines.end];
        let text = if lines.has_break {
            format!("{own}{indent}{line}{nl}")
        } else {
            format!("{own}{nl}{indent}{line}")
        };
        self.replace_span(&HF32_SWITCH, lines.start, lines.end, text);
    }

    fn precision_flag(&mut self, attr: &ExprAttribute) {
        // A read on the line migrate added (`allow_hf32(matmul=...allow_tf32)`): covered,
        // with nothing to add.
        let at = attr.start().to_usize();
        let body = &self.src.body;
        let line_start = body[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let line_end = body[at..].find(['\n', '\r']).map_or(body.len(), |i| at + i);
        let on_hf32_line = body[line_start..line_end].contains("allow_hf32");
        if on_hf32_line {
            self.reported.push((attr.range(), None));
            return;
        }
        let message = if self.hf32_targets.contains(&attr.range()) {
            format!(
                "{} is kept; the NPU's HF32 switch is set next to it",
                self.text(attr)
            )
        } else {
            format!("{} is kept and has no effect on NPU", self.text(attr))
        };
        self.note_once(&TF32_FLAGS, attr.range(), message);
    }
}
