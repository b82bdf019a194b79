//! HiDream-I1 generation and HiDream-E1 editing (issue 8, being built piece by piece).
//!
//! `size`: the width x height the reference pipeline actually generates for a request.
//! `prompt_embeds`: what prompt encoding hands the denoising loops.
//! `transformer`: diffusers' `HiDreamImageTransformer2DModel` at f32, matching diffusers 0.42.
//! `edit`, `edit_image`, `resample`, `lora`: HiDream-E1 instruction editing, its source image
//! (PNG, sized with Pillow's resampling), and LoRA merging at load.

pub mod edit;
pub mod edit_image;
pub mod lora;
pub mod prompt_embeds;
pub mod resample;
pub mod size;
pub mod transformer;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum HiDreamError {
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("{component} weights: {source}")]
    Weights {
        component: String,
        #[source]
        source: candle_core::Error,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
