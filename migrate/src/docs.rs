//! Markdown is documentation for people: never rewritten, only reported (MD101), so a
//! README's install lines can be updated by hand.

use crate::diagnostic::Diagnostic;
use crate::text::SourceText;

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
                out.push(Diagnostic::new("MD101", i + 1, col + 1, message));
                break;
            }
        }
    }
    out
}

/// One diagnostic for a whole .cu / .cuh file.
pub fn cuda_source(path: &str) -> Diagnostic {
    Diagnostic::new(
        "CU101",
        1,
        1,
        format!("{path} is CUDA source and has to be ported by hand"),
    )
}
