//! A convolution's geometry and the size checks both algorithms share, so a bad shape is
//! refused the same way whichever path runs.

use crate::error::{OpsError, Result};

/// The geometry of a square-kernel convolution (dilation 1, one group: what the diffusion
/// models use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    pub kernel_size: usize,
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
}

impl Conv2dParams {
    /// `(oh, ow)` of an `h x w` input, or an error when the kernel does not fit or the
    /// geometry is degenerate.
    pub fn output_size(&self, h: usize, w: usize) -> Result<(usize, usize)> {
        let (k, s, p) = (self.kernel_size, self.stride, self.padding);
        if k == 0 || s == 0 {
            return Err(OpsError::shape(
                "params",
                format!("kernel size {k} and stride {s} must both be at least 1"),
            ));
        }
        let span = |n: usize| n.checked_add(p.checked_mul(2)?)?.checked_sub(k);
        match (span(h), span(w)) {
            (Some(a), Some(b)) => Ok((a / s + 1, b / s + 1)),
            _ => Err(OpsError::shape(
                "x",
                format!("a {h}x{w} input padded by {p} is smaller than the {k}x{k} kernel"),
            )),
        }
    }

    /// Whether [`super::winograd`] computes this convolution (3x3, stride 1, padding 1).
    pub fn fits_winograd(&self) -> bool {
        (self.kernel_size, self.stride, self.padding) == (3, 1, 1)
    }

    pub(crate) fn is_pointwise(&self) -> bool {
        (self.kernel_size, self.stride, self.padding) == (1, 1, 0)
    }
}

pub(crate) fn check_bias(bias: Option<&[f32]>, c_out: usize) -> Result<()> {
    match bias {
        Some(bias) if bias.len() != c_out => Err(OpsError::shape(
            "bias",
            format!("{} values for {c_out} output channels", bias.len()),
        )),
        _ => Ok(()),
    }
}
