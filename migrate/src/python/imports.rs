//! The import rewritten code needs: finding an existing import of the helper (or
//! torch_npu) and the place to add one.

use crate::code::{Code, Entry, Kind, Severity};
use crate::edit::{Edit, Fix};
use crate::options::RuleOptions;
use crate::text::SourceText;
use ruff_python_ast::{Expr, ModModule, Stmt};
use ruff_python_parser::Parsed;
use ruff_text_size::Ranged;

pub(crate) static HELPER_IMPORT: Entry = Entry {
    code: Code::PY011,
    name: "helper-import",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "The helper module is imported once where rewritten code uses it",
    explanation: "Rewritten call sites refer to the helper module (default `device_utils`), which the \
patch adds at the root of the tree for loose scripts and inside each top-level package for \
its modules (imported relatively, so an installed package still imports it). NPU style \
imports `torch_npu` instead.",
    fix: "`import device_utils` (in a package: `from . import device_utils`, one dot more per \
level, with `from <package> import device_utils` as the fallback for a module run as a \
script) is added after the module's leading imports, once.",
    guide: "`import device_utils` (a package's modules: `from . import device_utils`; NPU style \
`import torch_npu`) once, after the module's leading imports, \
where rewritten code needs it",
    severities: None,
};

/// `import <helper>` (or `import torch_npu`) when rewritten code will need it.
pub fn helper_import(
    parsed: &Parsed<ModModule>,
    source: &SourceText,
    options: &RuleOptions,
) -> Option<Fix> {
    let module = options.required_import();
    if imports_module(parsed.suite(), module) {
        return None;
    }
    let (at, needs_newline_first) = insertion_point(parsed.suite(), &source.body);
    let nl = source.newline;
    let statement = options.import_statement().replace('\n', nl);
    let text = if needs_newline_first {
        format!("{nl}{statement}{nl}")
    } else {
        format!("{statement}{nl}")
    };
    Some(Fix::new(HELPER_IMPORT.code, vec![Edit::insert(at, text)]))
}

/// True when the module body already imports `module` (any form, any depth of nesting in
/// if blocks is not searched: the helper import is always top-level, or in a top-level `try`).
fn imports_module(body: &[Stmt], module: &str) -> bool {
    body.iter().any(|stmt| match stmt {
        // The package form: `try: from .. import device_utils` / `except ImportError: ...`.
        Stmt::Try(t) => imports_module(&t.body, module),
        Stmt::Import(import) => import.names.iter().any(|a| a.name.id.as_str() == module),
        Stmt::ImportFrom(from) if from.level == 0 => from
            .module
            .as_ref()
            .is_some_and(|m| m.id.as_str() == module),
        // `from .. import device_utils`: the package's own copy of the helper.
        Stmt::ImportFrom(from) => {
            from.module.is_none()
                && from
                    .names
                    .iter()
                    .any(|a| a.asname.is_none() && a.name.id.as_str() == module)
        }
        _ => false,
    })
}

/// Where a new top-level `import` goes: after the module's leading block of imports (past
/// any docstring and `from __future__` imports), at the start of a line.
/// Returns the byte offset and whether a newline must be written before the import because
/// the file ends without one right there.
fn insertion_point(body: &[Stmt], source: &str) -> (usize, bool) {
    let mut stmts = body.iter().peekable();
    let mut anchor: Option<&Stmt> = None;
    if let Some(Stmt::Expr(expr)) = stmts.peek()
        && matches!(expr.value.as_ref(), Expr::StringLiteral(_))
    {
        anchor = stmts.next();
    }
    let mut seen_import = false;
    for stmt in stmts {
        match stmt {
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                anchor = Some(stmt);
                seen_import = true;
            }
            _ if seen_import => break,
            // No import at the top: go before the first statement, after leading comments.
            _ => {
                if anchor.is_none() {
                    return (line_start(source, stmt.start().to_usize()), false);
                }
                break;
            }
        }
    }
    match anchor {
        None => (
            source.len(),
            !source.is_empty() && !source.ends_with(['\n', '\r']),
        ),
        Some(stmt) => {
            let end = stmt.end().to_usize();
            match source[end..].find(['\n', '\r']) {
                Some(i) => (end + i + line_break_len(&source[end + i..]), false),
                None => (source.len(), true),
            }
        }
    }
}

/// The length of the line break `rest` starts with: \r\n, \n or a lone \r (which ends a
/// line in Python as the others do).
fn line_break_len(rest: &str) -> usize {
    if rest.starts_with("\r\n") { 2 } else { 1 }
}

fn line_start(source: &str, offset: usize) -> usize {
    source[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1)
}
