//! NCCL_* settings in a script configure NVIDIA's collective library only; HCCL has its own.

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::findings::Findings;
use crate::text::Line;

pub(crate) static NCCL_ENV: Entry = Entry {
    code: Code::SH102,
    name: "nccl-env",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "NCCL_* variables do not configure HCCL",
    explanation: "NCCL settings are ignored on Ascend.",
    fix: "Set the HCCL equivalents (HCCL_CONNECT_TIMEOUT, HCCL_BUFFSIZE, HCCL_IF_IP ...) if needed.",
    guide: "set HCCL_* equivalents if needed",
    severities: None,
};

pub fn check(line: &Line, out: &mut Findings) {
    let trimmed = line.trimmed();
    if trimmed.contains("NCCL_") && (trimmed.starts_with("export ") || trimmed.starts_with("NCCL_"))
    {
        out.diagnostics.push(Diagnostic::new(
            &NCCL_ENV,
            line.number,
            line.indent().len() + 1,
            format!("`{trimmed}` does not configure HCCL"),
        ));
    }
}
