//! From final latents to pixels: undo the VAE's latent normalisation, decode, and map to
//! [0, 1] as diffusers' image processor does (`(x / 2 + 0.5).clamp(0, 1)`).

use crate::hidream::HiDreamError;
use crate::hidream::vae::latents_to_image;
use crate::models::autoencoders::AutoencoderKL;
use candle_core::Tensor;

/// `[b, 3, H, W]` in [0, 1], f32: `vae.decode(latents / scaling_factor + shift_factor)`.
pub fn decode(vae: &AutoencoderKL, latents: &Tensor) -> Result<Tensor, HiDreamError> {
    let image = latents_to_image(vae, latents)?;
    Ok(((image / 2.0)? + 0.5)?.clamp(0f32, 1f32)?)
}

/// Batch entry `index` of a [0, 1] image as 8-bit RGB rows: (width, height, bytes),
/// `round(x * 255)` as diffusers' `numpy_to_pil`.
pub fn to_rgb8(image: &Tensor, index: usize) -> Result<(u32, u32, Vec<u8>), HiDreamError> {
    let one = image.narrow(0, index, 1)?;
    crate::image::to_rgb8(&one).map_err(|e| HiDreamError::InvalidInput(e.to_string()))
}
