//! The safety net under every other rule: a use of CUDA that no rule rewrote or reported
//! (a `.cuda` attribute, a name bound to `torch.cuda` or one of its members) is reported
//! here, so a file is never counted as fully converted while it still reaches CUDA.

use super::checker::{Checker, span};
use crate::code::{Code, Entry, Kind, Severity};
use crate::python::bindings::Bindings;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprContext, Stmt};
use ruff_text_size::{Ranged, TextRange};
use std::collections::HashSet;

pub(crate) static UNRESOLVED_CUDA: Entry = Entry {
    code: Code::PY115,
    name: "unresolved-cuda-name",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A use of CUDA no rule could rewrite",
    explanation: "The expression reaches CUDA (a `.cuda` attribute, `torch.cuda` under another name, an \
argument of a kind the rules cannot tell apart) but no rewrite is certain to be right, so it is \
left as written. On an NPU host it keeps asking for CUDA. Assignments to `torch.cuda.<name>` \
(compatibility shims) are kept on purpose and reported as info.",
    fix: "Route the device through `device_utils` by hand (`device_utils.DEVICE`, \
`device_utils.DEVICE_MODULE`), or import torch by name so the rules can follow it.",
    guide: "route it through `device_utils` by hand; assignments to `torch.cuda.X` (shims) are \
kept on purpose",
    severities: Some("warning (use), info (assignment to torch.cuda.X, torch.version.cuda)"),
};

impl Checker<'_> {
    /// Remembers an expression that reaches CUDA, to be reported if nothing handles it.
    pub fn cuda_use(&mut self, expr: &Expr) {
        let load = match expr {
            // `torch.Tensor.cuda = torch.Tensor.xpu`: a shim, kept and said so.
            Expr::Attribute(attr)
                if attr.attr.id.as_str() == "cuda" && attr.ctx != ExprContext::Load =>
            {
                return self.cuda_shim_assignment(expr);
            }
            Expr::Attribute(attr) => {
                attr.attr.id.as_str() == "cuda" && attr.ctx == ExprContext::Load
            }
            Expr::Name(name) => {
                name.ctx == ExprContext::Load
                    && self
                        .qualified(expr)
                        .is_some_and(|q| q == "torch.cuda" || q.starts_with("torch.cuda."))
                    && !self.amp_name_from_rewritten_import(expr)
            }
            _ => false,
        };
        if load {
            self.cuda_uses.push(expr.range());
        }
    }

    /// Names imported by `from torch.cuda.amp import X`: that import is what gets rewritten.
    fn amp_name_from_rewritten_import(&self, expr: &Expr) -> bool {
        self.qualified(expr).is_some_and(|q| {
            q.strip_prefix("torch.cuda.amp.")
                .is_some_and(|rest| !rest.contains('.'))
        })
    }

    /// Whether a fix or a diagnostic already covers `range`.
    pub fn covered(&self, range: TextRange) -> bool {
        let (s, e) = (range.start().to_usize(), range.end().to_usize());
        let by_fix = self
            .findings
            .fixes
            .iter()
            .flat_map(|f| &f.edits)
            .any(|edit| {
                if edit.start == edit.end {
                    s <= edit.start && edit.start < e
                } else {
                    edit.start < e && s < edit.end
                }
            });
        by_fix
            || self
                .reported
                .iter()
                .any(|(r, _)| r.start().to_usize() < e && s < r.end().to_usize())
    }

    /// `name = <value>` with a plain name target, so a CUDA use inside the value can be
    /// followed to where the name is called.
    pub fn remember_binding(&mut self, target: &Expr, value: &Expr) {
        if let Expr::Name(name) = target {
            self.bound_values
                .push((name.id.as_str().to_string(), value.range()));
        }
    }

    /// `name(...)`: a call of a plain name, where a bound CUDA use may take effect.
    pub fn remember_name_call(&mut self, call: &ruff_python_ast::ExprCall) {
        if let Expr::Name(name) = call.func.as_ref() {
            self.name_calls
                .push((name.id.as_str().to_string(), call.range()));
        }
    }

    /// Reports every remembered CUDA use that no rule handled, and the calls of a name bound
    /// to one (`sync = getattr(torch.cuda, "synchronize")` ... `sync()`), where it stops a run.
    pub fn report_unresolved(&mut self) {
        let uses = std::mem::take(&mut self.cuda_uses);
        for range in uses {
            if self.covered(range) {
                continue;
            }
            let names: Vec<String> = self
                .bound_values
                .iter()
                .filter(|(_, value)| value.contains_range(range))
                .map(|(name, _)| name.clone())
                .collect();
            let calls: Vec<TextRange> = self
                .name_calls
                .iter()
                .filter(|(name, _)| names.contains(name))
                .map(|(_, call)| *call)
                .collect();
            let line = self.src.line_of(range.start().to_usize());
            for call in calls {
                let text = self.text(&call).to_string();
                self.diag(
                    &UNRESOLVED_CUDA,
                    call,
                    format!("`{text}` calls what line {line} bound to CUDA"),
                );
            }
            let text = self.src.body[span(&range).0..span(&range).1].to_string();
            let version_string = text.ends_with("version.cuda");
            let diag = self.diag(
                &UNRESOLVED_CUDA,
                range,
                format!("`{text}` reaches CUDA and is left as written"),
            );
            if version_string {
                diag.set_severity(Severity::Info)
                    .set_fix("torch.version.cuda is None on NPU builds of torch; decide with device_utils.DEVICE_TYPE");
            }
        }
    }

    /// A use of a torch.cuda member this file's shim replaces: rewriting it would bypass the
    /// shim, so it is left as written.
    pub fn shimmed_use(&mut self, at: TextRange, member: &str) {
        self.diag(
            &UNRESOLVED_CUDA,
            at,
            format!(
                "torch.cuda.{member} is replaced by an assignment in this file; left as written"
            ),
        )
        .set_severity(Severity::Info)
        .set_fix("Nothing to do if the assignment is a compatibility shim.");
    }

    /// `torch.cuda.X = ...`: somebody's compatibility shim, kept exactly as written.
    pub fn cuda_shim_assignment(&mut self, target: &Expr) {
        self.diag(
            &UNRESOLVED_CUDA,
            target.range(),
            format!("assignment to `{}` is kept as written", self.text(target)),
        )
        .set_severity(Severity::Info)
        .set_fix("Nothing to do if this is a compatibility shim; it is never rewritten.");
    }
}

/// The torch.cuda members a file assigns to (its compatibility shim replaces them).
pub fn shimmed_members(body: &[Stmt], bindings: &Bindings) -> HashSet<String> {
    let mut scan = ShimScan {
        bindings,
        members: HashSet::new(),
    };
    scan.visit_body(body);
    scan.members
}

struct ShimScan<'a> {
    bindings: &'a Bindings,
    members: HashSet<String>,
}

impl<'a> Visitor<'a> for ShimScan<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Attribute(attr) = expr
            && attr.ctx != ExprContext::Load
            && self.bindings.qualified(&attr.value).as_deref() == Some("torch.cuda")
        {
            self.members.insert(attr.attr.id.as_str().to_string());
        }
        visitor::walk_expr(self, expr);
    }
}
