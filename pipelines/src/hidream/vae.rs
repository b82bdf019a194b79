//! Loading HiDream's VAE folder: a 16-channel Flux-style `AutoencoderKL`, run by
//! `sd::vae` with diffusers' semantics.

use super::HiDreamError;
use crate::sd::config::VaeConfig;
use crate::sd::vae::AutoencoderKL;
use candle_core::{DType, Device};
use std::path::Path;

/// A diffusers `vae` folder (config.json and weights) at f32.
pub fn load_vae(dir: &Path, device: &Device) -> Result<AutoencoderKL, HiDreamError> {
    let config_path = dir.join("config.json");
    let config_error = |message: String| HiDreamError::Config {
        path: config_path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&config_path).map_err(|e| config_error(e.to_string()))?;
    let config: VaeConfig = serde_json::from_str(&text).map_err(|e| config_error(e.to_string()))?;
    let vb = crate::sd::weights::component_vars(dir, DType::F32, device).map_err(|e| {
        HiDreamError::Config {
            path: dir.to_path_buf(),
            message: e.to_string(),
        }
    })?;
    AutoencoderKL::new(vb, &config).map_err(|source| HiDreamError::Weights {
        component: dir.display().to_string(),
        source,
    })
}
