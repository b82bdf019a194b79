//! Pillow's `Image.resize` for 8-bit RGB, reproduced to the byte: the HiDream-E1 scripts
//! resize the source image with PIL before the pipeline sees it, and diffusers' img2img
//! image processor resizes with PIL too; a different resampler (even a "better" one) would
//! hand the VAE different pixels than the reference did.
//!
//! Pillow resamples in two separable passes, horizontal first, each rounding back to 8 bits;
//! the filter taps are normalised in f64 and then turned into 22-bit fixed point. Each of
//! those details changes some output bytes, so all of them are kept.

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// The PIL filters the E1 scripts and diffusers' image processor use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// `Image.BOX`: E1.1 halves very large images with it.
    Box,
    /// `Image.BICUBIC` (a = -0.5), PIL's default for `resize` on RGB images.
    Bicubic,
    /// `Image.LANCZOS` (a = 3): diffusers' `VaeImageProcessor` default (`resample="lanczos"`).
    Lanczos,
}

/// `sin(pi x) / (pi x)`, 1 at 0.
fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Box => 0.5,
            Filter::Bicubic => 2.0,
            Filter::Lanczos => 3.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            Filter::Box => {
                if x > -0.5 && x <= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
            // Pillow's window is half-open, [-3, 3), like its box filter's (-0.5, 0.5].
            Filter::Lanczos => {
                if (-3.0..3.0).contains(&x) {
                    sinc(x) * sinc(x / 3.0)
                } else {
                    0.0
                }
            }
        }
    }
}

/// Fractional bits of Pillow's fixed-point taps (32 - 8 - 2).
const PRECISION_BITS: u32 = 22;

/// For each output position: the first input index and the fixed-point taps from there.
struct Taps {
    first: Vec<usize>,
    weights: Vec<Vec<i64>>,
}

fn taps(in_size: usize, out_size: usize, filter: Filter) -> Taps {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter.support() * filter_scale;
    let mut first = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for out in 0..out_size {
        let center = (out as f64 + 0.5) * scale;
        // C's (int) truncation, then clamping, as Pillow's precompute_coeffs does.
        let lo = ((center - support + 0.5) as i64).max(0) as usize;
        let hi = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let raw: Vec<f64> = (lo..hi)
            .map(|x| filter.weight((x as f64 - center + 0.5) / filter_scale))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed = raw
            .iter()
            .map(|w| {
                let w = if total != 0.0 { w / total } else { *w };
                let scaled = w * f64::from(1u32 << PRECISION_BITS);
                (if w < 0.0 { scaled - 0.5 } else { scaled + 0.5 }) as i64
            })
            .collect();
        first.push(lo);
        weights.push(fixed);
    }
    Taps { first, weights }
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

fn resample_rows(image: &RgbImage, out_width: usize, filter: Filter) -> RgbImage {
    let taps = taps(image.width, out_width, filter);
    let mut pixels = Vec::with_capacity(out_width * image.height * 3);
    for row in image.pixels.chunks_exact(image.width * 3) {
        for (first, weights) in taps.first.iter().zip(&taps.weights) {
            for channel in 0..3 {
                let mut acc = 1i64 << (PRECISION_BITS - 1);
                for (i, w) in weights.iter().enumerate() {
                    acc += i64::from(row[(first + i) * 3 + channel]) * w;
                }
                pixels.push(clip8(acc));
            }
        }
    }
    RgbImage {
        width: out_width,
        height: image.height,
        pixels,
    }
}

fn resample_columns(image: &RgbImage, out_height: usize, filter: Filter) -> RgbImage {
    let taps = taps(image.height, out_height, filter);
    let stride = image.width * 3;
    let mut pixels = Vec::with_capacity(stride * out_height);
    for (first, weights) in taps.first.iter().zip(&taps.weights) {
        for column in 0..stride {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (i, w) in weights.iter().enumerate() {
                acc += i64::from(image.pixels[(first + i) * stride + column]) * w;
            }
            pixels.push(clip8(acc));
        }
    }
    RgbImage {
        width: image.width,
        height: out_height,
        pixels,
    }
}

impl RgbImage {
    /// `Image.resize((width, height), filter)`; sizes must be positive (checked by callers).
    pub fn resize(&self, width: usize, height: usize, filter: Filter) -> RgbImage {
        let mut out = self.clone();
        if width != out.width {
            out = resample_rows(&out, width, filter);
        }
        if height != out.height {
            out = resample_columns(&out, height, filter);
        }
        out
    }

    /// `Image.crop((left, top, left + width, top + height))` inside the image.
    pub fn crop(&self, left: usize, top: usize, width: usize, height: usize) -> RgbImage {
        let stride = self.width * 3;
        let mut pixels = Vec::with_capacity(width * height * 3);
        for row in top..top + height {
            let start = row * stride + left * 3;
            pixels.extend_from_slice(&self.pixels[start..start + width * 3]);
        }
        RgbImage {
            width,
            height,
            pixels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_sum_to_one_in_fixed_point_and_stay_inside_the_image() {
        for (from, to) in [(10, 3), (3, 10), (768, 768), (7, 1)] {
            let taps = taps(from, to, Filter::Bicubic);
            for (first, weights) in taps.first.iter().zip(&taps.weights) {
                assert!(first + weights.len() <= from);
                let sum: i64 = weights.iter().sum();
                // Rounding each tap separately leaves the sum within a few units of 2^22.
                assert!((sum - (1 << PRECISION_BITS)).abs() <= weights.len() as i64);
            }
        }
    }

    #[test]
    fn a_flat_image_stays_flat() {
        let image = RgbImage {
            width: 5,
            height: 4,
            pixels: [10u8, 200, 77].repeat(20),
        };
        for filter in [Filter::Box, Filter::Bicubic, Filter::Lanczos] {
            let out = image.resize(9, 2, filter);
            assert_eq!(out.pixels, [10u8, 200, 77].repeat(18));
        }
    }
}
