//! .cu / .cuh files: CUDA kernels have to be ported by hand, so the file is reported whole
//! (its content is not read and need not be UTF-8).

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;

pub(crate) static CUDA_SOURCE: Entry = Entry {
    code: Code::CU101,
    name: "cuda-source",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "A .cu / .cuh CUDA source file",
    explanation: "CUDA kernels do not run on Ascend NPUs.",
    fix: "Port the kernel to Ascend C or replace it with torch / torch_npu operators.",
    guide: "port .cu / .cuh kernels to Ascend C or torch_npu operators",
    severities: None,
};

/// The one diagnostic for the file at `path`.
pub fn report(path: &str) -> Diagnostic {
    Diagnostic::new(
        &CUDA_SOURCE,
        1,
        1,
        format!("{path} is CUDA source and has to be ported by hand"),
    )
}
