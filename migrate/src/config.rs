//! Settings in `pyproject.toml` under `[tool.migrate]`, found as ruff finds its own: the
//! nearest `pyproject.toml` with that table, walking up from the migrated path. The command
//! line overrides each setting it names; unknown keys and values are errors naming the file.
//!
//! ```toml
//! [tool.migrate]
//! select = ["PY1", "SH"]        # codes or prefixes of the diagnostics to report
//! ignore = ["PY112"]
//! style = "portable"            # or "npu"
//! fail-on = "error"             # or "warning"
//! exclude = ["third_party/**"]  # globs relative to the migrated tree's root
//! helper-module = "device_utils"
//! output-format = "github"      # text, json, json-lines, github, sarif
//! ```

use crate::code::Severity;
use crate::options::Style;
use crate::output::OutputFormat;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "pyproject.toml";

const KEYS: &[&str] = &[
    "select",
    "ignore",
    "style",
    "fail-on",
    "exclude",
    "helper-module",
    "output-format",
];

/// `[tool.migrate]` as read; every setting is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileConfig {
    /// The file it came from, for messages.
    pub path: PathBuf,
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub style: Option<Style>,
    pub fail_on: Option<Severity>,
    pub exclude: Option<Vec<String>>,
    pub helper_module: Option<String>,
    pub output_format: Option<OutputFormat>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid TOML: {message}")]
    Toml { path: String, message: String },
    #[error("{path}: [tool.migrate] {message}")]
    Setting { path: String, message: String },
}

/// The nearest `pyproject.toml` with a `[tool.migrate]` table at or above `start` (a file's
/// search starts at its directory).
pub fn discover(start: &Path) -> Result<Option<FileConfig>, ConfigError> {
    let first = if start.is_dir() {
        Some(start)
    } else {
        start.parent()
    };
    for dir in first.into_iter().flat_map(Path::ancestors) {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file()
            && let Some(config) = load(&candidate)?
        {
            return Ok(Some(config));
        }
    }
    Ok(None)
}

/// Reads one file; None when it has no `[tool.migrate]` table.
pub fn load(path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: label.clone(),
        source,
    })?;
    parse(&text, path)
}

/// Parses a pyproject's text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    let label = path.display().to_string();
    let doc: toml_edit::DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Toml {
                path: label.clone(),
                message: e.message().to_string(),
            })?;
    let Some(table) = doc
        .get("tool")
        .and_then(|t| t.get("migrate"))
        .and_then(|m| m.as_table_like())
    else {
        return Ok(None);
    };
    let setting = |message: String| ConfigError::Setting {
        path: label.clone(),
        message,
    };
    let mut config = FileConfig {
        path: path.to_path_buf(),
        ..FileConfig::default()
    };
    for (key, item) in table.iter() {
        let value = item.as_value();
        let string = || {
            value
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .ok_or_else(|| setting(format!("{key}: expected a string")))
        };
        let list = || {
            let array = value
                .and_then(|v| v.as_array())
                .ok_or_else(|| setting(format!("{key}: expected a list of strings")))?;
            array
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| setting(format!("{key}: expected a list of strings")))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        match key {
            "select" => config.select = Some(list()?),
            "ignore" => config.ignore = Some(list()?),
            "exclude" => config.exclude = Some(list()?),
            "helper-module" => config.helper_module = Some(string()?),
            "style" => {
                config.style = Some(match string()?.as_str() {
                    "portable" => Style::Portable,
                    "npu" => Style::Npu,
                    other => {
                        return Err(setting(format!(
                            "style: unknown value {other:?} (portable or npu)"
                        )));
                    }
                })
            }
            "fail-on" => {
                config.fail_on = Some(match string()?.as_str() {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    other => {
                        return Err(setting(format!(
                            "fail-on: unknown value {other:?} (error or warning)"
                        )));
                    }
                })
            }
            "output-format" => {
                let text = string()?;
                config.output_format = Some(OutputFormat::parse(&text).ok_or_else(|| {
                    setting(format!(
                        "output-format: unknown value {text:?} (text, json, json-lines, github or sarif)"
                    ))
                })?)
            }
            other => {
                return Err(setting(format!(
                    "unknown key {other:?} (known: {})",
                    KEYS.join(", ")
                )));
            }
        }
    }
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Option<FileConfig>, ConfigError> {
        parse(text, Path::new("p/pyproject.toml"))
    }

    #[test]
    fn every_setting_is_read() {
        let config = parsed(
            "[project]\nname = \"x\"\n[tool.migrate]\nselect = [\"PY1\"]\nignore = [\"PY112\"]\n\
             style = \"npu\"\nfail-on = \"warning\"\nexclude = [\"vendor/**\"]\n\
             helper-module = \"dev\"\noutput-format = \"json-lines\"\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(config.select, Some(vec!["PY1".to_string()]));
        assert_eq!(config.ignore, Some(vec!["PY112".to_string()]));
        assert_eq!(config.style, Some(Style::Npu));
        assert_eq!(config.fail_on, Some(Severity::Warning));
        assert_eq!(config.exclude, Some(vec!["vendor/**".to_string()]));
        assert_eq!(config.helper_module.as_deref(), Some("dev"));
        assert_eq!(config.output_format, Some(OutputFormat::JsonLines));
    }

    #[test]
    fn a_pyproject_without_the_table_is_not_a_config() {
        assert!(parsed("[tool.ruff]\nselect = [\"E\"]\n").unwrap().is_none());
    }

    #[test]
    fn unknown_keys_values_and_types_are_errors_naming_the_file_and_key() {
        let err = parsed("[tool.migrate]\nselct = []\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p/pyproject.toml: [tool.migrate] unknown key \"selct\""),
            "{err}"
        );
        let err = parsed("[tool.migrate]\nstyle = \"cuda\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("style: unknown value \"cuda\""), "{err}");
        let err = parsed("[tool.migrate]\nselect = \"PY1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("select: expected a list of strings"), "{err}");
        let err = parsed("[tool.migrate\n").unwrap_err().to_string();
        assert!(err.starts_with("p/pyproject.toml: not valid TOML"), "{err}");
    }
}
