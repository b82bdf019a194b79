//! HiDream's VAE: a 16-channel Flux-style `AutoencoderKL` run by `sd::vae` with diffusers'
//! semantics, plus the latent normalisation (`scaling_factor`, `shift_factor`) the
//! pipelines apply around it. Latents cross this boundary as f32 whatever the VAE's dtype.

use super::HiDreamError;
use super::transformer::check_model_dtype;
use crate::config::read_checked_config;
use crate::model_tensor::{ModelDevice, VarBuilder};
use crate::models::autoencoders::AutoencoderKL;
use crate::models::autoencoders::VaeConfig;
use crate::tensor_math::div_scalar;
use candle_core::{DType, Tensor};
use std::path::Path;

/// A diffusers `vae` folder (config.json and weights), loaded in `dtype` (f32, f16 or
/// bf16; files in another dtype are converted as they load).
pub fn load_vae(
    dir: &Path,
    device: impl Into<ModelDevice>,
    dtype: DType,
) -> Result<AutoencoderKL, HiDreamError> {
    let device: ModelDevice = device.into();
    check_model_dtype(dtype)?;
    let config: VaeConfig =
        read_checked_config(&dir.join("config.json"), VaeConfig::check_supported)?;
    let vb = crate::weights::component_vars(dir, dtype, &device.host()).map_err(|e| {
        HiDreamError::Config {
            path: dir.to_path_buf(),
            message: e.to_string(),
        }
    })?;
    let vb = VarBuilder::new(vb, device);
    AutoencoderKL::new(vb, &config).map_err(|source| HiDreamError::Weights {
        component: dir.display().to_string(),
        source,
    })
}

/// An image in [-1, 1] `[b, 3, H, W]` (on the host) to the latent the transformer sees:
/// `(mode - shift_factor) * scaling_factor`, as f32 on the host.
pub fn image_to_latents(vae: &AutoencoderKL, image: &Tensor) -> Result<Tensor, HiDreamError> {
    let config = vae.config();
    let mode = vae
        .encode(&vae.device().place(&image.to_dtype(vae.dtype())?)?)?
        .mean
        .into_host()?
        .to_dtype(DType::F32)?;
    Ok(((mode - config.shift_factor.unwrap_or(0.0))? * config.scaling_factor)?)
}

/// Latents back to an image in about [-1, 1] (diffusers' `vae.decode` output), as f32:
/// `vae.decode(latents / scaling_factor + shift_factor)`.
pub fn latents_to_image(vae: &AutoencoderKL, latents: &Tensor) -> Result<Tensor, HiDreamError> {
    let config = vae.config();
    let channels = latents.dim(1)?;
    if channels != config.latent_channels {
        return Err(HiDreamError::InvalidInput(format!(
            "latents have {channels} channels; the VAE takes {}",
            config.latent_channels
        )));
    }
    // A true division, as torch computes `latents / scaling_factor`, in f32 before the
    // cast to the VAE's dtype (diffusers divides latents of the transformer's dtype).
    let scaled = div_scalar(&latents.to_dtype(DType::F32)?, config.scaling_factor as f32)?;
    let z = (scaled + config.shift_factor.unwrap_or(0.0))?;
    Ok(vae
        .decode(&vae.device().place(&z.to_dtype(vae.dtype())?)?)?
        .into_host()?
        .to_dtype(DType::F32)?)
}
