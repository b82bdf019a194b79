//! AutoencoderKL (encoder, decoder, quant convs). Scaling by `scaling_factor` is the
//! pipeline's job, as in diffusers.

use super::config::VaeConfig;
use super::tiling::Tiling;
use crate::layers::{
    self, Conv2d, Conv2dConfig, GroupNorm, GroupNormConfig, Kernels, Linear, LinearConfig,
};
use crate::model_tensor::{ModelDevice, Tensor, VarBuilder};
use crate::models::resnet::{Downsample2D, ResnetBlock2D, ResnetSpec, Upsample2D};
use candle_core::{DType, Result};

const EPS: f64 = 1e-6;

/// The VAE mid-block's single-head spatial self-attention (diffusers' Attention with a
/// group norm and a residual connection).
#[derive(Debug, Clone)]
struct SpatialAttention {
    group_norm: GroupNorm,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
    kernels: Kernels,
}

impl SpatialAttention {
    fn new(vb: VarBuilder, channels: usize, groups: usize, kernels: Kernels) -> Result<Self> {
        let square = LinearConfig {
            in_features: channels,
            out_features: channels,
            bias: true,
        };
        Ok(Self {
            group_norm: GroupNorm::load(
                vb.pp("group_norm"),
                GroupNormConfig {
                    groups,
                    channels,
                    eps: EPS,
                },
                kernels,
            )?,
            to_q: Linear::load(vb.pp("to_q"), square)?,
            to_k: Linear::load(vb.pp("to_k"), square)?,
            to_v: Linear::load(vb.pp("to_v"), square)?,
            to_out: Linear::load(vb.pp("to_out").pp("0"), square)?,
            kernels,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let tokens = self
            .group_norm
            .forward(x)?
            .reshape((b, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?;
        let out = layers::attention(
            &self.to_q.forward(&tokens)?,
            &self.to_k.forward(&tokens)?,
            &self.to_v.forward(&tokens)?,
            1,
            None,
            self.kernels,
        )?;
        let out = self
            .to_out
            .forward(&out)?
            .transpose(1, 2)?
            .reshape((b, c, h, w))?;
        out + x
    }
}

#[derive(Debug, Clone)]
struct MidBlock {
    resnet0: ResnetBlock2D,
    attention: Option<SpatialAttention>,
    resnet1: ResnetBlock2D,
}

impl MidBlock {
    fn new(vb: VarBuilder, channels: usize, c: &VaeConfig, kernels: Kernels) -> Result<Self> {
        let spec = spec(channels, channels, c, kernels);
        let attention = if c.mid_block_add_attention {
            Some(SpatialAttention::new(
                vb.pp("attentions").pp(0),
                channels,
                c.norm_num_groups,
                kernels,
            )?)
        } else {
            None
        };
        Ok(Self {
            resnet0: ResnetBlock2D::new(vb.pp("resnets").pp(0), spec)?,
            attention,
            resnet1: ResnetBlock2D::new(vb.pp("resnets").pp(1), spec)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.resnet0.forward(x, None)?;
        if let Some(attn) = &self.attention {
            x = attn.forward(&x)?;
        }
        self.resnet1.forward(&x, None)
    }
}

fn spec(inputs: usize, outputs: usize, c: &VaeConfig, kernels: Kernels) -> ResnetSpec {
    ResnetSpec {
        inputs,
        outputs,
        temb: None,
        groups: c.norm_num_groups,
        eps: EPS,
        output_scale_factor: 1.0,
        kernels,
    }
}

#[derive(Debug, Clone)]
struct Encoder {
    conv_in: Conv2d,
    blocks: Vec<(Vec<ResnetBlock2D>, Option<Downsample2D>)>,
    mid: MidBlock,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl Encoder {
    fn new(vb: VarBuilder, c: &VaeConfig, k: Kernels) -> Result<Self> {
        let ch = &c.block_out_channels;
        let n = ch.len();
        let mut output = ch[0];
        let mut blocks = Vec::with_capacity(n);
        for (i, &out) in ch.iter().enumerate() {
            let bvb = vb.pp("down_blocks").pp(i);
            let input = output;
            output = out;
            let resnets = (0..c.layers_per_block)
                .map(|j| {
                    ResnetBlock2D::new(
                        bvb.pp("resnets").pp(j),
                        spec(if j == 0 { input } else { output }, output, c, k),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let down = if i + 1 < n {
                Some(Downsample2D::new(
                    bvb.pp("downsamplers").pp(0),
                    output,
                    0,
                    k,
                )?)
            } else {
                None
            };
            blocks.push((resnets, down));
        }
        Ok(Self {
            conv_in: Conv2d::load(
                vb.pp("conv_in"),
                Conv2dConfig {
                    in_channels: c.in_channels,
                    out_channels: ch[0],
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                k,
            )?,
            blocks,
            mid: MidBlock::new(vb.pp("mid_block"), output, c, k)?,
            norm_out: GroupNorm::load(
                vb.pp("conv_norm_out"),
                GroupNormConfig {
                    groups: c.norm_num_groups,
                    channels: output,
                    eps: EPS,
                },
                k,
            )?,
            conv_out: Conv2d::load(
                vb.pp("conv_out"),
                Conv2dConfig {
                    in_channels: output,
                    out_channels: 2 * c.latent_channels,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                k,
            )?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = self.conv_in.forward(x)?;
        for (resnets, down) in &self.blocks {
            for r in resnets {
                x = r.forward(&x, None)?;
            }
            if let Some(d) = down {
                x = d.forward(&x)?;
            }
        }
        let x = self.mid.forward(&x)?;
        self.conv_out.forward(&self.norm_out.forward_silu(&x)?)
    }
}

#[derive(Debug, Clone)]
struct Decoder {
    conv_in: Conv2d,
    mid: MidBlock,
    blocks: Vec<(Vec<ResnetBlock2D>, Option<Upsample2D>)>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl Decoder {
    fn new(vb: VarBuilder, c: &VaeConfig, k: Kernels) -> Result<Self> {
        let reversed: Vec<usize> = c.block_out_channels.iter().rev().copied().collect();
        let n = reversed.len();
        let mut output = reversed[0];
        let mut blocks = Vec::with_capacity(n);
        for (i, &out) in reversed.iter().enumerate() {
            let bvb = vb.pp("up_blocks").pp(i);
            let prev = output;
            output = out;
            let resnets = (0..=c.layers_per_block)
                .map(|j| {
                    ResnetBlock2D::new(
                        bvb.pp("resnets").pp(j),
                        spec(if j == 0 { prev } else { output }, output, c, k),
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            let up = if i + 1 < n {
                Some(Upsample2D::new(bvb.pp("upsamplers").pp(0), output, k)?)
            } else {
                None
            };
            blocks.push((resnets, up));
        }
        Ok(Self {
            conv_in: Conv2d::load(
                vb.pp("conv_in"),
                Conv2dConfig {
                    in_channels: c.latent_channels,
                    out_channels: reversed[0],
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                k,
            )?,
            mid: MidBlock::new(vb.pp("mid_block"), reversed[0], c, k)?,
            blocks,
            norm_out: GroupNorm::load(
                vb.pp("conv_norm_out"),
                GroupNormConfig {
                    groups: c.norm_num_groups,
                    channels: output,
                    eps: EPS,
                },
                k,
            )?,
            conv_out: Conv2d::load(
                vb.pp("conv_out"),
                Conv2dConfig {
                    in_channels: output,
                    out_channels: c.out_channels,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                k,
            )?,
        })
    }

    fn forward(&self, z: &Tensor) -> Result<Tensor> {
        let mut x = self.mid.forward(&self.conv_in.forward(z)?)?;
        for (resnets, up) in &self.blocks {
            for r in resnets {
                x = r.forward(&x, None)?;
            }
            if let Some(u) = up {
                x = u.forward(&x, None)?;
            }
        }
        self.conv_out.forward(&self.norm_out.forward_silu(&x)?)
    }
}

/// `latent_dist` of diffusers' AutoencoderKL.encode: a diagonal Gaussian.
#[derive(Debug, Clone)]
pub struct LatentDistribution {
    pub mean: Tensor,
    pub std: Tensor,
}

#[derive(Debug, Clone)]
pub struct AutoencoderKL {
    encoder: Encoder,
    decoder: Decoder,
    quant_conv: Option<Conv2d>,
    post_quant_conv: Option<Conv2d>,
    config: VaeConfig,
    dtype: DType,
    /// Where the weights live.
    device: ModelDevice,
    /// Set by [`AutoencoderKL::enable_tiling`].
    tiling: Option<Tiling>,
    /// Set by [`AutoencoderKL::enable_slicing`].
    slicing: bool,
}

impl AutoencoderKL {
    pub fn new(vb: VarBuilder, c: &VaeConfig) -> Result<Self> {
        Self::with_kernels(vb, c, Kernels::default())
    }

    pub fn with_kernels(vb: VarBuilder, c: &VaeConfig, k: Kernels) -> Result<Self> {
        c.check_supported().map_err(candle_core::Error::msg)?;
        let l = c.latent_channels;
        Ok(Self {
            encoder: Encoder::new(vb.pp("encoder"), c, k)?,
            decoder: Decoder::new(vb.pp("decoder"), c, k)?,
            quant_conv: if c.use_quant_conv {
                Some(Conv2d::load(
                    vb.pp("quant_conv"),
                    Conv2dConfig {
                        in_channels: 2 * l,
                        out_channels: 2 * l,
                        kernel_size: 1,
                        ..Default::default()
                    },
                    k,
                )?)
            } else {
                None
            },
            post_quant_conv: if c.use_post_quant_conv {
                Some(Conv2d::load(
                    vb.pp("post_quant_conv"),
                    Conv2dConfig {
                        in_channels: l,
                        out_channels: l,
                        kernel_size: 1,
                        ..Default::default()
                    },
                    k,
                )?)
            } else {
                None
            },
            config: c.clone(),
            dtype: vb.dtype(),
            device: vb.device().clone(),
            tiling: None,
            slicing: false,
        })
    }

    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Where the weights live (inputs go there, see [`ModelDevice::place`]).
    pub fn device(&self) -> &ModelDevice {
        &self.device
    }

    /// The dtype of the weights, which inputs to `encode` and `decode` must have.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Image in [-1, 1], NCHW.
    pub fn encode(&self, image: &Tensor) -> Result<LatentDistribution> {
        let moments = self.per_image(image, |one| self.encode_moments(one))?;
        let l = self.config.latent_channels;
        let mean = moments.narrow(1, 0, l)?;
        let logvar = moments.narrow(1, l, l)?.clamp(-30f32, 20f32)?;
        let std = (logvar * 0.5)?.exp()?;
        Ok(LatentDistribution { mean, std })
    }

    /// Latents already divided by `scaling_factor`; returns the image in about [-1, 1].
    pub fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        self.per_image(latents, |one| match self.tiling {
            Some(tiling) if tiling.tiles_latents(one)? => {
                tiling.decode(one, |tile| self.decode_whole(tile))
            }
            _ => self.decode_whole(one),
        })
    }

    /// diffusers' `vae.enable_slicing()`: a batch is encoded and decoded one image at a
    /// time, so activation memory is that of one image.
    pub fn enable_slicing(&mut self) {
        self.slicing = true;
    }

    pub fn slicing(&self) -> bool {
        self.slicing
    }

    /// `f` over the whole batch, or image by image when slicing.
    fn per_image(&self, batch: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
        let count = batch.dim(0)?;
        if !self.slicing || count < 2 {
            return f(batch);
        }
        let parts = (0..count)
            .map(|i| f(&batch.narrow(0, i, 1)?))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&parts, 0)
    }

    fn encode_moments(&self, image: &Tensor) -> Result<Tensor> {
        match self.tiling {
            Some(tiling) if tiling.tiles_image(image)? => {
                tiling.encode(image, |tile| self.moments(tile))
            }
            _ => self.moments(image),
        }
    }

    /// diffusers' `vae.enable_tiling()`: images and latents larger than one tile (the
    /// config's sample_size) are encoded and decoded tile by tile.
    pub fn enable_tiling(&mut self) -> Result<Tiling> {
        let tiling = Tiling::of(&self.config)?;
        self.tiling = Some(tiling);
        Ok(tiling)
    }

    pub fn tiling(&self) -> Option<Tiling> {
        self.tiling
    }

    /// The encoder's moments (mean and log-variance, stacked on channels).
    fn moments(&self, image: &Tensor) -> Result<Tensor> {
        let moments = self.encoder.forward(image)?;
        match &self.quant_conv {
            Some(q) => q.forward(&moments),
            None => Ok(moments),
        }
    }

    fn decode_whole(&self, latents: &Tensor) -> Result<Tensor> {
        let z = match &self.post_quant_conv {
            Some(p) => p.forward(latents)?,
            None => latents.clone(),
        };
        self.decoder.forward(&z)
    }
}
