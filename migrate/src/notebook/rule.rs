//! The notebook rule's catalog entry, apart from the code that reports it: the catalog
//! lists this entry, and the reporting code reads rule names from the catalog.

use crate::code::{Code, Entry, Kind, Severity};

pub(crate) static NOTEBOOK_CUDA: Entry = Entry {
    code: Code::NB101,
    name: "notebook-cuda",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "CUDA-specific text in a notebook cell that is not migrated",
    explanation: "Code cells are migrated with the Python rules (IPython magics and `!` escapes are \
kept as they are). A cell that does not parse as Python, or whose cell magic makes it something \
else (`%%bash`, `%%writefile`), is left unchanged, so its CUDA-specific lines are reported.",
    fix: "Fix the cell so it parses and run migrate again, or make the change by hand; for a \
`%%bash` cell, the shell rules (SH001, SH002) say what to write.",
    guide: "make the cell parse and run again, or change it by hand (`%%bash` and other \
non-Python cells are left as they are)",
    severities: None,
};
