//! The error of loading and running the shared model components (configs, weights,
//! tokenizer, images) and the Stable Diffusion pipeline built from them.

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
