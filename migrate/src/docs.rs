//! Markdown is documentation for people: never rewritten, only reported (MD101), so a
//! README's install lines can be updated by hand.

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::text::SourceText;

pub(crate) static DOC_CUDA_INSTRUCTION: Entry = Entry {
    code: Code::MD101,
    name: "doc-cuda-instruction",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "Documentation tells users to install or run CUDA-only tools",
    explanation: "Markdown is never rewritten: instructions such as `pip install flash-attn`, \
`nvidia-smi` or CUDA_VISIBLE_DEVICES are reported so the docs can be updated by hand.",
    fix: "Add the NPU instructions (torch-npu install, npu-smi, ASCEND_RT_VISIBLE_DEVICES).",
    guide: "add NPU instructions next to CUDA ones in your docs (Markdown is never rewritten)",
    severities: None,
};

const PATTERNS: &[(&str, &str)] = &[
    (
        "pip install flash-attn",
        "installs flash-attn, which has no Ascend build",
    ),
    (
        "pip install flash_attn",
        "installs flash-attn, which has no Ascend build",
    ),
    (
        "pip install xformers",
        "installs xformers, which has no Ascend build",
    ),
    ("nvidia-smi", "uses nvidia-smi; Ascend hosts have npu-smi"),
    (
        "CUDA_VISIBLE_DEVICES",
        "sets CUDA_VISIBLE_DEVICES; Ascend reads ASCEND_RT_VISIBLE_DEVICES",
    ),
    (
        "download.pytorch.org/whl/cu",
        "installs a CUDA build of torch",
    ),
];

pub fn collect(source: &SourceText) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in source.body.lines().enumerate() {
        for (pattern, why) in PATTERNS {
            if let Some(col) = line.find(pattern) {
                let message = format!("documentation {why}: `{}`", line.trim());
                out.push(Diagnostic::new(
                    &DOC_CUDA_INSTRUCTION,
                    i + 1,
                    col + 1,
                    message,
                ));
                break;
            }
        }
    }
    out
}
