//! PNG output: diffusers' `numpy_to_pil` rounding, generation parameters in text chunks,
//! written through `output_file` so no partial file is left and nothing else is replaced;
//! and the size bound every input image is checked against before it is decoded.

use crate::error::ModelError;
use crate::output_file::{self, OutputFileError, StagedFile};
use candle_core::Tensor;
use std::io::Write;
use std::path::Path;

/// An NCHW image in [0, 1] (first batch entry) as 8-bit RGB rows, `round(x * 255)`.
pub fn to_rgb8(image: &Tensor) -> Result<(u32, u32, Vec<u8>), ModelError> {
    let (_, c, h, w) = image.dims4()?;
    if c != 3 {
        return Err(ModelError::InvalidInput(format!(
            "expected 3 channels, got {c}"
        )));
    }
    let hwc = image.get(0)?.permute((1, 2, 0))?.contiguous()?;
    let data = ((hwc.clamp(0f32, 1f32)? * 255.0)?.round()?)
        .flatten_all()?
        .to_vec1::<f32>()?;
    let bytes = data.iter().map(|v| *v as u8).collect();
    Ok((w as u32, h as u32, bytes))
}

/// Whether Latin-1 (the only encoding a tEXt chunk may hold) can carry `text`.
fn is_latin1(text: &str) -> bool {
    text.chars().all(|c| u32::from(c) <= 0xFF)
}

/// Encodes `rgb` as PNG with one text chunk per (keyword, text) of `text` into `out`:
/// tEXt when the text is Latin-1, else iTXt (UTF-8), as PIL's `PngInfo.add_text` does, so
/// a Chinese prompt is stored rather than refused.
pub fn encode_png(
    out: &mut impl Write,
    width: u32,
    height: u32,
    rgb: &[u8],
    text: &[(&str, impl AsRef<str>)],
) -> std::io::Result<()> {
    let png_err = |e: png::EncodingError| std::io::Error::other(e.to_string());
    let mut encoder = png::Encoder::new(out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    for (keyword, value) in text {
        let value = value.as_ref();
        if is_latin1(value) {
            encoder.add_text_chunk((*keyword).into(), value.into())
        } else {
            encoder.add_itxt_chunk((*keyword).into(), value.into())
        }
        .map_err(png_err)?;
    }
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(rgb).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

/// Writes `rgb` as PNG with the `text` chunks (a generated image's are
/// [`crate::generation_info::GenerationInfo::png_text`]) under a temporary name beside
/// `path`, to be committed with the rest of a batch ([`crate::output_file::commit`]).
pub fn stage_png(
    path: &Path,
    width: u32,
    height: u32,
    rgb: &[u8],
    text: &[(&str, impl AsRef<str>)],
) -> Result<StagedFile, OutputFileError> {
    output_file::stage(path, |w| encode_png(w, width, height, rgb, text))
}

/// Writes `rgb` as PNG with the `text` chunks, atomically; refuses to replace anything but
/// a regular file.
pub fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    rgb: &[u8],
    text: &[(&str, impl AsRef<str>)],
) -> Result<(), OutputFileError> {
    output_file::commit(vec![stage_png(path, width, height, rgb, text)?])
}

/// The largest side of an input image: twice the largest output size, and the bound that
/// keeps a header from sizing the decode buffer (a 74-byte file can claim 100000x100000).
pub const MAX_IMAGE_SIDE: u32 = 16384;
/// The most pixels an input image may have (8192x8192 worth: 768 MiB as f32 RGB).
pub const MAX_IMAGE_PIXELS: u64 = 8192 * 8192;

/// Refuses image dimensions nothing here could use, before anything is sized from them.
pub fn check_image_size(width: u32, height: u32) -> Result<(), String> {
    if width > MAX_IMAGE_SIDE
        || height > MAX_IMAGE_SIDE
        || u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS
    {
        return Err(format!(
            "the image is {width}x{height}; at most {MAX_IMAGE_SIDE} pixels a side and \
             {MAX_IMAGE_PIXELS} pixels in all are read (scale it down first)"
        ));
    }
    Ok(())
}
