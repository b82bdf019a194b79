//! Reading a component's JSON config file, with every failure reported against the file:
//! the one reader every model's config goes through.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A config file that cannot be read or parsed, or whose values a check refused. Each
/// library error converts it into its own `Config { path, message }`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ConfigFileError {
    pub path: PathBuf,
    pub message: String,
}

pub fn read_config<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigFileError> {
    let config_error = |message: String| ConfigFileError {
        path: path.to_path_buf(),
        message,
    };
    let text = crate::input_file::read_text(path).map_err(|e| config_error(e.to_string()))?;
    // serde reads a struct from an array too, so `[]` would pass as a config of defaults.
    if !text.trim_start().starts_with('{') {
        return Err(config_error("not a JSON object".into()));
    }
    crate::python_json::from_str(&text).map_err(|e| config_error(e.to_string()))
}

/// [`read_config`], then `check` rejects values the model cannot honour, reported against
/// the same file.
pub fn read_checked_config<T: DeserializeOwned>(
    path: &Path,
    check: impl FnOnce(&T) -> Result<(), ConfigError>,
) -> Result<T, ConfigFileError> {
    let config: T = read_config(path)?;
    check(&config).map_err(|e| ConfigFileError {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(config)
}

/// Why a parsed config cannot be used. The check that finds it does not know the file's
/// path, so whoever read the file reports it against the path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A value the format allows that this port does not implement: refused rather than
    /// computing something else.
    #[error("{what} is not supported{}", .note.map(|n| format!(" ({n})")).unwrap_or_default())]
    Unsupported {
        what: String,
        note: Option<&'static str>,
    },
    /// A model feature the config switches on that the model does not implement.
    #[error("{model} config sets {feature}, which is not supported")]
    UnsupportedFeature {
        model: &'static str,
        feature: &'static str,
    },
    /// Values that contradict each other or what the model needs.
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    pub(crate) fn unsupported(what: impl Into<String>) -> Self {
        Self::Unsupported {
            what: what.into(),
            note: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::ConfigError;

    #[test]
    fn messages_read_as_the_checks_wrote_them() {
        let with_note = ConfigError::Unsupported {
            what: "rope type \"yarn\"".into(),
            note: Some("expected default or llama3"),
        };
        assert_eq!(
            with_note.to_string(),
            "rope type \"yarn\" is not supported (expected default or llama3)"
        );
        assert_eq!(
            ConfigError::unsupported("VAE act_fn \"gelu\"").to_string(),
            "VAE act_fn \"gelu\" is not supported"
        );
        let feature = ConfigError::UnsupportedFeature {
            model: "UNet",
            feature: "class_embed_type",
        };
        assert_eq!(
            feature.to_string(),
            "UNet config sets class_embed_type, which is not supported"
        );
    }
}
