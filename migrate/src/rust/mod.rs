//! Rust sources: parse with syn (span locations on), rewrite device construction as span
//! edits, and check that the result still parses and a second pass changes nothing.

pub(crate) mod device_dependency;
pub(crate) mod manifest;
pub(crate) mod rules;

pub use device_dependency::{DeviceCrate, add_device_dependency};
pub use manifest::{ManifestFindings, collect as manifest_findings};
pub use rules::{Framework, Needs};

use crate::diagnostic::Diagnostic;
use crate::edit::{self, AppliedEdit};
use crate::nesting::{self, Syntax, TooDeep};
use crate::text::SourceText;

#[derive(Debug, Clone)]
pub struct RustOutcome {
    pub output: SourceText,
    pub edits: Vec<AppliedEdit>,
    pub diagnostics: Vec<Diagnostic>,
    pub needs: Needs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RustError {
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    InvalidRewrite {
        message: String,
    },
    /// Nested too deeply to parse without risking the stack; the file is left unchanged.
    TooDeep(TooDeep),
}

impl std::fmt::Display for RustError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RustError::Syntax {
                line,
                column,
                message,
            } => write!(f, "syntax error at {line}:{column}: {message}"),
            RustError::InvalidRewrite { message } => {
                write!(
                    f,
                    "rewrite produced invalid Rust ({message}); file left unchanged"
                )
            }
            RustError::TooDeep(deep) => write!(f, "{deep} ({})", nesting::TOO_DEEP.code),
        }
    }
}

fn parse(source: &SourceText) -> Result<syn::File, RustError> {
    syn::parse_file(&source.body).map_err(|e| {
        let at = e.span().start();
        RustError::Syntax {
            line: at.line,
            column: at.column + 1,
            message: e.to_string(),
        }
    })
}

pub fn migrate(input: &SourceText) -> Result<RustOutcome, RustError> {
    nesting::check(&input.body, Syntax::Rust).map_err(RustError::TooDeep)?;
    let file = parse(input)?;
    let findings = rules::collect(&file, input);
    let (fixes, _) = edit::resolve_overlaps(findings.fixes);
    let edits = fixes.iter().map(|f| edit::describe(input, f)).collect();
    let output = input.with_body(edit::apply(&input.body, &fixes));
    if !fixes.is_empty() {
        let reparsed = parse(&output).map_err(|e| RustError::InvalidRewrite {
            message: e.to_string(),
        })?;
        let again = rules::collect(&reparsed, &output);
        if !again.fixes.is_empty() {
            return Err(RustError::InvalidRewrite {
                message: "a second pass would change it again".into(),
            });
        }
    }
    Ok(RustOutcome {
        output,
        edits,
        diagnostics: findings.diagnostics,
        needs: findings.needs,
    })
}
