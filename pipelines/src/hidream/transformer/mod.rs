//! diffusers' `HiDreamImageTransformer2DModel`: config, weights (diffusers names) and the
//! forward pass, one concern per module.

pub mod attention;
pub mod blocks;
pub mod config;
pub mod embeddings;
pub mod feed_forward;
mod host_step;
pub mod model;
pub mod offload;
pub mod patches;
pub mod rope;

pub use config::TransformerConfig;
pub use model::{
    HiDreamTransformer, Placement, TransformerInputs, TransformerLoadOptions, check_model_dtype,
    read_folder,
};
