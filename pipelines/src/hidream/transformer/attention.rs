//! `HiDreamAttention`: q/k RMSNorm over the full width, RoPE, and either joint attention
//! over `[image; text]` (double-stream blocks, separate projections per stream) or plain
//! self-attention (single-stream blocks).
//!
//! Padding is diffusers' own: the keys of padded image tokens are multiplied by zero, not
//! masked out, so those tokens still take `exp(0 - max)` of the softmax. That is what the
//! released weights were used with, so it is reproduced rather than corrected.

use super::rope::RotaryTables;
use crate::layers::{self, Kernels, Linear, LinearConfig};
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::Result;

const RMS_EPS: f32 = 1e-5;

/// One stream's projections and q/k norms.
#[derive(Debug, Clone)]
struct Projections {
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
    q_norm: Tensor,
    k_norm: Tensor,
}

impl Projections {
    /// `suffix` is "" for the image stream and "_t" for the text stream.
    fn new(vb: &VarBuilder, dim: usize, suffix: &str) -> Result<Self> {
        let lin = |name: &str| {
            Linear::load(
                vb.pp(format!("{name}{suffix}")),
                LinearConfig {
                    in_features: dim,
                    out_features: dim,
                    bias: true,
                },
            )
        };
        Ok(Self {
            to_q: lin("to_q")?,
            to_k: lin("to_k")?,
            to_v: lin("to_v")?,
            to_out: lin("to_out")?,
            q_norm: vb.get(dim, &format!("q_rms_norm{suffix}.weight"))?,
            k_norm: vb.get(dim, &format!("k_rms_norm{suffix}.weight"))?,
        })
    }

    /// q, k, v as `[batch, seq, heads, head_dim]`, keys scaled by `key_mask` `[batch, seq]`.
    fn qkv(
        &self,
        x: &Tensor,
        heads: usize,
        key_mask: Option<&Tensor>,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let (b, s, dim) = x.dims3()?;
        let split = |t: Tensor| t.reshape((b, s, heads, dim / heads));
        let q = crate::layers::rms_norm(&self.to_q.forward(x)?, &self.q_norm, RMS_EPS)?;
        let mut k = crate::layers::rms_norm(&self.to_k.forward(x)?, &self.k_norm, RMS_EPS)?;
        if let Some(mask) = key_mask {
            k = k.broadcast_mul(&mask.unsqueeze(2)?)?;
        }
        Ok((split(q)?, split(k)?, split(self.to_v.forward(x)?)?))
    }
}

#[derive(Debug, Clone)]
pub struct HiDreamAttention {
    image: Projections,
    text: Option<Projections>,
    heads: usize,
    kernels: Kernels,
}

impl HiDreamAttention {
    /// `joint`: the double-stream variant with text projections.
    pub fn new(
        vb: VarBuilder,
        heads: usize,
        head_dim: usize,
        joint: bool,
        kernels: Kernels,
    ) -> Result<Self> {
        let dim = heads * head_dim;
        let text = if joint {
            Some(Projections::new(&vb, dim, "_t")?)
        } else {
            None
        };
        Ok(Self {
            image: Projections::new(&vb, dim, "")?,
            text,
            heads,
            kernels,
        })
    }

    /// Single-stream: x `[b, s, dim]`, `key_mask` `[b, s]`.
    pub fn forward(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        rope: &RotaryTables,
    ) -> Result<Tensor> {
        let (q, k, v) = self.image.qkv(x, self.heads, key_mask)?;
        let out = self.attend(&q, &k, &v, rope)?;
        self.image.to_out.forward(&out)
    }

    /// Double-stream: attention over `[image; text]`; the mask covers image tokens only.
    pub fn forward_joint(
        &self,
        image: &Tensor,
        text: &Tensor,
        key_mask: Option<&Tensor>,
        rope: &RotaryTables,
    ) -> Result<(Tensor, Tensor)> {
        let Some(text_proj) = &self.text else {
            candle_core::bail!("forward_joint on a single-stream attention")
        };
        let (qi, ki, vi) = self.image.qkv(image, self.heads, key_mask)?;
        let (qt, kt, vt) = text_proj.qkv(text, self.heads, None)?;
        let cat = |a: &Tensor, b: &Tensor| Tensor::cat(&[a, b], 1);
        let out = self.attend(&cat(&qi, &qt)?, &cat(&ki, &kt)?, &cat(&vi, &vt)?, rope)?;
        let image_len = image.dim(1)?;
        let text_len = text.dim(1)?;
        Ok((
            self.image.to_out.forward(&out.narrow(1, 0, image_len)?)?,
            text_proj
                .to_out
                .forward(&out.narrow(1, image_len, text_len)?)?,
        ))
    }

    /// RoPE then scaled dot-product attention; returns `[b, s, dim]`.
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, rope: &RotaryTables) -> Result<Tensor> {
        let (b, s, heads, head_dim) = q.dims4()?;
        let flat = |t: Tensor| t.reshape((b, s, heads * head_dim));
        let q = flat(rope.apply(q)?)?;
        let k = flat(rope.apply(k)?)?;
        let v = flat(v.clone())?;
        layers::attention(&q, &k, &v, self.heads, None, self.kernels)
    }
}
