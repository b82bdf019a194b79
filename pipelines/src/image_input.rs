//! Input images (PNG, JPEG, WebP) as diffusers' `load_image` hands them to a pipeline:
//! turned upright by their EXIF orientation (`PIL.ImageOps.exif_transpose`), then made
//! 8-bit RGB the way PIL's `.convert("RGB")` does. Anything that differs from PIL here would
//! reach the VAE as different pixels than the reference saw.
//!
//! PIL's conversions, checked against Pillow 13 (scripts/fixtures/input_images_reference.py):
//! alpha is dropped, not composited (a fully transparent pixel keeps its colour); greyscale
//! is copied into the three channels; a palette is looked up; 16-bit RGB(A) and grey+alpha
//! keep each sample's high byte (Pillow's `;16B` raw modes), while 16-bit greyscale opens as
//! mode `I;16`, whose conversion to RGB clips at 255 instead.

use crate::image::{MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, check_image_size};
use crate::resample::RgbImage;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// An input image as the reference pipeline receives it, with one line per thing done to
/// it on the way (for stderr: a user should know their RGBA image lost its alpha).
#[derive(Debug, Clone)]
pub struct LoadedImage {
    pub image: RgbImage,
    pub notes: Vec<String>,
}

/// The most bytes one decode may allocate: the largest accepted image at 8 bytes a pixel
/// (16-bit RGBA), so the decoder's own buffers are bounded too.
const MAX_DECODE_BYTES: u64 = MAX_IMAGE_PIXELS * 8;

/// Reads `path` as `diffusers.utils.load_image` would. Errors are plain messages; callers
/// add the path and their flag.
pub fn load_rgb(path: &Path) -> Result<LoadedImage, String> {
    let file = crate::input_file::open_regular(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(file);
    check_png_header(&mut reader)?;
    let mut image_reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if !image_reader.format().is_some_and(is_supported) {
        return Err("not a readable image (PNG, JPEG or WebP expected)".into());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    image_reader.limits(limits);
    // The decoder checks the limits from the header, before it sizes a buffer; its error
    // does not carry the size, so the bounds are named instead.
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => format!(
            "the image's header claims more than {MAX_IMAGE_SIDE} pixels a side or \
             {MAX_IMAGE_PIXELS} pixels in all, which are read at most (scale it down first)"
        ),
        e => format!("not a readable image: {e}"),
    };
    let mut decoder = image_reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    check_image_size(width, height)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    let mut notes = Vec::new();
    if orientation != Orientation::NoTransforms {
        decoded.apply_orientation(orientation);
        notes.push(format!(
            "turned upright by its EXIF orientation {} as diffusers' load_image does \
             (PIL's exif_transpose)",
            orientation.to_exif()
        ));
    }
    let (pixels, converted) = to_pil_rgb(&decoded)?;
    if let Some(note) = converted {
        notes.push(note);
    }
    let image = RgbImage {
        width: decoded.width() as usize,
        height: decoded.height() as usize,
        pixels,
    };
    Ok(LoadedImage { image, notes })
}

/// Whether `path` is a regular file whose first bytes say PNG, JPEG or WebP: a cheap check
/// for flags, before any model loads.
pub fn is_supported_image(path: &Path) -> bool {
    let Ok(file) = crate::input_file::open_regular(path) else {
        return false;
    };
    ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .is_ok_and(|r| r.format().is_some_and(is_supported))
}

/// The formats built in; the magic-byte guess also names formats that are not (GIF, TIFF).
fn is_supported(format: ImageFormat) -> bool {
    matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP
    )
}

/// A PNG's IHDR is read and its size checked before the image crate sees the file: the
/// crate reads every chunk up to the pixel data first, so a header-only file claiming a
/// huge size would otherwise fail as "unreadable" instead of naming the size it claims.
fn check_png_header(reader: &mut BufReader<File>) -> Result<(), String> {
    let start = reader.fill_buf().map_err(|e| e.to_string())?;
    if !start.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(());
    }
    let mut decoder = png::Decoder::new(&mut *reader);
    let header = decoder
        .read_header_info()
        .map_err(|e| format!("not a readable image: {e}"))?;
    check_image_size(header.width, header.height)?;
    reader.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    Ok(())
}

const CONVERTED: &str = "to RGB as PIL's convert(\"RGB\") does";

/// The 8-bit RGB rows PIL's `convert("RGB")` gives, and a note when that changed anything.
fn to_pil_rgb(image: &DynamicImage) -> Result<(Vec<u8>, Option<String>), String> {
    let high = |v: u16| (v >> 8) as u8;
    let (pixels, from): (Vec<u8>, Option<&str>) = match image {
        DynamicImage::ImageRgb8(b) => (b.as_raw().clone(), None),
        DynamicImage::ImageRgba8(b) => (rgb_of(b.as_raw(), 4, |v| v), Some("RGBA")),
        DynamicImage::ImageLuma8(b) => (grey_of(b.as_raw(), 1, |v| v), Some("L (greyscale)")),
        DynamicImage::ImageLumaA8(b) => (
            grey_of(b.as_raw(), 2, |v| v),
            Some("LA (greyscale with alpha)"),
        ),
        DynamicImage::ImageRgb16(b) => (
            rgb_of(b.as_raw(), 3, high),
            Some("16-bit RGB (high bytes kept, as PIL reads it)"),
        ),
        DynamicImage::ImageRgba16(b) => (
            rgb_of(b.as_raw(), 4, high),
            Some("16-bit RGBA (high bytes kept, as PIL reads it)"),
        ),
        DynamicImage::ImageLuma16(b) => (
            grey_of(b.as_raw(), 1, |v| v.min(255) as u8),
            Some("I;16 (16-bit greyscale, clipped at 255)"),
        ),
        DynamicImage::ImageLumaA16(b) => (
            grey_of(b.as_raw(), 2, high),
            Some("16-bit greyscale with alpha (high bytes kept, as PIL reads it)"),
        ),
        other => {
            return Err(format!("unsupported pixel format {:?}", other.color()));
        }
    };
    Ok((pixels, from.map(|m| format!("converted {m} {CONVERTED}"))))
}

/// The first three of every `channels` samples, alpha dropped.
fn rgb_of<T: Copy>(samples: &[T], channels: usize, to8: impl Fn(T) -> u8) -> Vec<u8> {
    samples
        .chunks_exact(channels)
        .flat_map(|px| [to8(px[0]), to8(px[1]), to8(px[2])])
        .collect()
}

/// The first of every `channels` samples, copied into R, G and B.
fn grey_of<T: Copy>(samples: &[T], channels: usize, to8: impl Fn(T) -> u8) -> Vec<u8> {
    samples
        .chunks_exact(channels)
        .flat_map(|px| [to8(px[0]); 3])
        .collect()
}
