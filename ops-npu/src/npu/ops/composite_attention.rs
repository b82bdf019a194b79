//! Attention for f32 requests. The fused attention ops take FP16/BF16 (and INT8) queries
//! only (aclnnFusedInferAttentionScoreV2, PromptFlashAttention and FlashAttentionScore
//! docs), so an f32 request is computed as its definition on the device, in f32:
//! scores = scale * q k^T (+ bias) (+ mask as -1e30), softmax over keys, then @ v.
//! Cost: the [batch, heads, seq_q, seq_kv] scores and probabilities are materialised
//! (2 x 0.67 GB in f32 for SD 2.1 at 512x512, batch 2, 5 heads, seq 4096); numerics are
//! those of f32 matmuls and softmax, no rounding to a half type.

use super::{add, cast, matmul_nd, mul_scalar, softmax};
use crate::attention::Layout;
use crate::error::{OpsError, Result};
use crate::npu::dtype::NpuDType;
use crate::npu::stream::NpuStream;
use crate::npu::tensor::NpuTensor;

/// What a masked position adds to its score: exp() of it is 0 in f32, and unlike -inf it
/// keeps a fully masked row finite.
const MASKED: f64 = -1e30;

fn to_bnsd(t: &NpuTensor, layout: Layout) -> Result<NpuTensor> {
    match layout {
        Layout::Bsnd => t.permute(&[0, 2, 1, 3]),
        Layout::Bnsd => Ok(t.clone()),
    }
}

/// k or v [b, hkv, s, d] with each head repeated for its query-head group.
fn repeat_heads(s: &NpuStream, t: &NpuTensor, hq: usize) -> Result<NpuTensor> {
    let &[b, hkv, len, d] = t.shape() else {
        return Err(OpsError::shape("k", "expected 4 dimensions"));
    };
    if hkv == hq {
        return Ok(t.clone());
    }
    t.unsqueeze(2)?
        .broadcast_as(&[b, hkv, hq / hkv, len, d])?
        .contiguous(s)?
        .reshape(&[b, hq, len, d])
}

/// q, k and v of one attention call, in `layout`.
pub(crate) struct Qkv<'a> {
    pub q: &'a NpuTensor,
    pub k: &'a NpuTensor,
    pub v: &'a NpuTensor,
    pub layout: Layout,
}

pub(crate) fn attention_f32(
    s: &NpuStream,
    Qkv { q, k, v, layout }: Qkv<'_>,
    scale: f32,
    bias: Option<&NpuTensor>,
    mask: Option<&NpuTensor>,
) -> Result<NpuTensor> {
    let q4 = to_bnsd(q, layout)?;
    let hq = q4.shape()[1];
    let k4 = repeat_heads(s, &to_bnsd(k, layout)?, hq)?;
    let v4 = repeat_heads(s, &to_bnsd(v, layout)?, hq)?;
    let mut scores = mul_scalar(
        s,
        &matmul_nd(s, &q4, &k4.transpose(2, 3)?)?,
        f64::from(scale),
    )?;
    if let Some(b) = bias {
        let b = if b.dtype() == NpuDType::F32 {
            b.clone()
        } else {
            cast(s, b, NpuDType::F32)?
        };
        scores = add(s, &scores, &b)?;
    }
    if let Some(m) = mask {
        let penalty = mul_scalar(s, &cast(s, m, NpuDType::F32)?, MASKED)?;
        scores = add(s, &scores, &penalty)?;
    }
    let out = matmul_nd(s, &softmax(s, &scores, -1)?, &v4)?;
    match layout {
        Layout::Bsnd => out.permute(&[0, 2, 1, 3])?.contiguous(s),
        Layout::Bnsd => Ok(out),
    }
}
