//! The source image of an edit: read as diffusers' `load_image` would, sized the way the
//! HiDream-E1 scripts size it, and turned into the [-1, 1] tensor the VAE encodes.
//!
//! The reference scripts hand `Image.open(path)` to the pipeline without `.convert("RGB")`:
//! there a greyscale image fails in the VAE and an RGBA one is silently taken for 4-channel
//! latents, so the scripts only define the RGB case. Every other file is read the way
//! diffusers' own pipelines take images (`load_image`: EXIF orientation applied, then
//! `.convert("RGB")`), which leaves RGB files exactly as the scripts see them, and each
//! conversion is reported so nobody mistakes it for the scripts' behaviour.

use super::HiDreamError;
use super::resample::{Filter, RgbImage};
use crate::image_input::{LoadedImage, load_rgb};
use candle_core::{Device, Tensor};
use std::path::Path;

/// Neither side may be smaller than one 2x2 patch of 8x8 VAE cells.
pub const MIN_SIDE: usize = 16;

/// How an edit sizes its source image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceSizing {
    /// E1-Full: `image.resize((side, side))` (768), whatever the aspect ratio.
    Square(usize),
    /// E1.1: `resize_image(image, side)` (1024): halve with BOX while the short side is at
    /// least 2 x side, then scale to at most side^2 pixels with sides multiples of 16,
    /// bicubic, centre crop.
    Area(usize),
}

fn file_error(path: &Path, message: impl Into<String>) -> HiDreamError {
    HiDreamError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a PNG, JPEG or WebP source as `load_image` would; the notes say what was converted.
pub fn read_source_image(path: &Path) -> Result<LoadedImage, HiDreamError> {
    let loaded = load_rgb(path).map_err(|e| file_error(path, format!("the source image: {e}")))?;
    let (width, height) = (loaded.image.width, loaded.image.height);
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(file_error(
            path,
            format!(
                "the source image is {width}x{height}; both sides must be at least {MIN_SIDE} \
                 pixels"
            ),
        ));
    }
    Ok(loaded)
}

/// Python's `round` (ties to even) of a float, as an integer.
fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// The (width, height) E1.1's `resize_image` picks for an image of this size (after any
/// halving): the largest of four roundings whose area fits, sides floored to 16.
pub fn area_target(width: usize, height: usize, side: usize) -> (usize, usize) {
    let m = 16i64;
    let s_max = (side * side) as f64;
    let scale = (s_max / (width * height) as f64).sqrt();
    let (w, h) = (width as f64 * scale, height as f64 * scale);
    let snap = |v: i64| v / m * m;
    let candidates = [
        (snap(py_round(w)), snap(py_round(h))),
        (snap(py_round(w)), snap(h.floor() as i64)),
        (snap(w.floor() as i64), snap(py_round(h))),
        (snap(w.floor() as i64), snap(h.floor() as i64)),
    ];
    let mut sorted = candidates.to_vec();
    // Stable and descending by area, like Python's sorted(..., reverse=True).
    sorted.sort_by_key(|&(w, h)| std::cmp::Reverse(w * h));
    // Python's loop leaves the last candidate in place when none fits.
    let chosen = sorted
        .iter()
        .copied()
        .find(|&(w, h)| (w * h) as f64 <= s_max)
        .unwrap_or(sorted[3]);
    (chosen.0.max(0) as usize, chosen.1.max(0) as usize)
}

/// The image the reference pipeline receives for this sizing rule.
pub fn size_source(
    image: &RgbImage,
    sizing: SourceSizing,
    origin: &Path,
) -> Result<RgbImage, HiDreamError> {
    match sizing {
        SourceSizing::Square(side) => Ok(image.resize(side, side, Filter::Bicubic)),
        SourceSizing::Area(side) => {
            let mut image = image.clone();
            while image.width.min(image.height) >= 2 * side {
                image = image.resize(image.width / 2, image.height / 2, Filter::Box);
            }
            let (new_w, new_h) = area_target(image.width, image.height, side);
            if new_w < MIN_SIDE || new_h < MIN_SIDE {
                return Err(file_error(
                    origin,
                    format!(
                        "the source image is {}x{}: its aspect ratio is too extreme for E1.1's \
                         ~{side}x{side} sizing (one side would be {} pixels)",
                        image.width,
                        image.height,
                        new_w.min(new_h)
                    ),
                ));
            }
            let (w, h) = (image.width as f64, image.height as f64);
            let (s1, s2) = (w / new_w as f64, h / new_h as f64);
            if s1 < s2 {
                let tall = py_round(h / s1) as usize;
                let resized = image.resize(new_w, tall, Filter::Bicubic);
                let top = (tall - new_h) / 2;
                Ok(resized.crop(0, top, new_w, new_h))
            } else {
                let wide = py_round(w / s2) as usize;
                let resized = image.resize(wide, new_h, Filter::Bicubic);
                let left = (wide - new_w) / 2;
                Ok(resized.crop(left, 0, new_w, new_h))
            }
        }
    }
}

/// `[1, 3, h, w]` f32 in [-1, 1], computed as diffusers' image processor does
/// (`x / 255` then `2x - 1`, both in f32).
pub fn to_tensor(image: &RgbImage, device: &Device) -> Result<Tensor, HiDreamError> {
    let plane = image.width * image.height;
    let mut planar = vec![0f32; 3 * plane];
    for (i, px) in image.pixels.chunks_exact(3).enumerate() {
        for c in 0..3 {
            let unit = f32::from(px[c]) / 255.0;
            planar[c * plane + i] = 2.0 * unit - 1.0;
        }
    }
    Ok(Tensor::from_vec(
        planar,
        (1, 3, image.height, image.width),
        device,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected sizes computed by hand with the reference formula (inference_e1_1.py's
    // resize_image), e.g. 1000x600: scale = sqrt(1024^2 / 600000) = 1.3219.., sides
    // 1321.9.. and 793.1.. -> round 1322 // 16 * 16 = 1312, 793 // 16 * 16 = 784.
    #[test]
    fn area_targets_follow_the_reference_arithmetic() {
        assert_eq!(area_target(1024, 1024, 1024), (1024, 1024));
        assert_eq!(area_target(1000, 600, 1024), (1312, 784));
        assert_eq!(area_target(600, 1000, 1024), (784, 1312));
    }
}
