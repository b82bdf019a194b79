//! Finding an existing import of a module and the place to add one.

use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

/// True when the module body already imports `module` (any form, any depth of nesting in
/// top-level try/if blocks is not searched: the helper import is always top-level).
pub fn imports_module(body: &[Stmt], module: &str) -> bool {
    body.iter().any(|stmt| match stmt {
        Stmt::Import(import) => import.names.iter().any(|a| a.name.id.as_str() == module),
        Stmt::ImportFrom(from) => {
            from.level == 0
                && from
                    .module
                    .as_ref()
                    .is_some_and(|m| m.id.as_str() == module)
        }
        _ => false,
    })
}

/// Where a new top-level `import` goes: after the module's leading block of imports (past
/// any docstring and `from __future__` imports), at the start of a line.
/// Returns the byte offset and whether a newline must be written before the import because
/// the file ends without one right there.
pub fn insertion_point(body: &[Stmt], source: &str) -> (usize, bool) {
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
        None => (source.len(), !source.is_empty() && !source.ends_with('\n')),
        Some(stmt) => {
            let end = stmt.end().to_usize();
            match source[end..].find('\n') {
                Some(i) => (end + i + 1, false),
                None => (source.len(), true),
            }
        }
    }
}

fn line_start(source: &str, offset: usize) -> usize {
    source[..offset].rfind('\n').map_or(0, |i| i + 1)
}
