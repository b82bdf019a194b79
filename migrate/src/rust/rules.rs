//! The Rust rules: candle and tch device construction goes through the toolkit's `device`
//! crate; what cannot be rewritten with certainty (match patterns, `is_cuda()` decisions,
//! cudarc, macro bodies) becomes a diagnostic.

use crate::diagnostic::Diagnostic;
use crate::edit::Fix;
use crate::text::SourceText;
use proc_macro2::{LineColumn, Span, TokenTree};
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

/// Which framework a `Device` path refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Candle,
    Tch,
}

/// What the rewritten file needs from the `device` crate.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// `device::candle::best_candle_device` (the `candle` feature).
    pub candle: bool,
    /// `device::framework::cuda_ordinal`.
    pub framework: bool,
}

pub struct Findings {
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
    pub needs: Needs,
}

const TCH_EXPECT: &str = "PREFERRED_DEVICE names a device this program cannot use";

pub fn collect(file: &syn::File, source: &SourceText) -> Findings {
    let mut imports = Imports::default();
    imports.visit_file(file);
    let mut c = Collector {
        src: source,
        device_types: imports.device_types,
        fixes: Vec::new(),
        diagnostics: Vec::new(),
        needs: Needs::default(),
        handled_strings: HashSet::new(),
        cudarc_reported: false,
    };
    c.visit_file(file);
    Findings {
        fixes: c.fixes,
        diagnostics: c.diagnostics,
        needs: c.needs,
    }
}

/// `use` declarations that bring a framework's `Device` type into scope (with aliases).
#[derive(Default)]
struct Imports {
    device_types: HashMap<String, Framework>,
}

fn framework_of_crate(name: &str) -> Option<Framework> {
    match name {
        "candle_core" | "candle" => Some(Framework::Candle),
        "tch" => Some(Framework::Tch),
        _ => None,
    }
}

impl Imports {
    fn walk(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.walk(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.walk(item, prefix);
                }
            }
            syn::UseTree::Name(n) if n.ident == "Device" => self.record(prefix, "Device"),
            syn::UseTree::Rename(r) if r.ident == "Device" => {
                self.record(prefix, &r.rename.to_string())
            }
            _ => {}
        }
    }

    fn record(&mut self, prefix: &[String], local: &str) {
        if let Some(framework) = prefix.first().and_then(|c| framework_of_crate(c)) {
            self.device_types.insert(local.to_string(), framework);
        }
    }
}

impl<'a> Visit<'a> for Imports {
    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        self.walk(&item.tree, &mut Vec::new());
    }
}

struct Collector<'s> {
    src: &'s SourceText,
    device_types: HashMap<String, Framework>,
    fixes: Vec<Fix>,
    diagnostics: Vec<Diagnostic>,
    needs: Needs,
    handled_strings: HashSet<usize>,
    cudarc_reported: bool,
}

impl Collector<'_> {
    fn offset(&self, at: LineColumn) -> usize {
        self.src.offset_of_line_column(at.line, at.column)
    }

    fn range(&self, span: Span) -> (usize, usize) {
        (self.offset(span.start()), self.offset(span.end()))
    }

    fn text(&self, span: Span) -> &str {
        let (s, e) = self.range(span);
        &self.src.body[s..e]
    }

    fn diag(&mut self, code: &'static str, span: Span, message: impl Into<String>) {
        let start = span.start();
        self.diagnostics
            .push(Diagnostic::new(code, start.line, start.column + 1, message));
    }

    /// `(framework, function)` for `Device::new_cuda`, `candle_core::Device::new_cuda`,
    /// `tch::Device::Cuda` ...
    fn device_path(&self, path: &syn::Path) -> Option<(Framework, String)> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let n = segments.len();
        if n < 2 {
            return None;
        }
        let function = segments[n - 1].clone();
        let framework = if n == 2 {
            *self.device_types.get(&segments[0])?
        } else if segments[n - 2] == "Device" {
            framework_of_crate(&segments[n - 3])?
        } else {
            return None;
        };
        Some((framework, function))
    }

    fn call(&mut self, call: &syn::ExprCall) {
        let syn::Expr::Path(func) = call.func.as_ref() else {
            return;
        };
        let Some((framework, function)) = self.device_path(&func.path) else {
            return;
        };
        let args: Vec<&syn::Expr> = call.args.iter().collect();
        let (start, end) = self.range(call.span());
        let replacement = match (framework, function.as_str(), args.as_slice()) {
            (Framework::Candle, "new_cuda" | "cuda_if_available", [ordinal]) => {
                self.needs.candle = true;
                format!(
                    "::device::candle::best_candle_device({})",
                    self.text(ordinal.span())
                )
            }
            (Framework::Tch, "Cuda", [ordinal]) => {
                self.needs.framework = true;
                tch_device(self.text(ordinal.span()))
            }
            (Framework::Tch, "cuda_if_available", []) => {
                self.needs.framework = true;
                tch_device("0")
            }
            _ => return,
        };
        let code = if framework == Framework::Candle {
            "RS001"
        } else {
            "RS002"
        };
        self.fixes.push(Fix::single(code, start, end, replacement));
    }

    fn method_call(&mut self, call: &syn::ExprMethodCall) {
        let method = call.method.to_string();
        match method.as_str() {
            "is_cuda" | "is_cpu" => {
                self.diag(
                    "RS102",
                    call.method.span(),
                    format!("`{method}()` decides between CUDA and the CPU only"),
                );
            }
            // `manager.select(Some("cuda:0"))` pins a device the selection would choose.
            "select" if call.args.len() == 1 => {
                if let Some(syn::Expr::Call(some)) = call.args.first()
                    && matches!(some.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("Some"))
                    && let Some(syn::Expr::Lit(lit)) = some.args.first()
                    && let syn::Lit::Str(s) = &lit.lit
                    && is_cuda_device(&s.value())
                {
                    self.handled_strings.insert(self.range(s.span()).0);
                    let (start, end) = self.range(some.span());
                    self.fixes.push(Fix::single("RS003", start, end, "None"));
                }
            }
            "parse" => {
                if let syn::Expr::Lit(lit) = call.receiver.as_ref()
                    && let syn::Lit::Str(s) = &lit.lit
                    && is_cuda_device(&s.value())
                {
                    self.handled_strings.insert(self.range(s.span()).0);
                    self.diag(
                        "RS104",
                        s.span(),
                        format!("{} is parsed as a fixed device", self.text(s.span())),
                    );
                }
            }
            _ => {}
        }
    }

    fn macro_body(&mut self, mac: &syn::Macro) {
        let interesting = mac.tokens.clone().into_iter().any(|t| mentions_cuda(&t));
        if interesting {
            let name = mac
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            self.diag(
                "RS105",
                mac.span(),
                format!("`{name}!` mentions a CUDA device; macro bodies are not rewritten"),
            );
        }
    }
}

fn tch_device(ordinal: &str) -> String {
    format!(
        "::device::framework::cuda_ordinal({ordinal}).expect(\"{TCH_EXPECT}\").map_or(tch::Device::Cpu, tch::Device::Cuda)"
    )
}

fn is_cuda_device(value: &str) -> bool {
    value == "cuda"
        || value
            .strip_prefix("cuda:")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
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

impl<'a> Visit<'a> for Collector<'_> {
    fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
        self.call(call);
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        self.method_call(call);
        visit::visit_expr_method_call(self, call);
    }

    fn visit_pat_tuple_struct(&mut self, pat: &'a syn::PatTupleStruct) {
        if self
            .device_path(&pat.path)
            .is_some_and(|(_, variant)| variant == "Cuda")
        {
            self.diag(
                "RS101",
                pat.span(),
                "a match on the CUDA device variant; no NPU variant exists",
            );
        }
        visit::visit_pat_tuple_struct(self, pat);
    }

    fn visit_path(&mut self, path: &'a syn::Path) {
        if !self.cudarc_reported && path.segments.first().is_some_and(|s| s.ident == "cudarc") {
            self.cudarc_reported = true;
            self.diag("RS103", path.span(), "cudarc drives CUDA directly");
        }
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        if !self.cudarc_reported && use_root(&item.tree) == Some("cudarc".to_string()) {
            self.cudarc_reported = true;
            self.diag("RS103", item.span(), "cudarc drives CUDA directly");
        }
        visit::visit_item_use(self, item);
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        self.macro_body(mac);
        visit::visit_macro(self, mac);
    }

    fn visit_lit_str(&mut self, lit: &'a syn::LitStr) {
        if is_cuda_device(&lit.value()) && !self.handled_strings.contains(&self.range(lit.span()).0)
        {
            self.diag(
                "RS106",
                lit.span(),
                format!("{} is left unchanged", self.text(lit.span())),
            );
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
