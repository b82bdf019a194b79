//! Scaled dot-product attention: ops-npu's flash kernel (O(seq) memory) or the candle
//! composite with full score matrices.

use super::Kernels;
use candle_core::{DType, Result, Tensor};
use ops_npu::attention::Layout;
use ops_npu::candle_ops::{self, CandleAttention};

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
    match kernels {
        Kernels::Fused => fused_attention(q, k, v, heads, mask),
        Kernels::Naive => naive_attention(q, k, v, heads, mask),
    }
}

/// The fused kernel reads `[batch, seq, heads, head_dim]` (BSND) directly, so the
/// projections need no transpose or copy; only a reshape.
fn fused_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, sq, width) = q.dims3()?;
    let sk = k.dim(1)?;
    let head_dim = width / heads;
    let split = |t: &Tensor, s: usize| t.reshape((b, s, heads, head_dim));
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
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    heads: usize,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, sq, width) = q.dims3()?;
    let sk = k.dim(1)?;
    let head_dim = width / heads;
    let split = |t: &Tensor, s: usize| {
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
