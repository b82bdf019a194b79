//! The error of loading and running the shared model components (configs, weights,
//! tokenizer, images) and the Stable Diffusion pipeline built from them.

use crate::config::ConfigFileError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("component `{component}` is missing: {detail}")]
    MissingComponent { component: String, detail: String },
    #[error("{component} weights: {source}")]
    Weights {
        component: String,
        #[source]
        source: candle_core::Error,
    },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl From<ConfigFileError> for ModelError {
    fn from(ConfigFileError { path, message }: ConfigFileError) -> Self {
        ModelError::Config { path, message }
    }
}
