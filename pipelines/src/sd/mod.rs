//! Stable Diffusion 2.x (and 1.x folders) on candle, numerically matching diffusers 0.42.

pub mod accel;
pub mod blocks;
pub mod clip;
pub mod config;
pub mod image;
pub mod pipeline;
pub mod tokenizer;
pub mod unet;
pub mod vae;
pub mod weights;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SdError {
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
