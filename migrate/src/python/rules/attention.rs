//! flash-attn and xformers: CUDA-only attention kernels with no Ascend build. An unguarded
//! import fails at import time on an NPU host; calls cannot run there. An import inside
//! `try: ... except ImportError:` is the project's own fallback and is not an error.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::{Alias, Expr, ExprCall, Stmt};
use ruff_text_size::Ranged;

pub(crate) static FLASH_ATTN: Entry = Entry {
    code: Code::PY101,
    name: "flash-attn",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "flash_attn is CUDA-only",
    explanation: "The flash-attn package (and SageAttention, likewise CUDA-only) has no Ascend build; \
an unguarded `import flash_attn` fails at \
import time on an NPU host, and calls of `flash_attn_func` cannot run there. An import inside \
`try: ... except ImportError:` with a fallback is not reported.",
    fix: "Replace `flash_attn_func(q, k, v, ...)` (layout BSND: batch, seq, heads, head_dim) with \
`torch_npu.npu_fusion_attention(q, k, v, q.shape[2], input_layout=\"BSND\", \
scale=q.shape[-1] ** -0.5)[0]` on NPU, or with \
`torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), \
v.transpose(1, 2)).transpose(1, 2)` everywhere; guard the import with try/except ImportError.",
    guide: "guard the import with `try/except ImportError`; on NPU use \
`torch_npu.npu_fusion_attention(q, k, v, heads, input_layout=\"BSND\", scale=d**-0.5)[0]`, \
elsewhere `F.scaled_dot_product_attention` on (batch, heads, seq, dim). A guarded import with a \
fallback is not reported.",
    severities: None,
};

pub(crate) static XFORMERS: Entry = Entry {
    code: Code::PY102,
    name: "xformers",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "xformers is CUDA-only",
    explanation: "xformers' memory-efficient attention has no Ascend build; \
`enable_xformers_memory_efficient_attention()` raises on an NPU host and an unguarded \
`import xformers` fails.",
    fix: "Drop the call: diffusers uses torch's scaled_dot_product_attention by default, which \
torch_npu accelerates. Guard or remove the import.",
    guide: "drop `enable_xformers_memory_efficient_attention()` (diffusers defaults to SDPA) and \
the import",
    severities: Some("error (call, unguarded import), info (guarded import)"),
};

const FLASH_ATTN_REPLACEMENT: &str = "on NPU use torch_npu.npu_fusion_attention(q, k, v, \
q.shape[2], input_layout=\"BSND\", scale=q.shape[-1] ** -0.5)[0]; everywhere else \
torch.nn.functional.scaled_dot_product_attention on (batch, heads, seq, dim) tensors";

impl Checker<'_> {
    /// `import flash_attn...` outside an import guard.
    pub fn unguarded_flash_attn_import(&mut self, stmt: &Stmt, module: &str) {
        self.diag(
            &FLASH_ATTN,
            stmt.range(),
            format!("unguarded import of {module} fails on NPU hosts"),
        )
        .set_fix(format!(
            "Guard it with try/except ImportError and a fallback; {FLASH_ATTN_REPLACEMENT}."
        ));
    }

    /// `import xformers...`: an error unguarded, worth knowing inside a guard.
    pub fn xformers_import(&mut self, stmt: &Stmt, module: &str, guarded: bool) {
        let severity = if guarded {
            Severity::Info
        } else {
            Severity::Error
        };
        self.diag(&XFORMERS, stmt.range(), format!("import of {module}"))
            .set_severity(severity)
            .set_fix("Remove the import, or guard it with try/except ImportError; use torch.nn.functional.scaled_dot_product_attention instead.");
    }

    /// Remembers the names `from flash_attn... import name` binds, to recognise their calls.
    pub fn remember_flash_attn_names(&mut self, module: &str, aliases: &[Alias]) {
        if module.starts_with("flash_attn") {
            for a in aliases {
                let bound = a.asname.as_ref().unwrap_or(&a.name);
                self.flash_names.insert(bound.id.as_str().to_string());
            }
        }
    }

    pub fn enable_xformers_call(&mut self, call: &ExprCall) {
        self.diag(
            &XFORMERS,
            call.range(),
            "enable_xformers_memory_efficient_attention() raises on an NPU host",
        );
    }

    /// Calls of flash-attn and xformers functions (`tail` is the callee's last name).
    pub fn attention_library_call(&mut self, call: &ExprCall, name: Option<&str>, tail: &str) {
        if self.is_flash_call(call, name) {
            self.diag(
                &FLASH_ATTN,
                call.range(),
                format!("call of flash-attn's {tail}"),
            )
            .set_fix(format!("Replace it: {FLASH_ATTN_REPLACEMENT}."));
        }
        if let Some(name) = name.filter(|n| n.starts_with("xformers.")) {
            self.diag(&XFORMERS, call.range(), format!("call of {name}"))
                .set_fix("Use torch.nn.functional.scaled_dot_product_attention.");
        }
    }

    fn is_flash_call(&self, call: &ExprCall, name: Option<&str>) -> bool {
        match call.func.as_ref() {
            Expr::Name(n) => self.flash_names.contains(n.id.as_str()),
            _ => name.is_some_and(|n| n.starts_with("flash_attn.")),
        }
    }
}
