//! flash-attn and xformers: CUDA-only attention kernels with no Ascend build. Their calls go
//! through the helper's stand-ins (`shims.rs`), or straight to torch_npu in NPU style
//! (`npu_attention.rs`); what no stand-in covers is reported here with the replacement to
//! write by hand. diffusers' `enable_xformers_memory_efficient_attention()` is made
//! conditional on xformers being usable.

use super::checker::Checker;
use super::own_line::own_lines;
use super::shim_table::Shim;
use crate::code::{Code, Entry, Kind, Severity};
use crate::options::Style;
use ruff_python_ast::{ExprCall, Stmt, StmtIf};
use ruff_text_size::Ranged;

pub(crate) static ATTENTION_SHIM: Entry = Entry {
    code: Code::PY012,
    name: "attention-shim",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "flash-attn and xformers attention calls go through the helper",
    explanation: "The helper's `flash_attn_func`, `flash_attn_varlen_func`, \
`memory_efficient_attention`, `LowerTriangularMask` and `BlockDiagonalMask` take the original's \
arguments and run the original on CUDA when it is installed, torch_npu.npu_fusion_attention on \
the NPU (BSND, or TND for packed sequences; causal and sliding windows as its sparse modes; \
keep_prob = 1 - dropout) and torch's scaled_dot_product_attention elsewhere. A float bias \
tensor goes through SDPA on every device, since the fused NPU kernel takes boolean masks.",
    fix: "Portable style: the callee becomes `device_utils.<name>`. NPU style: \
`torch_npu.npu_fusion_attention(q, k, v, q.shape[2], input_layout=\"BSND\", scale=..., ...)[0]` \
(TND with actual_seq_qlen / actual_seq_kvlen for flash_attn_varlen_func) where the arguments \
allow it; otherwise reported.",
    guide: "`flash_attn_func`, `flash_attn_varlen_func`, `xformers.ops.memory_efficient_attention`, \
`LowerTriangularMask`, `BlockDiagonalMask` -> `device_utils.<name>` \
(`torch_npu.npu_fusion_attention(...)[0]`, BSND or TND); arguments a stand-in cannot carry \
over (alibi_slopes, return_attn_probs, softcap, other bias types) are reported",
    severities: None,
};

pub(crate) static XFORMERS_TOGGLE: Entry = Entry {
    code: Code::PY017,
    name: "xformers-toggle",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "enable_xformers_memory_efficient_attention() runs only where xformers can",
    explanation: "diffusers' `pipe.enable_xformers_memory_efficient_attention()` raises where xformers \
is not installed (every NPU host). Without it diffusers uses torch's scaled_dot_product_attention, \
which torch_npu accelerates, so the call is made conditional instead of removed.",
    fix: "`if device_utils.xformers_usable():` goes above the call (a statement alone on its \
lines). NPU style reports it instead (PY102).",
    guide: "`pipe.enable_xformers_memory_efficient_attention()` -> under \
`if device_utils.xformers_usable():` (NPU style: reported)",
    severities: None,
};

pub(crate) static FLASH_ATTN: Entry = Entry {
    code: Code::PY101,
    name: "flash-attn",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "A flash-attn use no stand-in covers",
    explanation: "The flash-attn package (and SageAttention, likewise CUDA-only) has no Ascend build. \
`flash_attn_func` and `flash_attn_varlen_func` are rewritten (PY012); other functions and \
modules (qkv-packed variants, kv-cache, rotary, layers), and calls with arguments the stand-in \
cannot carry over (alibi_slopes, return_attn_probs, softcap, block_table), are reported here: \
on a host without flash-attn they stop at this line.",
    fix: FLASH_FIX,
    guide: "on NPU `torch_npu.npu_fusion_attention(q, k, v, heads, input_layout=\"BSND\", \
scale=d**-0.5)[0]`; packed sequences: `input_layout=\"TND\"`, \
`actual_seq_qlen=cu_seqlens_q[1:].tolist()`, `actual_seq_kvlen=cu_seqlens_k[1:].tolist()`, \
`keep_prob=1 - dropout_p`, causal as `sparse_mode=3` with the 2048x2048 mask; elsewhere \
`F.scaled_dot_product_attention`",
    severities: None,
};

pub(crate) static XFORMERS: Entry = Entry {
    code: Code::PY102,
    name: "xformers",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "An xformers use no stand-in covers",
    explanation: "xformers' memory-efficient attention has no Ascend build. \
`memory_efficient_attention` with attn_bias None, a tensor, LowerTriangularMask or \
BlockDiagonalMask is rewritten (PY012); other bias types, operator choices (`op=`) and other \
xformers modules are reported here, as is an import or an \
`enable_xformers_memory_efficient_attention()` call migrate could not guard.",
    fix: "Use torch.nn.functional.scaled_dot_product_attention (an explicit boolean or float mask \
for other bias types); drop `enable_xformers_memory_efficient_attention()` (diffusers defaults \
to SDPA).",
    guide: "SDPA with an explicit mask for other bias types; drop \
`enable_xformers_memory_efficient_attention()` (diffusers defaults to SDPA)",
    severities: Some("error (use, unguarded import), info (guarded import)"),
};

const FLASH_FIX: &str = "Use `device_utils.flash_attn_func` / `flash_attn_varlen_func` without the \
reported argument. By hand on NPU: `torch_npu.npu_fusion_attention(q, k, v, q.shape[2], \
input_layout=\"BSND\", scale=softmax_scale or q.shape[-1] ** -0.5, keep_prob=1 - dropout_p)[0]`, \
for causal adding `atten_mask=torch.triu(torch.ones(2048, 2048, dtype=torch.bool, \
device=q.device), diagonal=1), sparse_mode=3`; elsewhere \
`torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), \
v.transpose(1, 2)).transpose(1, 2)`; guard the import with try/except ImportError.";

const VARLEN_FIX: &str = "Use `device_utils.flash_attn_varlen_func` without the reported argument. \
By hand on NPU (packed TND layout, cumulative ends without the leading 0): \
`torch_npu.npu_fusion_attention(q, k, v, q.shape[1], input_layout=\"TND\", \
actual_seq_qlen=cu_seqlens_q[1:].tolist(), actual_seq_kvlen=cu_seqlens_k[1:].tolist(), \
scale=softmax_scale or q.shape[-1] ** -0.5, keep_prob=1 - dropout_p)[0]`, for causal adding \
`atten_mask=torch.triu(torch.ones(2048, 2048, dtype=torch.bool, device=q.device), diagonal=1), \
sparse_mode=3`; elsewhere SDPA per sequence.";

impl Checker<'_> {
    /// The suggested fix of a reported stand-in use.
    pub fn shim_fix(&self, shim: Shim) -> String {
        match shim {
            Shim::FlashAttn => FLASH_FIX.to_string(),
            Shim::FlashVarlen => VARLEN_FIX.to_string(),
            Shim::MemoryEfficient | Shim::LowerTriangularMask | Shim::BlockDiagonalMask => {
                XFORMERS.fix.to_string()
            }
            _ => format!(
                "Call `{}.{}` without the reported argument, or torch.optim.AdamW / \
torch_npu.optim.NpuFusedAdamW by hand.",
                self.opts.helper,
                shim.helper_name()
            ),
        }
    }

    /// An import of flash_attn / sageattention / xformers that stays as written: unguarded
    /// it stops the program on a host without the library.
    pub fn attention_import(&mut self, stmt: &Stmt, module: &str, guarded: bool) {
        let flash = !module.starts_with("xformers");
        if flash && guarded {
            return; // the project's own fallback
        }
        let entry = if flash { &FLASH_ATTN } else { &XFORMERS };
        let severity = if guarded {
            Severity::Info
        } else {
            Severity::Error
        };
        self.diag(entry, stmt.range(), format!("import of {module}"))
            .set_severity(severity)
            .set_fix(
                "Guard it with try/except ImportError and a fallback (torch's \
scaled_dot_product_attention).",
            );
    }

    /// `if device_utils.xformers_usable():` blocks, so their toggle call is not wrapped again.
    pub fn remember_xformers_gate(&mut self, stmt: &StmtIf) {
        // An availability test, not a user's flag (`if args.xformers:` still needs the gate).
        let test = self.text(stmt.test.as_ref());
        if test.contains("xformers_usable") || test.contains("xformers_available") {
            self.xformers_gates
                .push(super::guards::body_range(&stmt.body));
        }
    }

    /// `pipe.enable_xformers_memory_efficient_attention()`, and diffusers' lower-level
    /// `set_use_memory_efficient_attention_xformers(...)`.
    pub fn enable_xformers_call(&mut self, call: &ExprCall) {
        let range = call.range();
        if self.xformers_gates.iter().any(|g| g.contains_range(range)) {
            return; // already conditional
        }
        let alone = self
            .expression_statements
            .contains(&range.start().to_usize())
            .then(|| own_lines(self.src, range))
            .flatten();
        let text = self.text(call);
        match alone {
            Some(lines) if self.opts.style == Style::Portable && !text.contains(['\n', '\r']) => {
                let nl = self.src.newline;
                let indent = &lines.indent;
                let line = &self.src.body[range.start().to_usize()..lines.end];
                let line = line.trim_end_matches(['\n', '\r']);
                let mut replacement = format!(
                    "{indent}if {}.xformers_usable():{nl}{indent}    {line}",
                    self.opts.helper
                );
                if lines.has_break {
                    replacement.push_str(nl);
                }
                self.replace_span(&XFORMERS_TOGGLE, lines.start, lines.end, replacement);
            }
            _ => {
                let name = self
                    .text(call.func.as_ref())
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                self.diag(
                    &XFORMERS,
                    range,
                    format!("{name}() raises where xformers is not installed"),
                );
            }
        }
    }
}
