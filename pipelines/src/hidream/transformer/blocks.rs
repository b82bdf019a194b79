//! The double-stream (`HiDreamImageTransformerBlock`) and single-stream
//! (`HiDreamImageSingleTransformerBlock`) blocks: adaLN-modulated attention and
//! feed-forward with gated residuals.

use super::attention::HiDreamAttention;
use super::config::TransformerConfig;
use super::feed_forward::{ImageFeedForward, SwiGlu};
use super::rope::RotaryTables;
use crate::layers::{self, Kernels, Linear, LinearConfig};
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::Result;

const NORM_EPS: f32 = 1e-6;

/// `silu(temb) -> linear -> n chunks`, each `[b, 1, dim]`.
fn modulation(linear: &Linear, temb: &Tensor, n: usize) -> Result<Vec<Tensor>> {
    linear
        .forward(&layers::silu(temb)?)?
        .unsqueeze(1)?
        .chunk(n, 2)
}

/// `x + gate * f`.
fn gated(x: &Tensor, gate: &Tensor, f: &Tensor) -> Result<Tensor> {
    x + f.broadcast_mul(gate)?
}

/// LayerNorm without affine, then `* (1 + scale) + shift`.
fn modulate(x: &Tensor, shift: &Tensor, scale: &Tensor) -> Result<Tensor> {
    crate::layers::ada_layer_norm(x, scale, shift, NORM_EPS)
}

#[derive(Debug, Clone)]
pub struct DoubleStreamBlock {
    modulation: Linear,
    attention: HiDreamAttention,
    image_ff: ImageFeedForward,
    text_ff: SwiGlu,
}

impl DoubleStreamBlock {
    /// `vb` at `double_stream_blocks.{i}.block`.
    pub fn new(vb: VarBuilder, cfg: &TransformerConfig, kernels: Kernels) -> Result<Self> {
        let dim = cfg.inner_dim();
        Ok(Self {
            modulation: Linear::load(
                vb.pp("adaLN_modulation.1"),
                LinearConfig {
                    in_features: dim,
                    out_features: 12 * dim,
                    bias: true,
                },
            )?,
            attention: HiDreamAttention::new(
                vb.pp("attn1"),
                cfg.num_attention_heads,
                cfg.attention_head_dim,
                true,
                kernels,
            )?,
            image_ff: ImageFeedForward::new(
                vb.pp("ff_i"),
                dim,
                cfg.num_routed_experts,
                cfg.num_activated_experts,
            )?,
            text_ff: SwiGlu::new(vb.pp("ff_t"), dim, 4 * dim)?,
        })
    }

    /// Returns the updated (image, text) streams.
    pub fn forward(
        &self,
        image: &Tensor,
        text: &Tensor,
        temb: &Tensor,
        image_mask: Option<&Tensor>,
        rope: &RotaryTables,
    ) -> Result<(Tensor, Tensor)> {
        let m = modulation(&self.modulation, temb, 12)?;
        // diffusers' chunk order: image (shift, scale, gate) x (attention, mlp), then text.
        let (image_attn, text_attn) = self.attention.forward_joint(
            &modulate(image, &m[0], &m[1])?,
            &modulate(text, &m[6], &m[7])?,
            image_mask,
            rope,
        )?;
        let image = gated(image, &m[2], &image_attn)?;
        let text = gated(text, &m[8], &text_attn)?;
        let image_ff = self.image_ff.forward(&modulate(&image, &m[3], &m[4])?)?;
        let text_ff = self.text_ff.forward(&modulate(&text, &m[9], &m[10])?)?;
        Ok((
            gated(&image, &m[5], &image_ff)?,
            gated(&text, &m[11], &text_ff)?,
        ))
    }
}

#[derive(Debug, Clone)]
pub struct SingleStreamBlock {
    modulation: Linear,
    attention: HiDreamAttention,
    ff: ImageFeedForward,
}

impl SingleStreamBlock {
    /// `vb` at `single_stream_blocks.{i}.block`.
    pub fn new(vb: VarBuilder, cfg: &TransformerConfig, kernels: Kernels) -> Result<Self> {
        let dim = cfg.inner_dim();
        Ok(Self {
            modulation: Linear::load(
                vb.pp("adaLN_modulation.1"),
                LinearConfig {
                    in_features: dim,
                    out_features: 6 * dim,
                    bias: true,
                },
            )?,
            attention: HiDreamAttention::new(
                vb.pp("attn1"),
                cfg.num_attention_heads,
                cfg.attention_head_dim,
                false,
                kernels,
            )?,
            ff: ImageFeedForward::new(
                vb.pp("ff_i"),
                dim,
                cfg.num_routed_experts,
                cfg.num_activated_experts,
            )?,
        })
    }

    /// x `[b, s, dim]` (image and text tokens together), mask `[b, s]`.
    pub fn forward(
        &self,
        x: &Tensor,
        temb: &Tensor,
        mask: Option<&Tensor>,
        rope: &RotaryTables,
    ) -> Result<Tensor> {
        let m = modulation(&self.modulation, temb, 6)?;
        let attn = self
            .attention
            .forward(&modulate(x, &m[0], &m[1])?, mask, rope)?;
        let x = gated(x, &m[2], &attn)?;
        let ff = self.ff.forward(&modulate(&x, &m[3], &m[4])?)?;
        gated(&x, &m[5], &ff)
    }
}
