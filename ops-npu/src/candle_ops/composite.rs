//! The kernels as compositions of candle primitives: the path on devices without a fused
//! kernel (CUDA), and the naive baseline the benchmark compares against. Statistics are
//! computed in f32 whatever the input dtype, like the fused kernels.

use super::candle_attention::CandleAttention;
use crate::attention::Layout;
use crate::conv::Conv2dParams;
use crate::glu::Gelu;
use crate::rope::RopeMode;
use candle_core::{D, DType, Result, Tensor};

fn f32_of(x: &Tensor) -> Result<Tensor> {
    x.to_dtype(DType::F32)
}

/// softmax(q k^T * scale + bias, masked) v with full score matrices: memory
/// O(batch * heads * seq_q * seq_kv). Rows with every key masked come out NaN.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, opts: &CandleAttention<'_>) -> Result<Tensor> {
    let dtype = q.dtype();
    let to_bnsd = |t: &Tensor| -> Result<Tensor> {
        let t = f32_of(t)?;
        match opts.layout {
            Layout::Bsnd => t.transpose(1, 2)?.contiguous(),
            Layout::Bnsd => t.contiguous(),
        }
    };
    let (q, mut k, mut v) = (to_bnsd(q)?, to_bnsd(k)?, to_bnsd(v)?);
    let (b, hq, _, d) = q.dims4()?;
    let (_, hkv, skv, _) = k.dims4()?;
    if hkv != hq {
        // Grouped KV heads: each key/value head serves hq / hkv consecutive query heads.
        let g = hq / hkv.max(1);
        let widen = |t: &Tensor| {
            t.unsqueeze(2)?
                .expand((b, hkv, g, skv, d))?
                .reshape((b, hq, skv, d))
        };
        k = widen(&k)?;
        v = widen(&v)?;
    }
    let scale = opts.scale.map_or(1.0 / (d as f64).sqrt(), f64::from);
    let mut scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?;
    if let Some(bias) = opts.bias {
        scores = scores.broadcast_add(&f32_of(bias)?)?;
    }
    if let Some(mask) = opts.mask {
        let neg = Tensor::full(f32::NEG_INFINITY, scores.shape(), scores.device())?;
        scores = mask
            .to_dtype(DType::U8)?
            .broadcast_as(scores.shape())?
            .where_cond(&scores, &neg)?;
    }
    let max = scores.max_keepdim(D::Minus1)?;
    let e = scores.broadcast_sub(&max)?.exp()?;
    let p = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
    let out = p.matmul(&v)?;
    let out = match opts.layout {
        Layout::Bsnd => out.transpose(1, 2)?.contiguous()?,
        Layout::Bnsd => out,
    };
    out.to_dtype(dtype)
}

fn normalise(x: &Tensor, eps: f32) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred.broadcast_div(&(var + f64::from(eps))?.sqrt()?)
}

pub fn rms_norm(x: &Tensor, weight: Option<&Tensor>, eps: f32) -> Result<Tensor> {
    let xf = f32_of(x)?;
    let rms = (xf.sqr()?.mean_keepdim(D::Minus1)? + f64::from(eps))?.sqrt()?;
    let mut y = xf.broadcast_div(&rms)?;
    if let Some(w) = weight {
        y = y.broadcast_mul(&f32_of(w)?)?;
    }
    y.to_dtype(x.dtype())
}

pub fn layer_norm(
    x: &Tensor,
    weight: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f32,
) -> Result<Tensor> {
    let mut y = normalise(&f32_of(x)?, eps)?;
    if let Some(w) = weight {
        y = y.broadcast_mul(&f32_of(w)?)?;
    }
    if let Some(b) = bias {
        y = y.broadcast_add(&f32_of(b)?)?;
    }
    y.to_dtype(x.dtype())
}

/// x [batch, seq, dim]; scale/shift [batch, dim], [batch, 1, dim] or [batch, seq, dim].
pub fn ada_layer_norm(x: &Tensor, scale: &Tensor, shift: &Tensor, eps: f32) -> Result<Tensor> {
    let per_sample = |t: &Tensor| -> Result<Tensor> {
        let t = f32_of(t)?;
        if t.rank() == 2 { t.unsqueeze(1) } else { Ok(t) }
    };
    let y = normalise(&f32_of(x)?, eps)?;
    let y = y
        .broadcast_mul(&(per_sample(scale)? + 1.0)?)?
        .broadcast_add(&per_sample(shift)?)?;
    y.to_dtype(x.dtype())
}

/// x [n, c, ...].
pub fn group_norm(
    x: &Tensor,
    groups: usize,
    gamma: Option<&Tensor>,
    beta: Option<&Tensor>,
    eps: f32,
    silu: bool,
) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let (n, c) = (dims[0], dims[1]);
    let mut y = normalise(&f32_of(x)?.reshape((n, groups, ()))?, eps)?.reshape((n, c, ()))?;
    if let Some(g) = gamma {
        y = y.broadcast_mul(&f32_of(g)?.reshape((c, 1))?)?;
    }
    if let Some(b) = beta {
        y = y.broadcast_add(&f32_of(b)?.reshape((c, 1))?)?;
    }
    if silu {
        y = y.silu()?;
    }
    y.reshape(dims)?.to_dtype(x.dtype())
}

pub fn geglu(x: &Tensor, gelu: Gelu) -> Result<Tensor> {
    let halves = f32_of(x)?.chunk(2, D::Minus1)?;
    let gate = match gelu {
        Gelu::Erf => halves[1].gelu_erf()?,
        Gelu::Tanh => halves[1].gelu()?,
    };
    (&halves[0] * gate)?.to_dtype(x.dtype())
}

pub fn swiglu(x: &Tensor) -> Result<Tensor> {
    let halves = f32_of(x)?.chunk(2, D::Minus1)?;
    (halves[0].silu()? * &halves[1])?.to_dtype(x.dtype())
}

/// x [b, s, h, d] (BSND) or [b, h, s, d] (BNSD); cos/sin [s, d].
pub fn rope(
    x: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    layout: Layout,
    mode: RopeMode,
) -> Result<Tensor> {
    let xf = f32_of(x)?;
    let d = xf.dim(D::Minus1)?;
    let rotated = match mode {
        RopeMode::Half => {
            let halves = xf.chunk(2, D::Minus1)?;
            Tensor::cat(&[&halves[1].neg()?, &halves[0]], D::Minus1)?
        }
        RopeMode::Interleaved => {
            let mut shape = xf.dims().to_vec();
            shape.pop();
            let pairs = xf.reshape([shape.clone(), vec![d / 2, 2]].concat())?;
            let (re, im) = (
                pairs.narrow(D::Minus1, 0, 1)?,
                pairs.narrow(D::Minus1, 1, 1)?,
            );
            Tensor::cat(&[&im.neg()?, &re], D::Minus1)?.reshape(xf.shape())?
        }
    };
    let (s, _) = cos.dims2()?;
    let table = |t: &Tensor| -> Result<Tensor> {
        let t = f32_of(t)?;
        match layout {
            Layout::Bsnd => t.reshape((1, s, 1, d)),
            Layout::Bnsd => t.reshape((1, 1, s, d)),
        }
    };
    let y = xf
        .broadcast_mul(&table(cos)?)?
        .broadcast_add(&rotated.broadcast_mul(&table(sin)?)?)?;
    y.to_dtype(x.dtype())
}

/// candle's conv2d plus the bias. candle's CPU conv2d has no bf16 GEMM, so bf16 on the
/// CPU is computed in f32 and rounded back.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    params: &Conv2dParams,
) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::BF16 {
        let bias = bias.map(f32_of).transpose()?;
        return conv2d(&f32_of(x)?, &f32_of(weight)?, bias.as_ref(), params)?.to_dtype(DType::BF16);
    }
    let y = x.conv2d(weight, params.padding, params.stride, 1, 1)?;
    match bias {
        Some(bias) => y.broadcast_add(&bias.reshape((1, bias.dims1()?, 1, 1))?),
        None => Ok(y),
    }
}
