//! NVIDIA's own stacks: apex / amp_C / bitsandbytes (no Ascend build), triton kernels and
//! compilers (torch.compile goes through torchair on Ascend), and CUDA extensions built with
//! nvcc, which need an Ascend C port.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::{Arguments, Decorator, ExprCall, Stmt};
use ruff_text_size::Ranged;

pub(crate) static APEX: Entry = Entry {
    code: Code::PY103,
    name: "apex",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "An apex / amp_C / bitsandbytes use no stand-in covers",
    explanation: "apex, amp_C and bitsandbytes ship CUDA kernels only. FusedAdam, FusedLAMB and \
bitsandbytes' Adam optimizers are rewritten (PY013); apex.amp, apex.parallel, other optimizers \
and calls with arguments a stand-in cannot carry over are reported here (an error where the \
call stops a host without the library).",
    fix: "Use torch.amp for mixed precision, torch.optim.AdamW(fused=False) or \
torch_npu.optim.NpuFusedAdamW, and torch.nn.parallel.DistributedDataParallel.",
    guide: "torch.amp for mixed precision; `torch.optim.AdamW` or `torch_npu.optim.NpuFusedAdamW`; \
torch DDP instead of apex DDP; no bitsandbytes on NPU",
    severities: Some(
        "warning (import, other uses), error (a call a stand-in cannot take), info (guarded import)",
    ),
};

pub(crate) static CUDA_ONLY_PACKAGE: Entry = Entry {
    code: Code::PY117,
    name: "cuda-only-package",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "pycuda, cuda-python, TensorRT, polygraphy and cupy have no Ascend build",
    explanation: "These packages drive NVIDIA's driver and runtime directly; an unguarded import fails on \
an NPU host (and on a CPU-only one). Code written against them (TensorRT engines, pycuda \
buffers) has no portable rewrite.",
    fix: "Keep the TensorRT / pycuda path behind `try: ... except ImportError:` and a device check \
(`device_utils.DEVICE_TYPE == \"cuda\"`), with the plain torch path as the fallback.",
    guide: "keep the TensorRT / pycuda path behind an ImportError guard and a CUDA device check, \
with the torch path as the fallback",
    severities: Some("error (unguarded import), info (guarded import)"),
};

pub(crate) static TRITON_JIT: Entry = Entry {
    code: Code::PY104,
    name: "triton-jit",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "triton, torch.jit.script and torch.compile need checking on NPU",
    explanation: "Triton kernels are written for NVIDIA (and AMD) GPUs. torch.compile on Ascend goes \
through torchair, not inductor's CUDA backend, and torch_npu's runtime shim disables \
torch.jit.script.",
    fix: "Keep an eager fallback for triton kernels; on NPU use torchair \
(`torch.compile(model, backend=torchair.get_npu_backend())`) or run eagerly.",
    guide: "keep an eager fallback for triton kernels; on NPU compile with torchair \
(`torch.compile(model, backend=torchair.get_npu_backend())`) or run eagerly",
    severities: None,
};

pub(crate) static CUDA_EXTENSION: Entry = Entry {
    code: Code::PY105,
    name: "cuda-extension",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "Custom CUDA extensions (.cu sources, CUDAExtension) need an Ascend C port",
    explanation: "`torch.utils.cpp_extension.CUDAExtension`, `load(..., sources=[\"*.cu\"])` and \
`BuildExtension` compile CUDA kernels with nvcc; nothing of that runs on an NPU.",
    fix: "Port the kernels to Ascend C (or express them with torch / torch_npu ops) and build \
them with torch_npu's NpuExtension; keep the CUDA build behind a device check.",
    guide: "port the kernels to Ascend C or torch / torch_npu ops; keep the CUDA build behind a \
device check",
    severities: None,
};

impl Checker<'_> {
    /// `import apex` / `import triton` ... (`root` is the module's first name).
    pub fn vendor_import(&mut self, stmt: &Stmt, root: &str, module: &str) {
        if matches!(root, "pycuda" | "cuda" | "tensorrt" | "polygraphy" | "cupy") {
            let severity = if self.guarded_depth > 0 {
                Severity::Info
            } else {
                Severity::Error
            };
            self.diag(
                &CUDA_ONLY_PACKAGE,
                stmt.range(),
                format!("import of {module}"),
            )
            .set_severity(severity);
            return;
        }
        let entry = match root {
            "apex" | "amp_C" | "bitsandbytes" => &APEX,
            "triton" => &TRITON_JIT,
            _ => return,
        };
        let guarded = self.guarded_depth > 0;
        let diag = self.diag(entry, stmt.range(), format!("import of {module}"));
        if guarded && entry.code == APEX.code {
            diag.set_severity(Severity::Info);
        }
    }

    /// `@triton.jit` and `@torch.jit.script`.
    pub fn jit_decorator(&mut self, decorator: &Decorator) {
        if matches!(
            self.qualified(&decorator.expression).as_deref(),
            Some("triton.jit" | "torch.jit.script")
        ) {
            self.diag(
                &TRITON_JIT,
                decorator.range(),
                format!("@{} decorator", self.text(&decorator.expression)),
            );
        }
    }

    /// `torch.compile(...)` / `torch.jit.script(...)` (`name` is the callee).
    pub fn compile_call(&mut self, call: &ExprCall, name: &str) {
        self.diag(
            &TRITON_JIT,
            call.range(),
            format!("{name}: check it on NPU (torchair) or keep an eager fallback"),
        );
    }

    /// `CUDAExtension(...)` / `BuildExtension(...)` (`tail` is the callee's last name).
    pub fn cuda_extension_call(&mut self, call: &ExprCall, tail: &str) {
        self.diag(
            &CUDA_EXTENSION,
            call.range(),
            format!("{tail} builds CUDA code with nvcc"),
        );
    }

    /// `load(...)` / `load_inline(...)` of torch's cpp_extension, or with .cu sources.
    pub fn extension_load_call(&mut self, call: &ExprCall, name: Option<&str>) {
        if name.is_some_and(|n| n.contains("cpp_extension")) || self.has_cu_source(&call.arguments)
        {
            self.diag(
                &CUDA_EXTENSION,
                call.range(),
                "a torch extension built from CUDA sources",
            );
        }
    }

    fn has_cu_source(&self, args: &Arguments) -> bool {
        args.keywords
            .iter()
            .filter(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "sources"))
            .any(|k| {
                let text = self.text(&k.value);
                text.contains(".cu\"") || text.contains(".cu'")
            })
    }
}
