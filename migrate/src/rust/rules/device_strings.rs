//! "cuda" / "cuda:N" string literals in Rust: a hard-coded CUDA device passed to the
//! device crate's selection is dropped, one parsed as a device is reported, and any other
//! is noted, because the tool rewrites device construction, not arbitrary strings.

use super::checker::Checker;
use crate::code::{Code, Entry, Kind, Severity};
use syn::spanned::Spanned;

pub(crate) static PINNED_DEVICE_SELECTION: Entry = Entry {
    code: Code::RS003,
    name: "pinned-device-selection",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`select(Some(\"cuda:0\"))` on the device crate's manager becomes `select(None)`",
    explanation: "A hard-coded CUDA device passed to the selection overrides the NPU-first order and \
PREFERRED_DEVICE.",
    fix: "`select(None)` lets PREFERRED_DEVICE or the NPU/CUDA/CPU order decide.",
    guide: "`manager.select(Some(\"cuda:0\"))` -> `manager.select(None)`",
    severities: None,
};

pub(crate) static PARSED_CUDA_DEVICE: Entry = Entry {
    code: Code::RS104,
    name: "parsed-cuda-device",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A hard-coded \"cuda:N\" string is parsed as a device",
    explanation: "The program always asks for CUDA; PREFERRED_DEVICE and the NPU-first order are bypassed.",
    fix: "Use `device::DeviceManager::new().select(None)` or read the device from PREFERRED_DEVICE.",
    guide: "a parsed `\"cuda:N\"`: use `device::DeviceManager::new().select(None)` or \
PREFERRED_DEVICE",
    severities: None,
};

pub(crate) static UNHANDLED_CUDA_STRING_RUST: Entry = Entry {
    code: Code::RS106,
    name: "unhandled-cuda-string-rust",
    kind: Kind::Diagnostic,
    severity: Severity::Info,
    summary: "A \"cuda\" / \"cuda:N\" string literal in Rust that is not rewritten",
    explanation: "The tool rewrites device construction, not arbitrary strings.",
    fix: "If it selects a device, route it through the device crate.",
    guide: "if the string selects a device, route it through the device crate",
    severities: None,
};

/// "cuda" or "cuda:N".
pub fn is_cuda_device(value: &str) -> bool {
    value == "cuda"
        || value
            .strip_prefix("cuda:")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

impl Checker<'_> {
    /// `manager.select(Some("cuda:0"))` pins a device the selection would choose.
    pub fn pinned_selection(&mut self, call: &syn::ExprMethodCall) {
        if let Some(syn::Expr::Call(some)) = call.args.first()
            && matches!(some.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("Some"))
            && let Some(syn::Expr::Lit(lit)) = some.args.first()
            && let syn::Lit::Str(s) = &lit.lit
            && is_cuda_device(&s.value())
        {
            self.handled_strings.insert(self.range(s.span()).0);
            self.replace(&PINNED_DEVICE_SELECTION, some.span(), "None");
        }
    }

    /// `"cuda:0".parse()`.
    pub fn parsed_device(&mut self, call: &syn::ExprMethodCall) {
        if let syn::Expr::Lit(lit) = call.receiver.as_ref()
            && let syn::Lit::Str(s) = &lit.lit
            && is_cuda_device(&s.value())
        {
            self.handled_strings.insert(self.range(s.span()).0);
            self.diag(
                &PARSED_CUDA_DEVICE,
                s.span(),
                format!("{} is parsed as a fixed device", self.text(s.span())),
            );
        }
    }

    /// A device string no rule dealt with.
    pub fn leftover_cuda_string(&mut self, lit: &syn::LitStr) {
        if is_cuda_device(&lit.value()) && !self.handled_strings.contains(&self.range(lit.span()).0)
        {
            self.diag(
                &UNHANDLED_CUDA_STRING_RUST,
                lit.span(),
                format!("{} is left unchanged", self.text(lit.span())),
            );
        }
    }
}
