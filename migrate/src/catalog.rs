//! The one table of every rewrite rule and diagnostic code: `migrate rules` lists it,
//! `migrate explain CODE` prints an entry, and every edit or diagnostic refers to it by code.

use serde::Serialize;

/// Whether a code changes source or only reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rewrite,
    Diagnostic,
}

/// How much a diagnostic matters on an NPU host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing breaks.
    Info,
    /// Runs, but slower, differently, or only on CUDA.
    Warning,
    /// Fails on an NPU host until a human changes it.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule or diagnostic.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// Default severity of a diagnostic; rewrites report as info.
    pub severity: Severity,
    /// One line for listings.
    pub summary: &'static str,
    /// What it means and why it matters on Ascend.
    pub explanation: &'static str,
    /// What the tool does (rewrites) or what a human should do (diagnostics).
    pub fix: &'static str,
}

macro_rules! code {
    ($code:literal, $name:literal, $kind:ident, $sev:ident, $summary:literal, $expl:literal, $fix:literal) => {
        Code {
            code: $code,
            name: $name,
            kind: Kind::$kind,
            severity: Severity::$sev,
            summary: $summary,
            explanation: $expl,
            fix: $fix,
        }
    };
}

/// Every code, in listing order.
pub static CODES: &[Code] = &[
    // ---- Python rewrites -------------------------------------------------------------
    code!(
        "PY001",
        "device-argument",
        Rewrite,
        Info,
        "\"cuda\" / \"cuda:N\" used as a device becomes the helper's device",
        "`.to(\"cuda\")`, `device=\"cuda\"`, `torch.device(\"cuda:1\")`, `map_location=\"cuda\"`, \
`\"cuda\" if torch.cuda.is_available() else \"cpu\"`, `--device` argparse defaults and \
assignments to names containing `device` pin the program to NVIDIA GPUs. Only strings in \
those device positions are rewritten; the same text in comments, docstrings, log messages \
or paths is left alone.",
        "Portable style: `device_utils.DEVICE`, or `device_utils.device(N)` when an index is \
given. NPU style: the string becomes \"npu\" / \"npu:N\"."
    ),
    code!(
        "PY002",
        "cuda-method",
        Rewrite,
        Info,
        "`.cuda()` / `.cuda(i)` calls become `.to(<device>)`",
        "`Tensor.cuda()` and `Module.cuda()` move to an NVIDIA GPU. Only calls of a `.cuda` \
method with at most one positional argument are rewritten; a `.cuda` attribute that is not \
called, and `torch.cuda`, are not touched.",
        "Portable style: `.to(device_utils.DEVICE)` (with `device_utils.device(i)` for an index; \
keyword arguments such as `non_blocking=True` are kept). NPU style: `.npu(...)`."
    ),
    code!(
        "PY003",
        "generator",
        Rewrite,
        Info,
        "`torch.Generator(\"cuda\")` becomes the helper's seeded generator",
        "CUDA's Philox generator and the NPU's generator give different noise for the same seed, \
so an image generated with `torch.Generator(\"cuda\").manual_seed(s)` cannot be reproduced \
on another device. diffusers recommends drawing noise on the CPU generator.",
        "Portable style: `device_utils.generator(s)` (a CPU generator, same noise everywhere). \
NPU style: `torch.Generator(\"npu\")`."
    ),
    code!(
        "PY004",
        "device-module",
        Rewrite,
        Info,
        "`torch.cuda.<function>` becomes the selected device's module",
        "`torch.cuda.synchronize`, `empty_cache`, `memory_summary`, `memory_allocated`, \
`set_device`, `manual_seed_all`, `Stream`, `Event` and the rest of the portable list exist \
with the same meaning on `torch.npu` (torch_npu). The helper's `DEVICE_MODULE` is \
`torch.npu`, `torch.cuda`, or a CPU stand-in whose functions do nothing or report zero.",
        "Portable style: `device_utils.DEVICE_MODULE.<function>`. NPU style: `torch.npu.<function>`."
    ),
    code!(
        "PY005",
        "amp",
        Rewrite,
        Info,
        "`torch.cuda.amp` autocast / GradScaler / custom_fwd move to `torch.amp` with a device type",
        "`torch.cuda.amp` is deprecated and CUDA-only. `torch.amp.autocast(device_type, ...)` and \
`torch.amp.GradScaler(device, ...)` take the device type explicitly. Positional arguments of \
the old autocast (`enabled`, `dtype`, `cache_enabled`) are turned into keywords because the \
new signature orders them differently.",
        "`from torch.cuda.amp import X` becomes `from torch.amp import X`, and each call gains the \
device type as its first argument (`device_type=` for custom_fwd/custom_bwd)."
    ),
    code!(
        "PY006",
        "autocast-device-type",
        Rewrite,
        Info,
        "\"cuda\" given as an autocast / GradScaler device type becomes the helper's device type",
        "`torch.autocast(\"cuda\")`, `torch.amp.autocast(device_type=\"cuda\")` and \
`torch.amp.GradScaler(\"cuda\")` only enable mixed precision on NVIDIA GPUs.",
        "Portable style: `device_utils.DEVICE_TYPE`. NPU style: \"npu\"."
    ),
    code!(
        "PY007",
        "dist-backend",
        Rewrite,
        Info,
        "The \"nccl\" process-group backend becomes the backend of the selected device",
        "NCCL exists only on NVIDIA GPUs; Ascend's collective library is HCCL and CPU runs use gloo.",
        "Portable style: `device_utils.DIST_BACKEND` (hccl / nccl / gloo). NPU style: \"hccl\"."
    ),
    code!(
        "PY008",
        "safetensors-device",
        Rewrite,
        Info,
        "safetensors `load_file(..., device=\"cuda\")` / `safe_open(..., device=\"cuda\")` load onto the helper's device",
        "The torch_npu runtime shim does not see third-party device arguments. safetensors accepts \
\"npu\" / \"npu:N\" as a device once torch_npu is imported.",
        "Portable style: `device=device_utils.DEVICE`. NPU style: `device=\"npu\"`."
    ),
    code!(
        "PY009",
        "integer-device-index",
        Rewrite,
        Info,
        "`.to(0)` / `.to(local_rank)` integer device indices become explicit devices",
        "torch reads a bare integer device as a CUDA index, so `.to(local_rank)` still means \
`cuda:<local_rank>` on an NPU host. Integer literals and names that are clearly ranks or \
device ids (`local_rank`, `rank`, `gpu`, `gpu_id`, `device_id`) are rewritten.",
        "Portable style: `.to(device_utils.device(i))`. NPU style: `.to(f\"npu:{i}\")`."
    ),
    code!(
        "PY010",
        "visible-devices-env",
        Rewrite,
        Info,
        "`os.environ[\"CUDA_VISIBLE_DEVICES\"] = ...` also sets ASCEND_RT_VISIBLE_DEVICES",
        "Ascend's runtime ignores CUDA_VISIBLE_DEVICES; it reads ASCEND_RT_VISIBLE_DEVICES, \
whose ids must be ascending and which stops silently at the first invalid id.",
        "A following statement copies the value into ASCEND_RT_VISIBLE_DEVICES \
(NPU style: the key is renamed)."
    ),
    code!(
        "PY011",
        "helper-import",
        Rewrite,
        Info,
        "The helper module is imported once where rewritten code uses it",
        "Rewritten call sites refer to the helper module (default `device_utils`), which the \
patch adds at the root of the tree. NPU style imports `torch_npu` instead.",
        "`import device_utils` is added after the module's leading imports, once."
    ),
    // ---- Python diagnostics ----------------------------------------------------------
    code!(
        "PY101",
        "flash-attn",
        Diagnostic,
        Error,
        "flash_attn is CUDA-only",
        "The flash-attn package has no Ascend build; an unguarded `import flash_attn` fails at \
import time on an NPU host, and calls of `flash_attn_func` cannot run there. An import inside \
`try: ... except ImportError:` with a fallback is not reported.",
        "Replace `flash_attn_func(q, k, v, ...)` (layout BSND: batch, seq, heads, head_dim) with \
`torch_npu.npu_fusion_attention(q, k, v, q.shape[2], input_layout=\"BSND\", \
scale=q.shape[-1] ** -0.5)[0]` on NPU, or with \
`torch.nn.functional.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), \
v.transpose(1, 2)).transpose(1, 2)` everywhere; guard the import with try/except ImportError."
    ),
    code!(
        "PY102",
        "xformers",
        Diagnostic,
        Warning,
        "xformers is CUDA-only",
        "xformers' memory-efficient attention has no Ascend build; \
`enable_xformers_memory_efficient_attention()` raises on an NPU host and an unguarded \
`import xformers` fails.",
        "Drop the call: diffusers uses torch's scaled_dot_product_attention by default, which \
torch_npu accelerates. Guard or remove the import."
    ),
    code!(
        "PY103",
        "apex",
        Diagnostic,
        Warning,
        "NVIDIA apex / amp_C / bitsandbytes have no Ascend build",
        "apex.amp, apex.optimizers.FusedAdam, apex.parallel.DistributedDataParallel, amp_C and \
bitsandbytes ship CUDA kernels only.",
        "Use torch.amp for mixed precision, torch.optim.AdamW(fused=False) or \
torch_npu.optim.NpuFusedAdamW, and torch.nn.parallel.DistributedDataParallel."
    ),
    code!(
        "PY104",
        "triton-jit",
        Diagnostic,
        Warning,
        "triton, torch.jit.script and torch.compile need checking on NPU",
        "Triton kernels are written for NVIDIA (and AMD) GPUs. torch.compile on Ascend goes \
through torchair, not inductor's CUDA backend, and torch_npu's runtime shim disables \
torch.jit.script.",
        "Keep an eager fallback for triton kernels; on NPU use torchair \
(`torch.compile(model, backend=torchair.get_npu_backend())`) or run eagerly."
    ),
    code!(
        "PY105",
        "cuda-extension",
        Diagnostic,
        Error,
        "Custom CUDA extensions (.cu sources, CUDAExtension) need an Ascend C port",
        "`torch.utils.cpp_extension.CUDAExtension`, `load(..., sources=[\"*.cu\"])` and \
`BuildExtension` compile CUDA kernels with nvcc; nothing of that runs on an NPU.",
        "Port the kernels to Ascend C (or express them with torch / torch_npu ops) and build \
them with torch_npu's NpuExtension; keep the CUDA build behind a device check."
    ),
    code!(
        "PY106",
        "float64-on-device",
        Diagnostic,
        Warning,
        "float64 tensors on the accelerator: the NPU has no float64 compute",
        "Ascend NPUs do not compute in float64; Flux- and HiDream-style RoPE code that builds its \
angles in float64 on the device fails or falls back to the CPU.",
        "Compute in float32 on the device, or build the float64 tensor on the CPU and move the \
float32 result: `torch.arange(..., dtype=torch.float64).float().to(device)`."
    ),
    code!(
        "PY107",
        "device-capability",
        Diagnostic,
        Warning,
        "get_device_capability / get_device_properties answer differently on NPU",
        "`torch.cuda.get_device_capability()` has no meaning on Ascend (torch.npu returns None or \
lacks the call) and `get_device_properties(...).major/minor` do not exist there, so \
capability-based branches break.",
        "Decide on dtype support with `device_utils.DTYPE` (or `torch.npu.is_bf16_supported()` on \
NPU) instead of the compute capability."
    ),
    code!(
        "PY108",
        "device-type-check",
        Diagnostic,
        Warning,
        "`x.is_cuda`, `device.type == \"cuda\"` and `\"cuda\" in str(device)` are False on NPU",
        "Code that branches on CUDA takes its CPU path on an NPU host, silently and slowly.",
        "Use `device_utils.is_accelerator(x)` or compare with `device_utils.DEVICE_TYPE`."
    ),
    code!(
        "PY109",
        "data-parallel",
        Diagnostic,
        Warning,
        "torch.nn.DataParallel is not supported on NPU",
        "torch_npu does not implement single-process multi-device DataParallel.",
        "Use DistributedDataParallel with one process per device (torchrun) and the hccl backend."
    ),
    code!(
        "PY110",
        "cuda-only-api",
        Diagnostic,
        Warning,
        "A torch.cuda / torch.backends.cuda API with no NPU equivalent",
        "torch.cuda.nvtx, torch.cuda.comm, torch.cuda.graphs, the scaled-dot-product backend \
switches (`torch.backends.cuda.enable_flash_sdp`, `sdp_kernel`, ...), \
`preferred_linalg_library` and other CUDA-specific calls are left as they are.",
        "Guard the call with `if device_utils.DEVICE_TYPE == \"cuda\":` or remove it; for profiling \
ranges on NPU use torch_npu.npu.mstx / the Ascend profiler."
    ),
    code!(
        "PY111",
        "nccl-specific",
        Diagnostic,
        Info,
        "NCCL-specific checks and NCCL_* settings do not apply on NPU",
        "`backend == \"nccl\"`, `dist.is_nccl_available()` and NCCL_* environment variables \
configure NVIDIA's collective library only.",
        "Compare with `device_utils.DIST_BACKEND`; the HCCL equivalents are HCCL_* variables \
(e.g. HCCL_CONNECT_TIMEOUT, HCCL_BUFFSIZE)."
    ),
    code!(
        "PY112",
        "tf32-flags",
        Diagnostic,
        Info,
        "TF32 / cuDNN flags are kept; NPU has its own HF32 switches",
        "`torch.backends.cuda.matmul.allow_tf32`, `torch.backends.cudnn.allow_tf32`, `benchmark` \
and `deterministic` are harmless on NPU but have no effect there.",
        "On NPU the analogues are `torch.npu.matmul.allow_hf32` and `torch.npu.conv.allow_hf32`."
    ),
    code!(
        "PY113",
        "unhandled-cuda-string",
        Diagnostic,
        Info,
        "A string that is exactly \"cuda\" / \"cuda:N\" in a position the tool does not rewrite",
        "The string may be a device, a config value or a dictionary key; the tool cannot be sure, \
so it leaves it and says where it is.",
        "If it is a device, replace it with `device_utils.DEVICE` (or \"npu\")."
    ),
    code!(
        "PY114",
        "hard-coded-bf16",
        Diagnostic,
        Info,
        "torch.bfloat16 is hard-coded",
        "Ascend 910A and 310P (and pre-Ampere GPUs) have no bfloat16 compute; a script that \
always asks for bf16 fails or crawls there. fp16 has also produced black images on NPU for \
some DiT models, so the choice should stay overridable.",
        "Use `device_utils.DTYPE`, the best dtype the selected device supports \
(PREFERRED_DTYPE=f32|f16|bf16 overrides it), where bf16 is a speed choice."
    ),
    // ---- Shell -----------------------------------------------------------------------
    code!(
        "SH001",
        "visible-devices",
        Rewrite,
        Info,
        "CUDA_VISIBLE_DEVICES in shell also sets ASCEND_RT_VISIBLE_DEVICES",
        "Ascend's runtime reads ASCEND_RT_VISIBLE_DEVICES, not CUDA_VISIBLE_DEVICES.",
        "An `export CUDA_VISIBLE_DEVICES=...` line is followed by \
`export ASCEND_RT_VISIBLE_DEVICES=\"$CUDA_VISIBLE_DEVICES\"`; a one-command prefix gains the \
same assignment. NPU style renames the variable."
    ),
    code!(
        "SH002",
        "nvidia-smi",
        Rewrite,
        Info,
        "`nvidia-smi` commands fall back to `npu-smi info` where it exists",
        "nvidia-smi is missing on Ascend hosts, so a script with `set -e` stops there.",
        "The line becomes `if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else ...; fi` \
(NPU style: `npu-smi info`)."
    ),
    code!(
        "SH101",
        "visible-devices-order",
        Diagnostic,
        Warning,
        "A visible-devices list that is not strictly ascending",
        "ASCEND_RT_VISIBLE_DEVICES requires ascending ids and stops silently at the first \
invalid one, so `3,1` exposes fewer devices than on CUDA.",
        "List the device ids in ascending order."
    ),
    code!(
        "SH102",
        "nccl-env",
        Diagnostic,
        Info,
        "NCCL_* variables do not configure HCCL",
        "NCCL settings are ignored on Ascend.",
        "Set the HCCL equivalents (HCCL_CONNECT_TIMEOUT, HCCL_BUFFSIZE, HCCL_IF_IP ...) if needed."
    ),
    code!(
        "SH103",
        "nvidia-smi-inline",
        Diagnostic,
        Warning,
        "nvidia-smi inside a pipeline or substitution is left as it is",
        "The tool only rewrites lines where nvidia-smi is the command itself.",
        "Use `npu-smi info` (or `npu-smi info -t usages`) on Ascend hosts."
    ),
    // ---- Requirements / environments -------------------------------------------------
    code!(
        "RQ001",
        "cuda-only-requirement",
        Rewrite,
        Info,
        "CUDA-only packages are commented out of requirements and environment files",
        "flash-attn, xformers, triton, nvidia-* wheels, cupy-cuda*, pytorch-cuda and cudatoolkit \
have no Ascend build; pip fails on an NPU host while installing them.",
        "The line is commented out with the reason, so CUDA users can restore it."
    ),
    code!(
        "RQ002",
        "cuda-index-url",
        Rewrite,
        Info,
        "CUDA wheel index URLs are commented out",
        "`--extra-index-url https://download.pytorch.org/whl/cu121` selects CUDA builds of torch.",
        "The line is commented out; torch from PyPI works with torch-npu."
    ),
    code!(
        "RQ003",
        "add-torch-npu",
        Rewrite,
        Info,
        "torch-npu is added next to torch, matching its version",
        "torch_npu releases track torch releases (torch-npu 2.4.0.post2 goes with torch 2.4.0).",
        "`torch-npu==X.Y.Z.*` is added after a `torch==X.Y.Z` pin; an unpinned torch gets an \
unpinned torch-npu and RQ101."
    ),
    code!(
        "RQ101",
        "torch-npu-pin",
        Diagnostic,
        Warning,
        "torch-npu could not be added with a matching pin",
        "torch-npu must match the installed torch's major.minor.patch. An unpinned torch leaves \
the version open, and conda environments need torch-npu from pip.",
        "Pin torch (e.g. torch==2.4.0) and torch-npu to the same version; in conda files add \
torch-npu under the `- pip:` list."
    ),
    code!(
        "RQ102",
        "cuda-package-review",
        Diagnostic,
        Info,
        "A package with CUDA-specific builds worth checking",
        "bitsandbytes, apex, deepspeed, onnxruntime-gpu and tensorrt ship CUDA builds; some have \
NPU variants or none at all.",
        "Check the package's Ascend support (deepspeed supports NPU; onnxruntime has a CANN \
execution provider; bitsandbytes and apex do not)."
    ),
    // ---- Markdown / docs -------------------------------------------------------------
    code!(
        "MD101",
        "doc-cuda-instruction",
        Diagnostic,
        Info,
        "Documentation tells users to install or run CUDA-only tools",
        "Markdown is never rewritten: instructions such as `pip install flash-attn`, \
`nvidia-smi` or CUDA_VISIBLE_DEVICES are reported so the docs can be updated by hand.",
        "Add the NPU instructions (torch-npu install, npu-smi, ASCEND_RT_VISIBLE_DEVICES)."
    ),
    // ---- CUDA sources ----------------------------------------------------------------
    code!(
        "CU101",
        "cuda-source",
        Diagnostic,
        Error,
        "A .cu / .cuh CUDA source file",
        "CUDA kernels do not run on Ascend NPUs.",
        "Port the kernel to Ascend C or replace it with torch / torch_npu operators."
    ),
    // ---- Rust --------------------------------------------------------------------------
    code!(
        "RS001",
        "candle-device",
        Rewrite,
        Info,
        "candle `Device::new_cuda(n)` / `Device::cuda_if_available(n)` select through the device crate",
        "candle decides CUDA at compile time and has no NPU backend. \
`device::candle::best_candle_device(n)` applies the toolkit's selection: PREFERRED_DEVICE when \
set (an NPU or absent device is an error), else CUDA n when visible and candle was built \
with CUDA, else the CPU. Its error converts into `candle_core::Error`, so `?` keeps working.",
        "The call becomes `::device::candle::best_candle_device(n)`, and the crate's Cargo.toml gains \
the `device` dependency with its `candle` feature (CG001)."
    ),
    code!(
        "RS002",
        "tch-device",
        Rewrite,
        Info,
        "tch `Device::Cuda(n)` / `Device::cuda_if_available()` select through the device crate",
        "tch has no NPU backend either; the same selection rules pick CUDA n or the CPU.",
        "The expression becomes `::device::framework::cuda_ordinal(n).expect(..).map_or(tch::Device::Cpu, \
tch::Device::Cuda)`; an unusable PREFERRED_DEVICE stops the program with the reason."
    ),
    code!(
        "RS003",
        "pinned-device-selection",
        Rewrite,
        Info,
        "`select(Some(\"cuda:0\"))` on the device crate's manager becomes `select(None)`",
        "A hard-coded CUDA device passed to the selection overrides the NPU-first order and \
PREFERRED_DEVICE.",
        "`select(None)` lets PREFERRED_DEVICE or the NPU/CUDA/CPU order decide."
    ),
    code!(
        "RS101",
        "cuda-variant-match",
        Diagnostic,
        Info,
        "A match on `Device::Cuda(..)`",
        "Neither candle nor tch has an NPU variant: code that matches the CUDA variant keeps \
treating everything else as the CPU.",
        "Keep it if the branch is about candle's own device; for NPU work use ops-npu."
    ),
    code!(
        "RS102",
        "is-cuda-decision",
        Diagnostic,
        Info,
        "`is_cuda()` / `is_cpu()` decide between CUDA and the CPU only",
        "On an NPU host the candle device is the CPU, so such a branch takes its CPU path.",
        "Decide with `device::DeviceManager::new().select(None)` when the NPU matters."
    ),
    code!(
        "RS103",
        "cudarc",
        Diagnostic,
        Warning,
        "cudarc drives CUDA directly and has no NPU equivalent",
        "cudarc loads libcuda and NVRTC; nothing of it runs on an Ascend NPU.",
        "Keep it behind a `cuda` feature; express NPU work with ops-npu kernels."
    ),
    code!(
        "RS104",
        "parsed-cuda-device",
        Diagnostic,
        Warning,
        "A hard-coded \"cuda:N\" string is parsed as a device",
        "The program always asks for CUDA; PREFERRED_DEVICE and the NPU-first order are bypassed.",
        "Use `device::DeviceManager::new().select(None)` or read the device from PREFERRED_DEVICE."
    ),
    code!(
        "RS105",
        "macro-body",
        Diagnostic,
        Info,
        "A macro body mentions a CUDA device",
        "Macro arguments are token streams, not parsed code, so rewriting them could be wrong.",
        "Apply the RS001 / RS002 rewrite inside the macro by hand."
    ),
    code!(
        "RS106",
        "unhandled-cuda-string-rust",
        Diagnostic,
        Info,
        "A \"cuda\" / \"cuda:N\" string literal in Rust that is not rewritten",
        "The tool rewrites device construction, not arbitrary strings.",
        "If it selects a device, route it through the device crate."
    ),
    code!(
        "CG001",
        "device-dependency",
        Rewrite,
        Info,
        "The crate gains the `device` dependency its rewritten code uses",
        "RS001 / RS002 rewrites call the toolkit's `device` crate.",
        "`device = { path = \"<relative path>\", features = [\"candle\"] }` is added to \
[dependencies] (toml_edit: comments and order are kept); pass --device-crate to choose the path."
    ),
    code!(
        "CG101",
        "cuda-feature",
        Diagnostic,
        Warning,
        "A dependency enables a CUDA feature (cuda, cudnn, nccl, flash-attn)",
        "Such features compile CUDA kernels or link the CUDA toolkit at build time, so the crate \
does not build on an NPU host without CUDA. An optional dependency is reported as info.",
        "Move the feature behind one of your own: `[features] cuda = [\"candle-core/cuda\"]`, \
off by default; NPU kernels come from ops-npu."
    ),
    code!(
        "CG102",
        "cuda-only-crate",
        Diagnostic,
        Warning,
        "A CUDA-only crate (candle-flash-attn, cudarc, cust, ...) is a dependency",
        "It cannot build or run on an Ascend host.",
        "Make it optional behind a `cuda` feature; use ops-npu attention on NPU."
    ),
    code!(
        "CG103",
        "device-crate-location",
        Diagnostic,
        Error,
        "Rewritten Rust code needs the device crate, but its location is unknown",
        "The rewrite would not compile without the dependency, so the Rust files were left unchanged.",
        "Pass --device-crate PATH (the toolkit's device/ directory), or run migrate from the toolkit checkout."
    ),
    // ---- Tool notes ------------------------------------------------------------------
    code!(
        "MG001",
        "helper-module-name",
        Diagnostic,
        Info,
        "The helper module name was taken, so another name was chosen",
        "A file or package with the requested helper name already exists and was not written by \
migrate, so it is never overwritten.",
        "Nothing to do, or pass --helper-module NAME to choose the name."
    ),
    code!(
        "MG002",
        "fixpoint-cap",
        Diagnostic,
        Warning,
        "Rewriting did not settle within the pass limit",
        "Each pass applies non-overlapping edits and runs again; a file still changing after the \
limit indicates a rule conflict.",
        "Report the file to the migrate maintainers; review the patch for that file by hand."
    ),
];

/// Looks a code up case-insensitively.
pub fn lookup(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The name of a code, or "" for an unknown one.
pub fn entry_name(code: &str) -> &'static str {
    lookup(code).map_or("", |c| c.name)
}

/// The entry for a code the program itself emits; such codes are always in the table.
pub(crate) fn entry(code: &str) -> &'static Code {
    lookup(code).unwrap_or_else(|| unreachable!("code {code} is missing from the catalog"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for c in CODES {
            assert!(codes.insert(c.code), "duplicate code {}", c.code);
            assert!(names.insert(c.name), "duplicate name {}", c.name);
            assert_eq!(c.code.len(), 5, "{}", c.code);
            let number: u32 = c.code[2..].parse().expect("three digits");
            match c.kind {
                Kind::Rewrite => assert!(
                    number < 100,
                    "{} is a rewrite numbered as a diagnostic",
                    c.code
                ),
                Kind::Diagnostic => {
                    assert!(number >= 100 || c.code.starts_with("MG"), "{}", c.code)
                }
            }
            assert!(!c.explanation.is_empty() && !c.fix.is_empty());
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("py101").map(|c| c.name), Some("flash-attn"));
        assert!(lookup("XX999").is_none());
    }
}
