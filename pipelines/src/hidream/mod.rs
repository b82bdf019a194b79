//! HiDream-I1 generation and HiDream-E1 editing, matching diffusers and the HiDream-E1
//! project's pipeline at f32, and within rounding bounds of them in bf16 and f16.
//!
//! `size`: the width x height the reference pipeline actually generates for a request.
//! `prompt_embeds`: what prompt encoding hands the denoising loops.
//! `tokenize`: the four tokenizers as the pipeline calls them; `prompt_encoding`: the four
//! text encoders, one at a time, from prompts to `PromptEmbeds`.
//! `vae`: loading the VAE folder in a dtype, and the latent normalisation around it.
//! `tiny_random`: a whole tiny random-weight model on disk, for the demo and CLI tests.
//! `transformer`: diffusers' `HiDreamImageTransformer2DModel` in f32, f16 or bf16, matching
//! diffusers 0.42.
//! `generate`: the text-to-image denoising loop and decode (`HiDreamImagePipeline.__call__`).
//! `memory`: what a run needs against what the device has, before loading anything.
//! `edit`, `edit_image`, `resample`, `lora`: HiDream-E1 instruction editing, its source image
//! (PNG, sized with Pillow's resampling), and LoRA merging at load; `edit_job`: one whole
//! edit from files, as the `hidream edit` command and the `hidream-edit` example run it,
//! holding one transformer at a time (`edit_transformers`). `finite`: the per-step check
//! that stops a loop whose latents became NaN or infinite. `weight_check`: every weight
//! file a run needs, validated from its header before any model work.

pub mod edit;
pub mod edit_image;
pub mod edit_job;
pub mod edit_transformers;
pub mod finite;
pub mod generate;
pub mod lora;
pub mod memory;
pub mod prompt_embeds;
pub mod prompt_encoding;
// The resampler moved to the crate root (img2img resizes too); the old path still works.
pub use crate::resample;
pub mod size;
pub mod tiny_random;
pub mod tokenize;
pub mod transformer;
pub mod vae;
pub mod weight_check;

use crate::config::ConfigFileError;
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
    /// A denoising step left NaN or infinite latents (see [`finite`]); a failure while
    /// running, not of the input files.
    #[error(
        "step {step} of {total} produced NaN/inf latents; likely causes: a guidance or \
         shift too large for the arithmetic, f16 overflowing (try --dtype bf16 or f32), or \
         corrupt weights"
    )]
    NonFinite { step: usize, total: usize },
}

impl From<ConfigFileError> for HiDreamError {
    fn from(ConfigFileError { path, message }: ConfigFileError) -> Self {
        HiDreamError::Config { path, message }
    }
}
