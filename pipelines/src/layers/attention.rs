//! Scaled dot-product attention: ops-npu's flash kernel (O(seq) memory) or the candle
//! composite with full score matrices.

use super::{Kernels, npu};
use crate::model_tensor::{NpuValue, Tensor};
use candle_core::{DType, Result};
use ops_npu::attention::Layout;
use ops_npu::candle_ops::{self, CandleAttention};
use ops_npu::npu::ops::{self, NpuAttentionOptions};

/// Scaled dot-product attention over `[batch, seq, heads * head_dim]` projections, with an
/// optional additive mask broadcast over `[batch, heads, q, k]`. Returns the same layout.
pub fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    mask: Option<&Tensor>,
    kernels: Kernels,
) -> Result<Tensor> {
    if let Tensor::Npu(_) = q {
        return npu_attention(q, (k, v), heads, mask);
    }
    let (q, k, v) = (q.as_candle()?, k.as_candle()?, v.as_candle()?);
    let mask = mask.map(Tensor::as_candle).transpose()?;
    Ok(Tensor::Candle(match kernels {
        Kernels::Fused => fused_attention(q, k, v, heads, mask)?,
        Kernels::Naive => naive_attention(q, k, v, heads, mask)?,
    }))
}

/// The NPU arm: the SoC's fused kernel (or ops-npu's CPU fallback on a SoC without one)
/// on BSND views, the additive mask going in as the kernel's bias (pse).
fn npu_attention(
    q: &Tensor,
    (k, v): (&Tensor, &Tensor),
    heads: usize,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, sq, width) = q.dims3()?;
    let sk = k.dim(1)?;
    let head_dim = width / heads;
    let split = |t: &Tensor, s: usize| t.reshape((b, s, heads, head_dim));
    let opts = HeadsAttention {
        scale: (head_dim as f64).powf(-0.5) as f32,
        bias: mask,
        mask: None,
    };
    attention_heads(&split(q, sq)?, &split(k, sk)?, &split(v, sk)?, opts)
}

/// The fused kernel reads `[batch, seq, heads, head_dim]` (BSND) directly, so the
/// projections need no transpose or copy; only a reshape.
fn fused_attention(
    q: &candle_core::Tensor,
    k: &candle_core::Tensor,
    v: &candle_core::Tensor,
    heads: usize,
    mask: Option<&candle_core::Tensor>,
) -> Result<candle_core::Tensor> {
    let (b, sq, width) = q.dims3()?;
    let sk = k.dim(1)?;
    let head_dim = width / heads;
    let split = |t: &candle_core::Tensor, s: usize| t.reshape((b, s, heads, head_dim));
    let bias = mask.map(|m| m.to_dtype(DType::F32)).transpose()?;
    let opts = CandleAttention {
        layout: Layout::Bsnd,
        scale: Some((head_dim as f64).powf(-0.5) as f32),
        bias: bias.as_ref(),
        mask: None,
    };
    candle_ops::attention(&split(q, sq)?, &split(k, sk)?, &split(v, sk)?, &opts)?
        .reshape((b, sq, width))
}

fn naive_attention(
    q: &candle_core::Tensor,
    k: &candle_core::Tensor,
    v: &candle_core::Tensor,
    heads: usize,
    mask: Option<&candle_core::Tensor>,
) -> Result<candle_core::Tensor> {
    let (b, sq, width) = q.dims3()?;
    let sk = k.dim(1)?;
    let head_dim = width / heads;
    let split = |t: &candle_core::Tensor, s: usize| {
        t.reshape((b, s, heads, head_dim))?
            .transpose(1, 2)?
            .contiguous()
    };
    let (q, k, v) = (split(q, sq)?, split(k, sk)?, split(v, sk)?);
    let scale = (head_dim as f64).powf(-0.5);
    let mut scores = (q.matmul(&k.t()?)? * scale)?;
    if let Some(mask) = mask {
        scores = scores.broadcast_add(mask)?;
    }
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    probs.matmul(&v)?.transpose(1, 2)?.reshape((b, sq, width))
}

/// Options of [`attention_heads`]: the score scale, an additive bias and a key mask, each
/// broadcast over `[batch, heads, q, k]`. The mask is u8 (non-zero = attend) on a candle
/// device and a bool tensor in aclnn's convention (true = masked out) on the NPU; the
/// encoders build it on the host for the device (see `encoders::key_mask`).
#[derive(Debug, Clone, Copy)]
pub struct HeadsAttention<'a> {
    pub scale: f32,
    pub bias: Option<&'a Tensor>,
    pub mask: Option<&'a Tensor>,
}

/// Attention over `[batch, seq, heads, head_dim]` q and k/v (k/v may have fewer heads,
/// each serving a group of query heads). Returns `[batch, seq, heads * head_dim]`.
pub fn attention_heads(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    opts: HeadsAttention<'_>,
) -> Result<Tensor> {
    let (b, s, heads, head_dim) = q.dims4()?;
    let out = match q {
        Tensor::Candle(qc) => {
            let bias = opts.bias.map(Tensor::as_candle).transpose()?;
            let mask = opts.mask.map(Tensor::as_candle).transpose()?;
            let copts = CandleAttention {
                layout: Layout::Bsnd,
                scale: Some(opts.scale),
                bias,
                mask,
            };
            Tensor::Candle(candle_ops::attention(
                qc,
                k.as_candle()?,
                v.as_candle()?,
                &copts,
            )?)
        }
        Tensor::Npu(qn) => {
            let [k, v] = npu::operands("attention", qn, [k, v])?;
            let bias = match opts.bias {
                Some(t) => Some(npu::operands("attention bias", qn, [t])?[0]),
                None => None,
            };
            let mask = match opts.mask {
                Some(t) => Some(npu::operands("attention mask", qn, [t])?[0]),
                None => None,
            };
            let nopts = NpuAttentionOptions {
                layout: Layout::Bsnd,
                scale: Some(opts.scale),
                bias: bias.map(NpuValue::tensor),
                mask: mask.map(NpuValue::tensor),
                return_lse: false,
            };
            let ctx = qn.context();
            let (out, _, _) = ops::attention_or_cpu(
                ctx.runtime(),
                ctx.stream(),
                qn.tensor(),
                k.tensor(),
                v.tensor(),
                &nopts,
            )
            .map_err(candle_core::Error::wrap)?;
            Tensor::Npu(qn.wrap(Ok(out))?)
        }
    };
    out.reshape((b, s, heads * head_dim))
}
