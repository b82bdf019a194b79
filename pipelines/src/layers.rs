//! Every primitive layer the models use, in one place. Today they are candle ops; the
//! ops-npu fused kernels (attention, GroupNorm, GEGLU) replace them here later without any
//! change to model code. Semantics follow torch/diffusers exactly (erf GELU, biased
//! variance in the norms, `dim_head ** -0.5` attention scale).

use candle_core::{D, Module, Result, Tensor};
use candle_nn::VarBuilder;

#[derive(Debug, Clone)]
pub struct Linear(candle_nn::Linear);

pub fn linear(vb: VarBuilder, inputs: usize, outputs: usize, bias: bool) -> Result<Linear> {
    let inner = if bias {
        candle_nn::linear(inputs, outputs, vb)?
    } else {
        candle_nn::linear_no_bias(inputs, outputs, vb)?
    };
    Ok(Linear(inner))
}

impl Linear {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.forward(x)
    }
}

#[derive(Debug, Clone)]
pub struct Conv2d(candle_nn::Conv2d);

pub fn conv2d(
    vb: VarBuilder,
    inputs: usize,
    outputs: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<Conv2d> {
    let cfg = candle_nn::Conv2dConfig {
        stride,
        padding,
        ..Default::default()
    };
    Ok(Conv2d(candle_nn::conv2d(inputs, outputs, kernel, cfg, vb)?))
}

impl Conv2d {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.forward(x)
    }
}

#[derive(Debug, Clone)]
pub struct GroupNorm(candle_nn::GroupNorm);

pub fn group_norm(vb: VarBuilder, groups: usize, channels: usize, eps: f64) -> Result<GroupNorm> {
    Ok(GroupNorm(candle_nn::group_norm(groups, channels, eps, vb)?))
}

impl GroupNorm {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.forward(x)
    }
}

#[derive(Debug, Clone)]
pub struct LayerNorm(candle_nn::LayerNorm);

pub fn layer_norm(vb: VarBuilder, dim: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm(candle_nn::layer_norm(dim, eps, vb)?))
}

impl LayerNorm {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.0.forward(x)
    }
}

#[derive(Debug, Clone)]
pub struct Embedding(candle_nn::Embedding);

pub fn embedding(vb: VarBuilder, count: usize, dim: usize) -> Result<Embedding> {
    Ok(Embedding(candle_nn::embedding(count, dim, vb)?))
}

impl Embedding {
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.0.forward(ids)
    }
}

pub fn silu(x: &Tensor) -> Result<Tensor> {
    x.silu()
}

/// torch's default `gelu` (exact, erf based); candle's `gelu` is the tanh approximation.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    x.gelu_erf()
}

/// OpenAI CLIP's `x * sigmoid(1.702 x)`.
pub fn quick_gelu(x: &Tensor) -> Result<Tensor> {
    x * candle_nn::ops::sigmoid(&(x * 1.702)?)?
}

/// Scaled dot-product attention over `[batch, seq, heads * head_dim]` projections, with an
/// optional additive mask broadcast over `[batch, heads, q, k]`. Returns the same layout.
pub fn attention(
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

/// diffusers' GEGLU: one projection to twice the width, `hidden * gelu(gate)` (erf GELU).
#[derive(Debug, Clone)]
pub struct GeGlu {
    proj: Linear,
}

pub fn geglu(vb: VarBuilder, dim: usize, inner: usize) -> Result<GeGlu> {
    Ok(GeGlu {
        proj: linear(vb.pp("proj"), dim, inner * 2, true)?,
    })
}

impl GeGlu {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.proj.forward(x)?;
        let chunks = h.chunk(2, D::Minus1)?;
        chunks[0].mul(&gelu_erf(&chunks[1])?)
    }
}

/// Nearest-neighbour resize of an NCHW tensor to `(height, width)`.
pub fn upsample_nearest(x: &Tensor, height: usize, width: usize) -> Result<Tensor> {
    x.upsample_nearest2d(height, width)
}
