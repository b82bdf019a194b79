//! Building blocks shared by the UNet and the VAE (diffusers' resnet.py, downsampling.py,
//! upsampling.py).

use crate::layers::{
    self, Conv2d, Conv2dConfig, GroupNorm, GroupNormConfig, Kernels, Linear, LinearConfig,
};
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::Result;

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
            Some(Conv2d::load(
                vb.pp("conv_shortcut"),
                Conv2dConfig {
                    in_channels: s.inputs,
                    out_channels: s.outputs,
                    kernel_size: 1,
                    ..Default::default()
                },
                s.kernels,
            )?)
        } else {
            None
        };
        let time_emb_proj = match s.temb {
            Some(t) => Some(Linear::load(
                vb.pp("time_emb_proj"),
                LinearConfig {
                    in_features: t,
                    out_features: s.outputs,
                    bias: true,
                },
            )?),
            None => None,
        };
        Ok(Self {
            norm1: GroupNorm::load(
                vb.pp("norm1"),
                GroupNormConfig {
                    groups: s.groups,
                    channels: s.inputs,
                    eps: s.eps,
                },
                s.kernels,
            )?,
            conv1: Conv2d::load(
                vb.pp("conv1"),
                Conv2dConfig {
                    in_channels: s.inputs,
                    out_channels: s.outputs,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                s.kernels,
            )?,
            time_emb_proj,
            norm2: GroupNorm::load(
                vb.pp("norm2"),
                GroupNormConfig {
                    groups: s.groups,
                    channels: s.outputs,
                    eps: s.eps,
                },
                s.kernels,
            )?,
            conv2: Conv2d::load(
                vb.pp("conv2"),
                Conv2dConfig {
                    in_channels: s.outputs,
                    out_channels: s.outputs,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                s.kernels,
            )?,
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
            conv: Conv2d::load(
                vb.pp("conv"),
                Conv2dConfig {
                    in_channels: channels,
                    out_channels: channels,
                    kernel_size: 3,
                    stride: 2,
                    padding,
                    ..Default::default()
                },
                kernels,
            )?,
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
            conv: Conv2d::load(
                vb.pp("conv"),
                Conv2dConfig {
                    in_channels: channels,
                    out_channels: channels,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                kernels,
            )?,
        })
    }

    pub fn forward(&self, x: &Tensor, size: Option<(usize, usize)>) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let (th, tw) = size.unwrap_or((h * 2, w * 2));
        self.conv.forward(&layers::upsample_nearest(x, th, tw)?)
    }
}
