//! Macro arguments are token streams, not parsed code, so a CUDA device inside one is
//! reported for a human to rewrite rather than rewritten.

use super::checker::Checker;
use super::device_strings::is_cuda_device;
use crate::code::{Code, Entry, Kind, Severity};
use proc_macro2::TokenTree;
use syn::spanned::Spanned;

pub(crate) static MACRO_BODY: Entry = Entry {
    code: Code::RS105,
    name: "macro-body",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "A macro body mentions a CUDA device",
    explanation: "Macro arguments are token streams, not parsed code, so rewriting them could be wrong.",
    fix: "Apply the RS001 / RS002 rewrite inside the macro by hand.",
    guide: "apply RS001 / RS002 inside the macro by hand",
    severities: None,
};

impl Checker<'_> {
    pub fn macro_body(&mut self, mac: &syn::Macro) {
        let interesting = mac.tokens.clone().into_iter().any(|t| mentions_cuda(&t));
        if interesting {
            let name = mac
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            self.diag(
                &MACRO_BODY,
                mac.span(),
                format!("`{name}!` mentions a CUDA device; macro bodies are not rewritten"),
            );
        }
    }
}

fn mentions_cuda(token: &TokenTree) -> bool {
    match token {
        TokenTree::Ident(i) => matches!(
            i.to_string().as_str(),
            "new_cuda" | "cuda_if_available" | "Cuda"
        ),
        TokenTree::Group(g) => g.stream().into_iter().any(|t| mentions_cuda(&t)),
        TokenTree::Literal(l) => {
            let text = l.to_string();
            is_cuda_device(text.trim_matches('"'))
        }
        TokenTree::Punct(_) => false,
    }
}
