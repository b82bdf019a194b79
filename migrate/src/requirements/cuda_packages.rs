//! Packages and wheel indexes that only exist for CUDA: commented out with the reason, so
//! CUDA users can restore them; packages with CUDA-specific builds are only reported.

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::Fix;
use crate::text::Line;

pub(crate) static CUDA_ONLY_REQUIREMENT: Entry = Entry {
    code: Code::RQ001,
    name: "cuda-only-requirement",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "CUDA-only packages are commented out of requirements and environment files",
    explanation: "flash-attn, xformers, triton, nvidia-* wheels, cupy-cuda*, pytorch-cuda and cudatoolkit \
have no Ascend build; pip fails on an NPU host while installing them.",
    fix: "The line is commented out with the reason, so CUDA users can restore it.",
    guide: "flash-attn, xformers, triton, nvidia-*, cupy-cuda*, pytorch-cuda, cudatoolkit are \
commented out with the reason",
    severities: None,
};

pub(crate) static CUDA_INDEX_URL: Entry = Entry {
    code: Code::RQ002,
    name: "cuda-index-url",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "CUDA wheel index URLs are commented out",
    explanation: "`--extra-index-url https://download.pytorch.org/whl/cu121` selects CUDA builds of torch.",
    fix: "The line is commented out; torch from PyPI works with torch-npu.",
    guide: "`--extra-index-url .../whl/cuXXX` and similar are commented out",
    severities: None,
};

pub(crate) static CUDA_PACKAGE_REVIEW: Entry = Entry {
    code: Code::RQ102,
    name: "cuda-package-review",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "A package with CUDA-specific builds worth checking",
    explanation: "bitsandbytes, apex, deepspeed, onnxruntime-gpu and tensorrt ship CUDA builds; some have \
NPU variants or none at all.",
    fix: "Check the package's Ascend support (deepspeed supports NPU; onnxruntime has a CANN \
execution provider; bitsandbytes and apex do not).",
    guide: "check Ascend support: deepspeed has it, onnxruntime has a CANN provider, bitsandbytes \
and apex do not",
    severities: None,
};

pub fn is_cuda_only(name: &str) -> bool {
    matches!(
        name,
        "flash-attn"
            | "flash-attention"
            | "xformers"
            | "triton"
            | "pytorch-cuda"
            | "cudatoolkit"
            | "cuda-toolkit"
            | "cuda-python"
    ) || name.starts_with("nvidia-")
        || name.starts_with("cupy-cuda")
}

pub fn needs_review(name: &str) -> bool {
    matches!(
        name,
        "bitsandbytes"
            | "apex"
            | "deepspeed"
            | "onnxruntime-gpu"
            | "tensorrt"
            | "auto-gptq"
            | "vllm"
    )
}

pub fn is_cuda_index(line: &str) -> bool {
    let t = line.trim_start();
    let option = [
        "--extra-index-url",
        "--index-url",
        "-i ",
        "--find-links",
        "-f ",
    ]
    .iter()
    .any(|o| t.starts_with(o));
    option && (t.contains("/whl/cu") || t.contains("nvidia") || t.contains("/cuda"))
}

/// The line as a comment that names the code and the reason.
fn comment_out(line: &Line, entry: &Entry, reason: &str) -> Fix {
    let comment = format!(
        "{}# {}  # migrate {}: {reason}",
        line.indent(),
        line.trimmed(),
        entry.code
    );
    Fix::single(entry.code, line.offset, line.end(), comment)
}

pub fn comment_out_index(line: &Line) -> Fix {
    comment_out(line, &CUDA_INDEX_URL, "CUDA wheel index")
}

pub fn comment_out_package(line: &Line) -> Fix {
    comment_out(line, &CUDA_ONLY_REQUIREMENT, "CUDA-only, no Ascend build")
}

pub fn review(line: &Line) -> Diagnostic {
    Diagnostic::new(
        &CUDA_PACKAGE_REVIEW,
        line.number,
        line.indent().len() + 1,
        format!("`{}` ships CUDA builds", line.trimmed()),
    )
}
