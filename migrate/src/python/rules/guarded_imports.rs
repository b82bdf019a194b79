//! Imports of CUDA-only libraries the helper stands in for (flash-attn, xformers, apex,
//! bitsandbytes) are wrapped in `try: ... except ImportError:` binding the imported names to
//! None. Uses the helper covers were rewritten to it; every other use is reported at its
//! line, which is then the line a host without the library stops at, instead of the import.

use super::checker::Checker;
use super::own_line::{indent_continuations, own_lines};
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::Stmt;
use ruff_text_size::Ranged;

pub(crate) static GUARDED_IMPORT: Entry = Entry {
    code: Code::PY016,
    name: "guarded-import",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "Imports of flash-attn, xformers, apex and bitsandbytes are guarded",
    explanation: "These libraries have no Ascend (or CPU-only) build, so an unguarded import stops the \
program before anything runs. Their uses the helper covers are rewritten to it; the rest are \
reported at their lines. Guarded, the import binds None where the library is missing, and the \
program runs up to the first use no rule could rewrite. Where the library imports, nothing \
changes.",
    fix: "`from flash_attn import flash_attn_func` becomes `try: from flash_attn import \
flash_attn_func` / `except ImportError: flash_attn_func = None` (the same in NPU style).",
    guide: "an unguarded `import` / `from ... import` of flash_attn, xformers, apex or \
bitsandbytes -> `try:` it, `except ImportError:` bind its names to None",
    severities: None,
};

/// The roots whose imports are guarded: libraries with stand-ins in the helper.
pub fn guarded_root(root: &str) -> bool {
    matches!(root, "flash_attn" | "xformers" | "apex" | "bitsandbytes")
}

impl Checker<'_> {
    /// Wraps an import statement alone on its lines (no comment is added: migrate keeps the
    /// file's comments exactly as they were); false when it shares a line, imports
    /// `*`, or sits in a one-line block, and is left for the import diagnostics.
    pub fn guard_import(&mut self, stmt: &Stmt) -> bool {
        let Some(names) = bound_names(stmt) else {
            return false;
        };
        let Some(lines) = own_lines(self.src, stmt.range()) else {
            return false;
        };
        let nl = self.src.newline;
        let indent = &lines.indent;
        let body = &self.src.body;
        let stmt_start = stmt.start().to_usize();
        let line_text = body[stmt_start..lines.end].trim_end_matches(['\n', '\r']);
        let mut text = format!(
            "{indent}try:{nl}{indent}    {}{nl}{indent}except ImportError:{nl}",
            indent_continuations(line_text, "    ")
        );
        let bindings: Vec<String> = names
            .iter()
            .map(|n| format!("{indent}    {n} = None"))
            .collect();
        text.push_str(&bindings.join(nl));
        if lines.has_break {
            text.push_str(nl);
        }
        self.replace_span(&GUARDED_IMPORT, lines.start, lines.end, text);
        true
    }
}

/// The local names an import binds; None for `from m import *`.
fn bound_names(stmt: &Stmt) -> Option<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    match stmt {
        Stmt::Import(import) => {
            for alias in &import.names {
                let name = match &alias.asname {
                    Some(asname) => asname.id.as_str(),
                    None => alias.name.id.split('.').next().unwrap_or_default(),
                };
                names.push(name.to_string());
            }
        }
        Stmt::ImportFrom(from) => {
            for alias in &from.names {
                if alias.name.id.as_str() == "*" {
                    return None;
                }
                let local = alias.asname.as_ref().unwrap_or(&alias.name);
                names.push(local.id.as_str().to_string());
            }
        }
        _ => return None,
    }
    names.dedup();
    Some(names)
}
