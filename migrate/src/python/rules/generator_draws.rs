//! Where a CUDA generator's numbers are drawn: torch refuses a generator on one device for a
//! draw on another, so `torch.Generator("cuda")` may only become the helper's CPU generator
//! when no draw in the file puts it on a device, and must become a device generator when a
//! draw's `device=` is the (rewritten) device.

use super::span::span;
use crate::python::bindings::Bindings;
use crate::python::names::{callee_tail, cuda_string};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, Stmt};
use ruff_text_size::Ranged;
use std::collections::HashMap;

/// Where a generator created at some offset must live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A draw with the selected device uses it: a generator on that device.
    Device,
    /// A draw on a device the rules cannot follow (`device=self.device`) uses it, on this line.
    Unknown(usize),
}

/// torch functions that take both `generator=` and `device=`.
const DRAWS: &[&str] = &[
    "randn",
    "rand",
    "randint",
    "randperm",
    "randn_like",
    "rand_like",
    "randint_like",
    "normal",
    "bernoulli",
    "multinomial",
    "randn_tensor",
];

/// Generator creation offset -> placement, for generators some draw in the file decides.
pub fn placements(
    body: &[Stmt],
    bindings: &Bindings,
    source: &str,
    helper: &str,
    line_of: &dyn Fn(usize) -> usize,
) -> HashMap<usize, Placement> {
    let mut scan = Scan {
        bindings,
        source,
        helper,
        line_of,
        direct: HashMap::new(),
        by_name: HashMap::new(),
        created: Vec::new(),
    };
    scan.visit_body(body);
    let mut out = scan.direct;
    for (target, start) in scan.created {
        if let Some(placement) = scan.by_name.get(&target) {
            out.insert(start, placement.clone());
        }
    }
    out
}

struct Scan<'a> {
    bindings: &'a Bindings,
    source: &'a str,
    helper: &'a str,
    line_of: &'a dyn Fn(usize) -> usize,
    /// Generators created right inside a draw's `generator=`.
    direct: HashMap<usize, Placement>,
    /// `generator=<name>` in draws: the name's text -> placement.
    by_name: HashMap<String, Placement>,
    /// `<name> = torch.Generator("cuda")...`: the target's text and the creation offset.
    created: Vec<(String, usize)>,
}

impl Scan<'_> {
    fn text(&self, node: &impl Ranged) -> &str {
        let (s, e) = span(node);
        &self.source[s..e]
    }

    /// `torch.Generator("cuda")`, optionally followed by `.manual_seed(s)`.
    fn is_cuda_generator(&self, expr: &Expr) -> bool {
        let Expr::Call(call) = expr else { return false };
        if let Expr::Attribute(attr) = call.func.as_ref()
            && attr.attr.id.as_str() == "manual_seed"
        {
            return self.is_cuda_generator(&attr.value);
        }
        self.bindings.qualified(&call.func).as_deref() == Some("torch.Generator")
            && call
                .arguments
                .args
                .first()
                .or_else(|| call.arguments.find_keyword("device").map(|k| &k.value))
                .is_some_and(|d| cuda_string(d).is_some())
    }

    fn draw(&mut self, call: &ExprCall) {
        if !callee_tail(call).is_some_and(|t| DRAWS.contains(&t)) {
            return;
        }
        let (Some(generator), Some(device)) = (
            call.arguments.find_keyword("generator"),
            call.arguments.find_keyword("device"),
        ) else {
            return;
        };
        let device = &device.value;
        let on_selected = cuda_string(device).is_some()
            || self.text(device).starts_with(&format!("{}.", self.helper));
        let placement = if on_selected {
            Placement::Device
        } else {
            Placement::Unknown((self.line_of)(call.start().to_usize()))
        };
        let value = &generator.value;
        if self.is_cuda_generator(value) {
            self.direct.insert(value.start().to_usize(), placement);
            return;
        }
        let key = self.text(value).to_string();
        // One draw the rules cannot follow decides for every use of the name.
        let entry = self.by_name.entry(key).or_insert(placement.clone());
        if matches!(placement, Placement::Unknown(_)) {
            *entry = placement;
        }
    }
}

impl<'a> Visitor<'a> for Scan<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Assign(assign) = stmt
            && self.is_cuda_generator(&assign.value)
        {
            for target in &assign.targets {
                let target = self.text(target).to_string();
                self.created.push((target, assign.value.start().to_usize()));
            }
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            self.draw(call);
        }
        visitor::walk_expr(self, expr);
    }
}
