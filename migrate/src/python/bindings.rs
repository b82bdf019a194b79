//! What the names of one file refer to: every `import` form and alias of the modules the
//! rules care about, so `th.cuda`, `tc.synchronize` and a bare `cuda` resolve to
//! `torch.cuda...` the same way the spelled-out name does.
//!
//! The map is per file, not per scope: a name imported in one function is taken to mean the
//! same module everywhere in the file. Real code rarely rebinds `torch`'s names to other
//! modules, and a wrong "this is torch.cuda" only ever turns into a diagnostic or a rewrite
//! that the unresolved-name check would otherwise have reported.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};
use std::collections::HashMap;

/// Top-level modules whose names the rules look at.
const TRACKED: &[&str] = &[
    "torch",
    "flash_attn",
    "xformers",
    "triton",
    "safetensors",
    "apex",
    "bitsandbytes",
];

/// Local name -> the qualified name it is bound to (`th` -> `torch`, `cuda` -> `torch.cuda`).
#[derive(Debug, Default, Clone)]
pub struct Bindings {
    names: HashMap<String, String>,
}

fn tracked(module: &str) -> bool {
    let root = module.split('.').next().unwrap_or_default();
    TRACKED.contains(&root)
}

impl Bindings {
    /// Collects every import of a tracked module anywhere in `body`.
    pub fn of(body: &[Stmt]) -> Self {
        let mut collector = Collector::default();
        collector.visit_body(body);
        collector.bindings
    }

    fn bind(&mut self, local: &str, qualified: String) {
        self.names.insert(local.to_string(), qualified);
    }

    /// What a local name refers to, when it was imported from a tracked module. Names never
    /// imported keep their spelling for the tracked roots (`torch` used without an import in
    /// a fragment still means torch).
    pub fn resolve_name(&self, name: &str) -> Option<String> {
        match self.names.get(name) {
            Some(q) => Some(q.clone()),
            None if TRACKED.contains(&name) || name == "cpp_extension" => Some(name.to_string()),
            None => None,
        }
    }

    /// `torch.cuda.synchronize` for `th.cuda.synchronize`, `tc.synchronize`, `cuda.synchronize`
    /// or a bare `synchronize` imported from torch.cuda; None for anything else.
    pub fn qualified(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Name(name) => self.resolve_name(name.id.as_str()),
            Expr::Attribute(attr) => {
                let mut base = self.qualified(&attr.value)?;
                base.push('.');
                base.push_str(attr.attr.id.as_str());
                Some(base)
            }
            _ => None,
        }
    }

    /// A local name bound to `module` itself (`th` for `import torch as th`), preferring the
    /// module's own name, for replacement text that must name it.
    pub fn local_for(&self, module: &str) -> Option<&str> {
        if let Some((local, _)) = self
            .names
            .get_key_value(module)
            .filter(|(_, q)| *q == module)
        {
            return Some(local.as_str());
        }
        let mut candidates: Vec<&str> = self
            .names
            .iter()
            .filter(|(_, q)| q.as_str() == module)
            .map(|(local, _)| local.as_str())
            .collect();
        candidates.sort_unstable();
        candidates.first().copied()
    }
}

#[derive(Default)]
struct Collector {
    bindings: Bindings,
}

impl<'a> Visitor<'a> for Collector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let module = alias.name.id.as_str();
                    if !tracked(module) {
                        continue;
                    }
                    match &alias.asname {
                        // `import torch.cuda as tc` binds tc to the submodule.
                        Some(asname) => self.bindings.bind(asname.id.as_str(), module.to_string()),
                        // `import torch.cuda` binds `torch` only.
                        None => {
                            let root = module.split('.').next().unwrap_or(module);
                            self.bindings.bind(root, root.to_string());
                        }
                    }
                }
            }
            Stmt::ImportFrom(from) if from.level == 0 => {
                let Some(module) = from.module.as_ref().map(|m| m.id.as_str()) else {
                    return;
                };
                if !tracked(module) {
                    return;
                }
                for alias in &from.names {
                    let name = alias.name.id.as_str();
                    if name == "*" {
                        continue;
                    }
                    let local = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bindings
                        .bind(local.id.as_str(), format!("{module}.{name}"));
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(src: &str) -> Bindings {
        let parsed = ruff_python_parser::parse_module(src).expect("test source parses");
        Bindings::of(parsed.suite())
    }

    fn qualified(b: &Bindings, expr: &str) -> Option<String> {
        let parsed = ruff_python_parser::parse_expression(expr).expect("expression parses");
        b.qualified(parsed.expr())
    }

    #[test]
    fn every_import_form_resolves_to_the_qualified_name() {
        let b = bindings(
            "import torch as th\nfrom torch import cuda\nimport torch.cuda as tc\n\
from torch.cuda import amp, synchronize as sync\nimport torch.distributed as dist\n\
def f():\n    from torch import Generator as G\n",
        );
        for (expr, want) in [
            ("th.cuda.is_available", "torch.cuda.is_available"),
            ("cuda.empty_cache", "torch.cuda.empty_cache"),
            ("tc.synchronize", "torch.cuda.synchronize"),
            ("amp.autocast", "torch.cuda.amp.autocast"),
            ("sync", "torch.cuda.synchronize"),
            (
                "dist.init_process_group",
                "torch.distributed.init_process_group",
            ),
            ("G", "torch.Generator"),
        ] {
            assert_eq!(qualified(&b, expr).as_deref(), Some(want), "{expr}");
        }
        assert_eq!(qualified(&b, "numpy.cuda"), None);
        assert_eq!(b.local_for("torch"), Some("th"));
    }

    #[test]
    fn a_dotted_import_binds_only_its_root() {
        let b = bindings("import torch.cuda\n");
        assert_eq!(
            qualified(&b, "torch.cuda.synchronize").as_deref(),
            Some("torch.cuda.synchronize")
        );
        assert_eq!(qualified(&b, "cuda"), None);
    }

    #[test]
    fn untracked_modules_are_not_bound() {
        let b = bindings("import numpy as torch_like\nfrom os import path as cuda\n");
        assert_eq!(qualified(&b, "cuda.join"), None);
        assert_eq!(qualified(&b, "torch_like.zeros"), None);
    }
}
