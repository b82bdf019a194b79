//! The notebook rule's catalog entry, apart from the code that reports it: the catalog
//! lists this entry, and the reporting code reads rule names from the catalog.

use crate::code::{Code, Entry, Kind, Severity};

pub(crate) static NOTEBOOK_CUDA: Entry = Entry {
    code: Code::NB101,
    name: "notebook-cuda",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "CUDA-specific code in a Jupyter notebook cell",
    explanation: "Notebooks are JSON; migrate reports their code cells but does not rewrite them.",
    fix: "Apply the rewrite the message names by hand, or move the code into a .py module that \
migrate rewrites and import it from the notebook.",
    guide: "make the change the message names by hand (notebooks are reported, not rewritten)",
    severities: None,
};
