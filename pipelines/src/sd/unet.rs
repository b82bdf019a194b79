//! UNet2DConditionModel as configured by SD 1.x/2.x folders: block types, heads, linear
//! projection and cross-attention width all come from the component's config.json.

use super::accel::deepcache::{Part, Site};
use super::accel::hooks::StepHooks;
use super::accel::tome::TomeRun;
use super::config::UNetConfig;
use crate::layers::{
    self, Conv2d, Conv2dConfig, GeGlu, GeGluConfig, GroupNorm, GroupNormConfig, Kernels, LayerNorm,
    LayerNormConfig, Linear, LinearConfig,
};
use crate::model_tensor::{Tensor, VarBuilder};
use crate::models::embeddings::timestep_embedding;
use crate::models::resnet::{Downsample2D, ResnetBlock2D, ResnetSpec, Upsample2D};
use candle_core::Result;
use ops_npu::candle_ops::tome::TokenMerge;

#[derive(Debug, Clone)]
struct Attention {
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
    heads: usize,
    kernels: Kernels,
}

impl Attention {
    fn new(
        vb: VarBuilder,
        dim: usize,
        context: usize,
        heads: usize,
        head_dim: usize,
        kernels: Kernels,
    ) -> Result<Self> {
        let inner = heads * head_dim;
        let from_context = LinearConfig {
            in_features: context,
            out_features: inner,
            bias: false,
        };
        Ok(Self {
            to_q: Linear::load(
                vb.pp("to_q"),
                LinearConfig {
                    in_features: dim,
                    out_features: inner,
                    bias: false,
                },
            )?,
            to_k: Linear::load(vb.pp("to_k"), from_context)?,
            to_v: Linear::load(vb.pp("to_v"), from_context)?,
            to_out: Linear::load(
                vb.pp("to_out").pp("0"),
                LinearConfig {
                    in_features: inner,
                    out_features: dim,
                    bias: true,
                },
            )?,
            heads,
            kernels,
        })
    }

    // upcast_attention only changes the precision of q.k in reduced-precision runs. The
    // fused kernel computes scores and softmax in f32 for every dtype (always upcast); the
    // naive path computes them in the input dtype, as diffusers does without upcasting.
    fn forward(&self, x: &Tensor, context: Option<&Tensor>) -> Result<Tensor> {
        let context = context.unwrap_or(x);
        let out = layers::attention(
            &self.to_q.forward(x)?,
            &self.to_k.forward(context)?,
            &self.to_v.forward(context)?,
            self.heads,
            None,
            self.kernels,
        )?;
        self.to_out.forward(&out)
    }
}

#[derive(Debug, Clone)]
struct BasicTransformerBlock {
    norm1: LayerNorm,
    attn1: Attention,
    norm2: LayerNorm,
    attn2: Attention,
    norm3: LayerNorm,
    ff_in: GeGlu,
    ff_out: Linear,
}

impl BasicTransformerBlock {
    fn new(
        vb: VarBuilder,
        dim: usize,
        heads: usize,
        head_dim: usize,
        context: usize,
        k: Kernels,
    ) -> Result<Self> {
        let norm = LayerNormConfig { dim, eps: 1e-5 };
        Ok(Self {
            norm1: LayerNorm::load(vb.pp("norm1"), norm, k)?,
            attn1: Attention::new(vb.pp("attn1"), dim, dim, heads, head_dim, k)?,
            norm2: LayerNorm::load(vb.pp("norm2"), norm, k)?,
            attn2: Attention::new(vb.pp("attn2"), dim, context, heads, head_dim, k)?,
            norm3: LayerNorm::load(vb.pp("norm3"), norm, k)?,
            ff_in: GeGlu::load(
                vb.pp("ff").pp("net").pp("0"),
                GeGluConfig {
                    in_features: dim,
                    out_features: dim * 4,
                },
                k,
            )?,
            ff_out: Linear::load(
                vb.pp("ff").pp("net").pp("2"),
                LinearConfig {
                    in_features: dim * 4,
                    out_features: dim,
                    bias: true,
                },
            )?,
        })
    }

    /// With `merge`, self-attention sees the merged tokens (tomesd's `merge_attn`).
    fn forward(&self, x: &Tensor, context: &Tensor, merge: Option<&TokenMerge>) -> Result<Tensor> {
        let normed = self.norm1.forward(x)?;
        let attended = match merge {
            Some(m) => {
                // Token merging is a CPU kernel (the NPU never gets here: see tome.rs).
                let merged = Tensor::Candle(m.merge(normed.as_candle()?)?);
                Tensor::Candle(m.unmerge(self.attn1.forward(&merged, None)?.as_candle()?)?)
            }
            None => self.attn1.forward(&normed, None)?,
        };
        let x = (attended + x)?;
        let x = (self
            .attn2
            .forward(&self.norm2.forward(&x)?, Some(context))?
            + &x)?;
        let ff = self
            .ff_out
            .forward(&self.ff_in.forward(&self.norm3.forward(&x)?)?)?;
        ff + x
    }
}

#[derive(Debug, Clone)]
enum Projection {
    Linear(Linear),
    Conv(Conv2d),
}

/// Transformer2DModel with continuous (image) input.
#[derive(Debug, Clone)]
struct Transformer2D {
    norm: GroupNorm,
    proj_in: Projection,
    blocks: Vec<BasicTransformerBlock>,
    proj_out: Projection,
}

#[derive(Debug, Clone, Copy)]
struct TransformerSpec {
    channels: usize,
    heads: usize,
    layers: usize,
    context: usize,
    groups: usize,
    linear_projection: bool,
    kernels: Kernels,
}

impl Transformer2D {
    fn new(vb: VarBuilder, s: TransformerSpec) -> Result<Self> {
        if s.heads == 0 || !s.channels.is_multiple_of(s.heads) {
            candle_core::bail!(
                "{} channels cannot be split into {} attention heads",
                s.channels,
                s.heads
            );
        }
        let head_dim = s.channels / s.heads;
        let inner = s.heads * head_dim;
        let projection = |name: &str, i: usize, o: usize| -> Result<Projection> {
            Ok(if s.linear_projection {
                Projection::Linear(Linear::load(
                    vb.pp(name),
                    LinearConfig {
                        in_features: i,
                        out_features: o,
                        bias: true,
                    },
                )?)
            } else {
                Projection::Conv(Conv2d::load(
                    vb.pp(name),
                    Conv2dConfig {
                        in_channels: i,
                        out_channels: o,
                        kernel_size: 1,
                        ..Default::default()
                    },
                    s.kernels,
                )?)
            })
        };
        let blocks = (0..s.layers)
            .map(|i| {
                BasicTransformerBlock::new(
                    vb.pp("transformer_blocks").pp(i),
                    inner,
                    s.heads,
                    head_dim,
                    s.context,
                    s.kernels,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            norm: GroupNorm::load(
                vb.pp("norm"),
                GroupNormConfig {
                    groups: s.groups,
                    channels: s.channels,
                    eps: 1e-6,
                },
                s.kernels,
            )?,
            proj_in: projection("proj_in", s.channels, inner)?,
            blocks,
            proj_out: projection("proj_out", inner, s.channels)?,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        context: &Tensor,
        mut tome: Option<&mut TomeRun>,
    ) -> Result<Tensor> {
        let (b, _, h, w) = x.dims4()?;
        let to_tokens = |t: &Tensor| -> Result<Tensor> {
            let c = t.dim(1)?;
            t.permute((0, 2, 3, 1))?.reshape((b, h * w, c))
        };
        let to_image = |t: &Tensor| -> Result<Tensor> {
            let c = t.dim(2)?;
            t.reshape((b, h, w, c))?.permute((0, 3, 1, 2))?.contiguous()
        };
        let normed = self.norm.forward(x)?;
        let mut tokens = match &self.proj_in {
            Projection::Linear(l) => l.forward(&to_tokens(&normed)?)?,
            Projection::Conv(c) => to_tokens(&c.forward(&normed)?)?,
        };
        for block in &self.blocks {
            let merge = match tome.as_deref_mut() {
                Some(t) => t.plan(&tokens)?,
                None => None,
            };
            tokens = block.forward(&tokens, context, merge.as_ref())?;
        }
        let out = match &self.proj_out {
            Projection::Linear(l) => to_image(&l.forward(&tokens)?)?,
            Projection::Conv(c) => c.forward(&to_image(&tokens)?)?,
        };
        out + x
    }
}

#[derive(Debug, Clone)]
struct DownBlock {
    resnets: Vec<ResnetBlock2D>,
    attentions: Vec<Transformer2D>,
    downsampler: Option<Downsample2D>,
}

#[derive(Debug, Clone)]
struct UpBlock {
    resnets: Vec<ResnetBlock2D>,
    attentions: Vec<Transformer2D>,
    upsampler: Option<Upsample2D>,
}

#[derive(Debug, Clone)]
struct MidBlock {
    resnet0: ResnetBlock2D,
    attention: Transformer2D,
    resnet1: ResnetBlock2D,
}

#[derive(Debug, Clone)]
pub struct UNet2DConditionModel {
    conv_in: Conv2d,
    time_linear_1: Linear,
    time_linear_2: Linear,
    down: Vec<DownBlock>,
    mid: MidBlock,
    up: Vec<UpBlock>,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
    time_channels: usize,
    flip_sin_to_cos: bool,
    freq_shift: f64,
    config: UNetConfig,
}

fn cross_attention_block(kind: &str, up: bool) -> Result<bool> {
    match (kind, up) {
        ("CrossAttnDownBlock2D", false) | ("CrossAttnUpBlock2D", true) => Ok(true),
        ("DownBlock2D", false) | ("UpBlock2D", true) => Ok(false),
        _ => candle_core::bail!("UNet block type {kind} is not supported"),
    }
}

impl UNet2DConditionModel {
    pub fn new(vb: VarBuilder, config: &UNetConfig) -> Result<Self> {
        Self::with_kernels(vb, config, Kernels::default())
    }

    pub fn with_kernels(vb: VarBuilder, config: &UNetConfig, k: Kernels) -> Result<Self> {
        config.check_supported().map_err(candle_core::Error::msg)?;
        let c = config;
        let n = c.block_out_channels.len();
        let expand = |r: std::result::Result<Vec<usize>, crate::config::ConfigError>| {
            r.map_err(candle_core::Error::msg)
        };
        // diffusers' `attention_head_dim` is really the number of heads (a legacy name).
        let heads = expand(
            c.num_attention_heads
                .as_ref()
                .unwrap_or(&c.attention_head_dim)
                .expand(n, "attention heads"),
        )?;
        let layers_per_block = expand(c.layers_per_block.expand(n, "layers_per_block"))?;
        let cross = expand(c.cross_attention_dim.expand(n, "cross_attention_dim"))?;
        let tlayers = expand(
            c.transformer_layers_per_block
                .expand(n, "transformer_layers_per_block"),
        )?;
        let only_cross = c
            .only_cross_attention
            .expand(n, "only_cross_attention")
            .map_err(candle_core::Error::msg)?;
        if only_cross.iter().any(|b| *b) {
            candle_core::bail!("UNet only_cross_attention is not supported");
        }
        let ch0 = *c
            .block_out_channels
            .first()
            .ok_or_else(|| candle_core::Error::msg("empty block_out_channels"))?;
        let temb = ch0 * 4;
        let resnet = |inputs, outputs, scale| ResnetSpec {
            inputs,
            outputs,
            temb: Some(temb),
            groups: c.norm_num_groups,
            eps: c.norm_eps,
            output_scale_factor: scale,
            kernels: k,
        };
        let transformer = |channels, i: usize| TransformerSpec {
            channels,
            heads: heads[i],
            layers: tlayers[i],
            context: cross[i],
            groups: c.norm_num_groups,
            linear_projection: c.use_linear_projection,
            kernels: k,
        };

        let mut down = Vec::with_capacity(n);
        let mut output = ch0;
        for (i, kind) in c.down_block_types.iter().enumerate() {
            let vb = vb.pp("down_blocks").pp(i);
            let input = output;
            output = c.block_out_channels[i];
            let has_attn = cross_attention_block(kind, false)?;
            let mut resnets = Vec::new();
            let mut attentions = Vec::new();
            for j in 0..layers_per_block[i] {
                let inputs = if j == 0 { input } else { output };
                resnets.push(ResnetBlock2D::new(
                    vb.pp("resnets").pp(j),
                    resnet(inputs, output, 1.0),
                )?);
                if has_attn {
                    attentions.push(Transformer2D::new(
                        vb.pp("attentions").pp(j),
                        transformer(output, i),
                    )?);
                }
            }
            let downsampler = if i + 1 < n {
                Some(Downsample2D::new(
                    vb.pp("downsamplers").pp(0),
                    output,
                    c.downsample_padding,
                    k,
                )?)
            } else {
                None
            };
            down.push(DownBlock {
                resnets,
                attentions,
                downsampler,
            });
        }

        let last = n - 1;
        let ch_last = c.block_out_channels[last];
        let mvb = vb.pp("mid_block");
        let mid = MidBlock {
            resnet0: ResnetBlock2D::new(
                mvb.pp("resnets").pp(0),
                resnet(ch_last, ch_last, c.mid_block_scale_factor),
            )?,
            attention: Transformer2D::new(mvb.pp("attentions").pp(0), transformer(ch_last, last))?,
            resnet1: ResnetBlock2D::new(
                mvb.pp("resnets").pp(1),
                resnet(ch_last, ch_last, c.mid_block_scale_factor),
            )?,
        };

        let reversed: Vec<usize> = c.block_out_channels.iter().rev().copied().collect();
        let mut up = Vec::with_capacity(n);
        let mut output = reversed[0];
        for (i, kind) in c.up_block_types.iter().enumerate() {
            let vb = vb.pp("up_blocks").pp(i);
            let rev = n - 1 - i;
            let prev = output;
            output = reversed[i];
            let input = reversed[(i + 1).min(n - 1)];
            let has_attn = cross_attention_block(kind, true)?;
            let count = layers_per_block[rev] + 1;
            let mut resnets = Vec::new();
            let mut attentions = Vec::new();
            for j in 0..count {
                let skip = if j + 1 == count { input } else { output };
                let inputs = if j == 0 { prev } else { output };
                resnets.push(ResnetBlock2D::new(
                    vb.pp("resnets").pp(j),
                    resnet(inputs + skip, output, 1.0),
                )?);
                if has_attn {
                    attentions.push(Transformer2D::new(
                        vb.pp("attentions").pp(j),
                        transformer(output, rev),
                    )?);
                }
            }
            let upsampler = if i + 1 < n {
                Some(Upsample2D::new(vb.pp("upsamplers").pp(0), output, k)?)
            } else {
                None
            };
            up.push(UpBlock {
                resnets,
                attentions,
                upsampler,
            });
        }

        Ok(Self {
            conv_in: Conv2d::load(
                vb.pp("conv_in"),
                Conv2dConfig {
                    in_channels: c.in_channels,
                    out_channels: ch0,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                k,
            )?,
            time_linear_1: Linear::load(
                vb.pp("time_embedding").pp("linear_1"),
                LinearConfig {
                    in_features: ch0,
                    out_features: temb,
                    bias: true,
                },
            )?,
            time_linear_2: Linear::load(
                vb.pp("time_embedding").pp("linear_2"),
                LinearConfig {
                    in_features: temb,
                    out_features: temb,
                    bias: true,
                },
            )?,
            down,
            mid,
            up,
            conv_norm_out: GroupNorm::load(
                vb.pp("conv_norm_out"),
                GroupNormConfig {
                    groups: c.norm_num_groups,
                    channels: ch0,
                    eps: c.norm_eps,
                },
                k,
            )?,
            conv_out: Conv2d::load(
                vb.pp("conv_out"),
                Conv2dConfig {
                    in_channels: ch0,
                    out_channels: c.out_channels,
                    kernel_size: 3,
                    padding: 1,
                    ..Default::default()
                },
                k,
            )?,
            time_channels: ch0,
            flip_sin_to_cos: c.flip_sin_to_cos,
            freq_shift: c.freq_shift,
            config: c.clone(),
        })
    }

    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// `sample`: `[batch, in_channels, h, w]`; `context`: `[batch, tokens, cross_dim]`.
    pub fn forward(&self, sample: &Tensor, timestep: f64, context: &Tensor) -> Result<Tensor> {
        self.forward_with(sample, timestep, context, &mut StepHooks::default())
    }

    /// `forward` with the accelerations' per-generation state (token merging, DeepCache).
    /// Every module DeepCache can replace goes through `through_cache`, keyed as the
    /// reference numbers it.
    pub fn forward_with(
        &self,
        sample: &Tensor,
        timestep: f64,
        context: &Tensor,
        hooks: &mut StepHooks,
    ) -> Result<Tensor> {
        let (batch, _, height, width) = sample.dims4()?;
        if let Some(tome) = &mut hooks.tome {
            tome.set_latent_size(height, width);
        }
        let t = timestep_embedding(
            timestep,
            self.time_channels,
            self.flip_sin_to_cos,
            self.freq_shift,
            &sample.device(),
        )?
        .to_dtype(sample.dtype())?
        .broadcast_as((batch, self.time_channels))?
        .contiguous()?;
        let temb = self
            .time_linear_2
            .forward(&layers::silu(&self.time_linear_1.forward(&t)?)?)?;

        let mut x = self.conv_in.forward(sample)?;
        let mut skips = vec![x.clone()];
        for (i, block) in self.down.iter().enumerate() {
            let out = through_cache(hooks, Site::block(Part::Down, i), |hooks| {
                down_block(i, block, x.clone(), &temb, context, hooks)
            })?;
            let mut out = out.into_iter();
            x = first(out.next())?;
            skips.extend(out);
        }

        x = first(
            through_cache(hooks, Site::block(Part::Mid, 0), |hooks| {
                let x = self.mid.resnet0.forward(&x, Some(&temb))?;
                let x = self
                    .mid
                    .attention
                    .forward(&x, context, hooks.tome.as_mut())?;
                Ok(vec![self.mid.resnet1.forward(&x, Some(&temb))?])
            })?
            .into_iter()
            .next(),
        )?;

        let n = self.up.len();
        for (i, block) in self.up.iter().enumerate() {
            let count = block.resnets.len();
            let Some(rest) = skips.len().checked_sub(count) else {
                candle_core::bail!("UNet skip connections exhausted");
            };
            let taken = skips.split_off(rest);
            let size = match skips.last() {
                Some(s) => {
                    let (_, _, h, w) = s.dims4()?;
                    Some((h, w))
                }
                None => None,
            };
            let up = UpInputs {
                x: x.clone(),
                skips: taken,
                size,
            };
            x = first(
                through_cache(hooks, Site::block(Part::Up, n - 1 - i), |hooks| {
                    up_block(n - 1 - i, block, up, &temb, context, hooks)
                })?
                .into_iter()
                .next(),
            )?;
        }

        self.conv_out.forward(&self.conv_norm_out.forward_silu(&x)?)
    }
}

fn first(t: Option<Tensor>) -> Result<Tensor> {
    t.ok_or_else(|| candle_core::Error::msg("DeepCache: empty cached feature"))
}

/// The reference's module wrapper: on a shallow DeepCache step a module past the branch
/// returns its saved output without running; on a full step its output is saved.
fn through_cache(
    hooks: &mut StepHooks,
    site: Site,
    compute: impl FnOnce(&mut StepHooks) -> Result<Vec<Tensor>>,
) -> Result<Vec<Tensor>> {
    if let Some(cache) = &hooks.deepcache
        && let Some(saved) = cache.reuse(site)?
    {
        return Ok(saved);
    }
    let value = compute(hooks)?;
    if let Some(cache) = &mut hooks.deepcache {
        cache.save(site, &value);
    }
    Ok(value)
}

fn through_cache_one(
    hooks: &mut StepHooks,
    site: Site,
    compute: impl FnOnce(&mut StepHooks) -> Result<Tensor>,
) -> Result<Tensor> {
    first(
        through_cache(hooks, site, |hooks| Ok(vec![compute(hooks)?]))?
            .into_iter()
            .next(),
    )
}

/// Returns the block output followed by the skip connections it adds.
fn down_block(
    index: usize,
    block: &DownBlock,
    mut x: Tensor,
    temb: &Tensor,
    context: &Tensor,
    hooks: &mut StepHooks,
) -> Result<Vec<Tensor>> {
    let mut skips = Vec::new();
    for (j, resnet) in block.resnets.iter().enumerate() {
        x = through_cache_one(hooks, Site::resnet(Part::Down, index, j), |_| {
            resnet.forward(&x, Some(temb))
        })?;
        if let Some(attn) = block.attentions.get(j) {
            x = through_cache_one(hooks, Site::attention(Part::Down, index, j), |hooks| {
                attn.forward(&x, context, hooks.tome.as_mut())
            })?;
        }
        skips.push(x.clone());
    }
    if let Some(ds) = &block.downsampler {
        let layer = block.resnets.len();
        x = through_cache_one(hooks, Site::sampler(Part::Down, index, layer), |_| {
            ds.forward(&x)
        })?;
        skips.push(x.clone());
    }
    let mut out = vec![x];
    out.extend(skips);
    Ok(out)
}

/// What an up block consumes: the running feature, its skip connections (in the order
/// the down path produced them) and the size to upsample to.
struct UpInputs {
    x: Tensor,
    skips: Vec<Tensor>,
    size: Option<(usize, usize)>,
}

/// `index` is DeepCache's (mirrored) block number; layers are mirrored too.
fn up_block(
    index: usize,
    block: &UpBlock,
    inputs: UpInputs,
    temb: &Tensor,
    context: &Tensor,
    hooks: &mut StepHooks,
) -> Result<Vec<Tensor>> {
    let UpInputs {
        mut x,
        mut skips,
        size,
    } = inputs;
    let count = block.resnets.len();
    for (j, resnet) in block.resnets.iter().enumerate() {
        let layer = count - 1 - j;
        let skip = skips
            .pop()
            .ok_or_else(|| candle_core::Error::msg("UNet skip connections exhausted"))?;
        x = through_cache_one(hooks, Site::resnet(Part::Up, index, layer), |_| {
            resnet.forward(&Tensor::cat(&[&x, &skip], 1)?, Some(temb))
        })?;
        if let Some(attn) = block.attentions.get(j) {
            x = through_cache_one(hooks, Site::attention(Part::Up, index, layer), |hooks| {
                attn.forward(&x, context, hooks.tome.as_mut())
            })?;
        }
    }
    if let Some(us) = &block.upsampler {
        x = through_cache_one(hooks, Site::sampler(Part::Up, index, 0), |_| {
            us.forward(&x, size)
        })?;
    }
    Ok(vec![x])
}
