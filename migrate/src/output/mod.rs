//! Machine-readable forms of a run's findings, as ruff writes them for CI: JSON, JSON lines,
//! GitHub workflow annotations and SARIF 2.1.0. The default text form (one
//! `path:line:col: severity[CODE] message` line each, on stderr) stays in the binary.

mod github;
mod json;
mod records;
mod sarif;
mod uri;

use crate::run::Migration;
pub use records::{Record, records};

/// What `--output-format` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    JsonLines,
    Github,
    Sarif,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 5] = [
        OutputFormat::Text,
        OutputFormat::Json,
        OutputFormat::JsonLines,
        OutputFormat::Github,
        OutputFormat::Sarif,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Json => "json",
            OutputFormat::JsonLines => "json-lines",
            OutputFormat::Github => "github",
            OutputFormat::Sarif => "sarif",
        }
    }

    pub fn parse(text: &str) -> Option<OutputFormat> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// The run's findings in a machine format (None for text, which the binary prints itself).
/// `path_prefix` is put before each file's tree-relative path (not in SARIF, which names its
/// base): GitHub resolves annotation paths from the repository root, so the binary passes
/// the tree root relative to the working directory ("" when they are the same).
pub fn render(format: OutputFormat, migration: &Migration, path_prefix: &str) -> Option<String> {
    let prefixed = || records(migration, path_prefix);
    match format {
        OutputFormat::Text => None,
        OutputFormat::Json => Some(json::array(&prefixed())),
        OutputFormat::JsonLines => Some(json::lines(&prefixed())),
        OutputFormat::Github => Some(github::annotations(&prefixed())),
        // SARIF paths are relative to the tree root, which the log names as their base.
        OutputFormat::Sarif => Some(sarif::log(migration, &records(migration, ""))),
    }
}
