//! Variational autoencoders between images and latents: SD's 4-channel and HiDream's
//! 16-channel AutoencoderKL are the same model with different configs.

mod autoencoder_kl;
mod config;
mod decode_memory;
mod tiling;

pub use autoencoder_kl::AutoencoderKL;
pub use config::{SampleSize, VaeConfig};
pub use decode_memory::untiled_decode_bytes;
pub use tiling::Tiling;
