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
    #[error("LoRA {}: {message}", path.display())]
    Lora { path: PathBuf, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The latents stopped being numbers: NaN weights, a guidance or scheduler setting the
    /// model cannot follow, or reduced precision overflowing. Reported at the step rather
    /// than decoded into a black image.
    #[error(
        "step {step} of {steps} produced latents that are not finite (NaN or infinity); likely \
         causes: NaN or infinite weights, an extreme guidance scale, a scheduler setting the \
         model cannot follow, or f16 overflow (try --dtype f32 or bf16)"
    )]
    NonFinite { step: usize, steps: usize },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl From<ConfigFileError> for ModelError {
    fn from(ConfigFileError { path, message }: ConfigFileError) -> Self {
        ModelError::Config { path, message }
    }
}
