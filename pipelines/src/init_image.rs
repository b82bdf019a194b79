//! An img2img start image as SD's pipeline prepares it: read as `load_image` reads it
//! (`image_input`), then `VaeImageProcessor.preprocess` (diffusers 0.42.1
//! `image_processor.py`): sides rounded down to the VAE's multiple, PIL LANCZOS, `x / 255`.

use crate::error::ModelError;
use crate::resample::Filter;
use candle_core::Tensor;
use std::path::Path;

/// The size diffusers' `VaeImageProcessor.get_default_height_width` gives an image: each
/// side rounded down to a multiple of `scale` (the VAE's 8).
pub fn vae_size(width: usize, height: usize, scale: usize) -> (usize, usize) {
    (width - width % scale, height - height % scale)
}

/// An img2img start image as SD's `VaeImageProcessor.preprocess` makes it from what
/// `load_image` gives: sides rounded down to a multiple of 8 with PIL's LANCZOS (its
/// `resample="lanczos"` default, no `reducing_gap`), then `x / 255` as f32, NCHW in [0, 1].
/// The notes say what was converted or resized, one line each.
pub fn read_init_image(
    path: &Path,
    device: &candle_core::Device,
) -> Result<(Tensor, Vec<String>), ModelError> {
    let bad = |e: String| ModelError::InvalidInput(format!("{}: {e}", path.display()));
    let loaded = crate::image_input::load_rgb(path).map_err(bad)?;
    let mut notes = loaded.notes;
    let image = loaded.image;
    let (w, h) = vae_size(image.width, image.height, 8);
    if w == 0 || h == 0 {
        return Err(bad(format!(
            "the image is {}x{}; both sides must be at least 8 pixels",
            image.width, image.height
        )));
    }
    let image = if (w, h) == (image.width, image.height) {
        image
    } else {
        notes.push(format!(
            "resized {}x{} to {w}x{h} (down to multiples of 8, LANCZOS) as diffusers' \
             VaeImageProcessor does",
            image.width, image.height
        ));
        image.resize(w, h, Filter::Lanczos)
    };
    let plane = w * h;
    let mut planar = vec![0f32; 3 * plane];
    for (i, px) in image.pixels.chunks_exact(3).enumerate() {
        for (c, v) in px.iter().enumerate() {
            planar[c * plane + i] = f32::from(*v) / 255.0;
        }
    }
    Ok((Tensor::from_vec(planar, (1, 3, h, w), device)?, notes))
}
