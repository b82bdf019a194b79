//! The Rust rules: candle and tch device construction goes through the toolkit's `device`
//! crate; what cannot be rewritten with certainty (match patterns, `is_cuda()` decisions,
//! cudarc, macro bodies) becomes a diagnostic. The rules live one family to a file, each
//! with its catalog entries; this walk only decides which rule sees which node.

mod checker;
pub(crate) mod cuda_decisions;
pub(crate) mod cudarc;
pub(crate) mod device_strings;
mod framework;
pub(crate) mod framework_device;
pub(crate) mod macro_body;

pub use checker::Needs;
pub use framework::Framework;

use crate::diagnostic::Diagnostic;
use crate::edit::Fix;
use crate::text::SourceText;
use checker::Checker;
use syn::visit::{self, Visit};

pub struct Findings {
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
    pub needs: Needs,
}

pub fn collect(file: &syn::File, source: &SourceText) -> Findings {
    let mut checker = Checker::new(source, framework::imported_device_types(file));
    checker.visit_file(file);
    Findings {
        fixes: checker.fixes,
        diagnostics: checker.diagnostics,
        needs: checker.needs,
    }
}

impl<'a> Visit<'a> for Checker<'_> {
    fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
        self.device_construction(call);
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        let method = call.method.to_string();
        match method.as_str() {
            "is_cuda" | "is_cpu" => self.is_cuda_call(call, &method),
            "select" if call.args.len() == 1 => self.pinned_selection(call),
            "parse" => self.parsed_device(call),
            _ => {}
        }
        visit::visit_expr_method_call(self, call);
    }

    fn visit_pat_tuple_struct(&mut self, pat: &'a syn::PatTupleStruct) {
        self.cuda_variant_pattern(pat);
        visit::visit_pat_tuple_struct(self, pat);
    }

    fn visit_path(&mut self, path: &'a syn::Path) {
        self.cudarc_path(path);
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        self.cudarc_use(item);
        visit::visit_item_use(self, item);
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        self.macro_body(mac);
        visit::visit_macro(self, mac);
    }

    fn visit_lit_str(&mut self, lit: &'a syn::LitStr) {
        self.leftover_cuda_string(lit);
    }
}
