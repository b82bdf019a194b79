//! cudarc loads libcuda and NVRTC directly; nothing of it runs on an Ascend NPU. Reported
//! once per file, at the first path or `use` that names it.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use syn::spanned::Spanned;

pub(crate) static CUDARC: Entry = Entry {
    code: Code::RS103,
    name: "cudarc",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "cudarc drives CUDA directly and has no NPU equivalent",
    explanation: "cudarc loads libcuda and NVRTC; nothing of it runs on an Ascend NPU.",
    fix: "Keep it behind a `cuda` feature; express NPU work with ops-npu kernels.",
    guide: "keep cudarc behind a `cuda` feature; NPU work through ops-npu",
    severities: None,
};

impl Checker<'_> {
    pub fn cudarc_path(&mut self, path: &syn::Path) {
        if !self.cudarc_reported && path.segments.first().is_some_and(|s| s.ident == "cudarc") {
            self.cudarc_reported = true;
            self.diag(&CUDARC, path.span(), "cudarc drives CUDA directly");
        }
    }

    pub fn cudarc_use(&mut self, item: &syn::ItemUse) {
        if !self.cudarc_reported && use_root(&item.tree) == Some("cudarc".to_string()) {
            self.cudarc_reported = true;
            self.diag(&CUDARC, item.span(), "cudarc drives CUDA directly");
        }
    }
}

fn use_root(tree: &syn::UseTree) -> Option<String> {
    match tree {
        syn::UseTree::Path(p) => Some(p.ident.to_string()),
        syn::UseTree::Name(n) => Some(n.ident.to_string()),
        syn::UseTree::Rename(r) => Some(r.ident.to_string()),
        _ => None,
    }
}
