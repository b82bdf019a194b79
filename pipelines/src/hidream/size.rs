//! The image size HiDream actually generates: diffusers' HiDreamImagePipeline rescales any
//! requested width x height to the model's default area (default_sample_size x
//! vae_scale_factor, squared: 1024 x 1024 for HiDream-I1) keeping the aspect ratio, then
//! floors each side to a multiple of 2 x vae_scale_factor (16), because the transformer
//! patches the latent 2 x 2. The arithmetic is Python float arithmetic, reproduced here
//! operation by operation so that borderline sides (1080 * 0.7111.. = 767.99..) land on
//! the same multiple.

/// A requested size the rule cannot turn into an image; names the flags, as a user gives
/// them to the binaries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SizeError {
    #[error("--width {width} --height {height}: both sides must be positive")]
    Empty { width: usize, height: usize },
    #[error(
        "--width {width} --height {height}: the aspect ratio is too extreme, one side \
         would be {side} pixels after rescaling to the model's area (needs at least {min})"
    )]
    TooExtreme {
        width: usize,
        height: usize,
        side: f64,
        min: usize,
    },
    #[error(
        "--width {width} --height {height}: this model's size rule gives {out_width}x\
         {out_height}, more than the {max} pixels a run is sized for (is the VAE config's \
         block_out_channels right?)"
    )]
    TooLarge {
        width: usize,
        height: usize,
        out_width: usize,
        out_height: usize,
        max: u64,
    },
}

/// The most pixels a generated image may have: 16 times HiDream-I1's 1024 x 1024. The
/// rule keeps every request at the model's area, so only a model whose VAE config claims
/// a huge scale factor reaches it; latents and activations are sized from the result.
pub const MAX_OUTPUT_PIXELS: u64 = 4096 * 4096;

/// The model-side constants the rule depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRule {
    /// 2^(number of VAE resolution levels - 1): 8 for HiDream's Flux-style VAE.
    pub vae_scale_factor: usize,
    /// The pipeline's `default_sample_size` (128 for HiDream-I1).
    pub default_sample_size: usize,
}

impl SizeRule {
    pub const HIDREAM_I1: SizeRule = SizeRule {
        vae_scale_factor: 8,
        default_sample_size: 128,
    };

    /// Sides are multiples of this.
    pub fn multiple(&self) -> usize {
        self.vae_scale_factor.saturating_mul(2)
    }

    /// (width, height) the pipeline generates for a request, or why it cannot.
    pub fn output_size(&self, width: usize, height: usize) -> Result<(usize, usize), SizeError> {
        if width == 0 || height == 0 {
            return Err(SizeError::Empty { width, height });
        }
        let division = self.multiple() as f64;
        let side = self.default_sample_size as f64 * self.vae_scale_factor as f64;
        let scale = (side * side / (width as f64 * height as f64)).sqrt();
        let snap = |v: usize| python_floordiv(v as f64 * scale, division) * division;
        let (w, h) = (snap(width), snap(height));
        if w < division || h < division {
            return Err(SizeError::TooExtreme {
                width,
                height,
                side: w.min(h),
                min: self.multiple(),
            });
        }
        if w * h > MAX_OUTPUT_PIXELS as f64 {
            return Err(SizeError::TooLarge {
                width,
                height,
                out_width: w as usize,
                out_height: h as usize,
                max: MAX_OUTPUT_PIXELS,
            });
        }
        Ok((w as usize, h as usize))
    }
}

/// Python's `a // b` for floats: floor of the exact quotient, computed as CPython does
/// (through fmod, so a quotient that rounds up to an integer is not floored past it).
fn python_floordiv(a: f64, b: f64) -> f64 {
    let rem = a % b;
    let mut div = (a - rem) / b;
    if rem != 0.0 && ((b < 0.0) != (rem < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let floored = div.floor();
        if div - floored > 0.5 {
            floored + 1.0
        } else {
            floored
        }
    } else {
        0.0_f64.copysign(a / b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected sizes computed with diffusers 0.42.1's formula in Python
    // (pipeline_hidream_image.py, `__call__`: S_max, scale = sqrt(S_max / (w * h)),
    // int(w * scale // division * division)), not with this code.
    #[test]
    fn sizes_match_the_reference_formula() {
        let rule = SizeRule::HIDREAM_I1;
        for (request, expected) in [
            ((1024, 1024), (1024, 1024)),
            ((768, 768), (1024, 1024)),
            ((512, 1024), (720, 1440)),
            ((1920, 1080), (1360, 768)),
            ((1080, 1920), (768, 1360)),
            ((1000, 600), (1312, 784)),
            ((64, 64), (1024, 1024)),
            ((1360, 768), (1360, 768)),
            ((832, 1248), (832, 1248)),
        ] {
            assert_eq!(
                rule.output_size(request.0, request.1),
                Ok(expected),
                "{request:?}"
            );
        }
    }

    #[test]
    fn degenerate_requests_are_refused_naming_the_flags() {
        let rule = SizeRule::HIDREAM_I1;
        let err = rule.output_size(0, 512).unwrap_err().to_string();
        assert!(err.contains("--width 0"), "{err}");
        // 20000 x 3: the short side would be 8 pixels after rescaling.
        let err = rule.output_size(20000, 3).unwrap_err().to_string();
        assert!(err.contains("aspect ratio"), "{err}");
    }

    #[test]
    fn extreme_requests_stay_within_the_model_area_or_are_refused() {
        let rule = SizeRule::HIDREAM_I1;
        for (w, h) in [(usize::MAX, usize::MAX), (1, 1), (65536, 16), (16, 65536)] {
            let (ow, oh) = rule.output_size(w, h).expect("kept at the model's area");
            assert!(
                (ow * oh) as u64 <= MAX_OUTPUT_PIXELS,
                "{w}x{h} -> {ow}x{oh}"
            );
        }
        assert!(rule.output_size(usize::MAX, 1).is_err());
        // A VAE config claiming 16 resolution levels (scale factor 2^15) would size
        // 4194304 x 4194304 images.
        let huge = SizeRule {
            vae_scale_factor: 1 << 15,
            default_sample_size: 128,
        };
        let err = huge.output_size(1024, 1024).unwrap_err();
        assert!(matches!(err, SizeError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("--width 1024"), "{err}");
    }

    #[test]
    fn floor_division_follows_python() {
        assert_eq!(python_floordiv(767.9999999999999, 16.0), 47.0);
        assert_eq!(python_floordiv(768.0, 16.0), 48.0);
        assert_eq!(python_floordiv(7.0, 2.0), 3.0);
        assert_eq!(python_floordiv(0.5, 16.0), 0.0);
    }
}
