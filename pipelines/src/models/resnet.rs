//! Building blocks shared by the UNet and the VAE (diffusers' resnet.py, downsampling.py,
//! upsampling.py).

use crate::layers::{self, Conv2d, GroupNorm, Kernels, Linear};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

/// diffusers' ResnetBlock2D with the "default" time-embedding shift.
#[derive(Debug, Clone)]
pub struct ResnetBlock2D {
    norm1: GroupNorm,
    conv1: Conv2d,
    time_emb_proj: Option<Linear>,
    norm2: GroupNorm,
    conv2: Conv2d,
    conv_shortcut: Option<Conv2d>,
    output_scale_factor: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct ResnetSpec {
    pub inputs: usize,
    pub outputs: usize,
    pub temb: Option<usize>,
    pub groups: usize,
    pub eps: f64,
    pub output_scale_factor: f64,
    pub kernels: Kernels,
}

impl ResnetBlock2D {
    pub fn new(vb: VarBuilder, s: ResnetSpec) -> Result<Self> {
        let conv_shortcut = if s.inputs != s.outputs {
            Some(layers::conv2d(
                vb.pp("conv_shortcut"),
                s.inputs,
                s.outputs,
                1,
                1,
                0,
                s.kernels,
            )?)
        } else {
            None
        };
        let time_emb_proj = match s.temb {
            Some(t) => Some(layers::linear(vb.pp("time_emb_proj"), t, s.outputs, true)?),
            None => None,
        };
        Ok(Self {
            norm1: layers::group_norm(vb.pp("norm1"), s.groups, s.inputs, s.eps, s.kernels)?,
            conv1: layers::conv2d(vb.pp("conv1"), s.inputs, s.outputs, 3, 1, 1, s.kernels)?,
            time_emb_proj,
            norm2: layers::group_norm(vb.pp("norm2"), s.groups, s.outputs, s.eps, s.kernels)?,
            conv2: layers::conv2d(vb.pp("conv2"), s.outputs, s.outputs, 3, 1, 1, s.kernels)?,
            conv_shortcut,
            output_scale_factor: s.output_scale_factor,
        })
    }

    pub fn forward(&self, x: &Tensor, temb: Option<&Tensor>) -> Result<Tensor> {
        let mut h = self.conv1.forward(&self.norm1.forward_silu(x)?)?;
        if let (Some(proj), Some(temb)) = (&self.time_emb_proj, temb) {
            let t = proj
                .forward(&layers::silu(temb)?)?
                .unsqueeze(2)?
                .unsqueeze(3)?;
            h = h.broadcast_add(&t)?;
        }
        let h = self.conv2.forward(&self.norm2.forward_silu(&h)?)?;
        let shortcut = match &self.conv_shortcut {
            Some(conv) => conv.forward(x)?,
            None => x.clone(),
        };
        let out = (shortcut + h)?;
        if self.output_scale_factor == 1.0 {
            Ok(out)
        } else {
            out / self.output_scale_factor
        }
    }
}

/// Strided 3x3 convolution. With padding 0 (the VAE encoder) diffusers pads one row and
/// column on the bottom/right only, which a symmetric conv padding cannot express.
#[derive(Debug, Clone)]
pub struct Downsample2D {
    conv: Conv2d,
    asymmetric: bool,
}

impl Downsample2D {
    pub fn new(vb: VarBuilder, channels: usize, padding: usize, kernels: Kernels) -> Result<Self> {
        Ok(Self {
            conv: layers::conv2d(vb.pp("conv"), channels, channels, 3, 2, padding, kernels)?,
            asymmetric: padding == 0,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.asymmetric {
            let x = x.pad_with_zeros(2, 0, 1)?.pad_with_zeros(3, 0, 1)?;
            self.conv.forward(&x)
        } else {
            self.conv.forward(x)
        }
    }
}

/// Nearest resize (to an explicit size, so odd latent sizes follow the skip connections
/// as diffusers' `upsample_size` does) followed by a 3x3 convolution.
#[derive(Debug, Clone)]
pub struct Upsample2D {
    conv: Conv2d,
}

impl Upsample2D {
    pub fn new(vb: VarBuilder, channels: usize, kernels: Kernels) -> Result<Self> {
        Ok(Self {
            conv: layers::conv2d(vb.pp("conv"), channels, channels, 3, 1, 1, kernels)?,
        })
    }

    pub fn forward(&self, x: &Tensor, size: Option<(usize, usize)>) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let (th, tw) = size.unwrap_or((h * 2, w * 2));
        self.conv.forward(&layers::upsample_nearest(x, th, tw)?)
    }
}
