//! An img2img start image as SD's pipeline prepares it: read as `load_image` reads it
//! (`image_input`), then `VaeImageProcessor.preprocess` (diffusers 0.42.1
//! `image_processor.py`): sides rounded down to multiples of the VAE's scale, PIL LANCZOS,
//! `x / 255`. The two steps are apart because the scale is known only once the VAE is.

use crate::error::ModelError;
use crate::image_input::{LoadedImage, load_rgb};
use crate::resample::{Filter, RgbImage};
use candle_core::Tensor;
use std::path::Path;

fn invalid(path: &Path, message: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidInput(format!("{}: {message}", path.display()))
}

/// Reads the start image as `load_image` would (before any model loads: a bad file should
/// not cost one); the notes say what was converted.
pub fn read_init_image(path: &Path) -> Result<LoadedImage, ModelError> {
    load_rgb(path).map_err(|e| invalid(path, e))
}

/// The size diffusers' `VaeImageProcessor.get_default_height_width` gives an image: each
/// side rounded down to a multiple of `scale`, the pipeline's `vae_scale_factor` (8 for SD,
/// 2 ^ (VAE blocks - 1) in general); `None` for a scale of 0.
pub fn vae_size(width: usize, height: usize, scale: usize) -> Option<(usize, usize)> {
    Some((
        width - width.checked_rem(scale)?,
        height - height.checked_rem(scale)?,
    ))
}

/// `VaeImageProcessor.preprocess` of a loaded image: sides rounded down to multiples of
/// `scale` with PIL's LANCZOS (its `resample="lanczos"` default, no `reducing_gap`), then
/// `x / 255` as f32, NCHW in [0, 1]. The note says when it resized.
pub fn preprocess(
    path: &Path,
    image: RgbImage,
    scale: usize,
    device: &candle_core::Device,
) -> Result<(Tensor, Option<String>), ModelError> {
    let (width, height) = (image.width, image.height);
    let (w, h) = vae_size(width, height, scale)
        .filter(|&(w, h)| w > 0 && h > 0)
        .ok_or_else(|| {
            invalid(
                path,
                format!(
                    "the image is {width}x{height}; both sides must be at least the VAE's \
                     scale, {scale} pixels"
                ),
            )
        })?;
    let (image, note) = if (w, h) == (width, height) {
        (image, None)
    } else {
        let note = format!(
            "resized {width}x{height} to {w}x{h} (down to multiples of {scale}, LANCZOS) as \
             diffusers' VaeImageProcessor does"
        );
        (image.resize(w, h, Filter::Lanczos), Some(note))
    };
    let plane = w * h;
    let mut planar = vec![0f32; 3 * plane];
    for (i, px) in image.pixels.chunks_exact(3).enumerate() {
        for (c, v) in px.iter().enumerate() {
            planar[c * plane + i] = f32::from(*v) / 255.0;
        }
    }
    Ok((Tensor::from_vec(planar, (1, 3, h, w), device)?, note))
}
