//! Every primitive layer the models use, in one place. Attention, GroupNorm (with SiLU
//! fused where a model follows it with one), GEGLU and LayerNorm run either the ops-npu
//! fused kernels or the plain candle composites, chosen per model at construction by a
//! [`Kernels`] value stored in each layer. Semantics follow torch/diffusers exactly (erf
//! GELU, biased variance in the norms, `dim_head ** -0.5` attention scale).

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::VarBuilder;
use ops_npu::attention::Layout;
use ops_npu::candle_ops::{self, CandleAttention};
use ops_npu::glu::Gelu;
use std::fmt;
use std::str::FromStr;

/// Which implementation the kernel-backed layers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// ops-npu's fused CPU kernels: O(seq) memory flash attention, one-pass GroupNorm(+SiLU),
    /// GEGLU and LayerNorm (statistics in f32 for every dtype).
    #[default]
    Fused,
    /// candle composites: full score matrices, separate norm/activation passes.
    Naive,
}

impl Kernels {
    pub const NAMES: [&'static str; 2] = ["fused", "naive"];

    pub fn as_str(self) -> &'static str {
        match self {
            Kernels::Fused => "fused",
            Kernels::Naive => "naive",
        }
    }
}

impl fmt::Display for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kernels {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fused" => Ok(Kernels::Fused),
            "naive" => Ok(Kernels::Naive),
            other => Err(format!(
                "unknown attention implementation {other:?} (expected fused or naive)"
            )),
        }
    }
}

/// `x W^T + b`, with `W^T` stored contiguous (`[inputs, outputs]`, transposed once at
/// load): candle's GEMM ran up to 1.6x faster on SD's shapes with a contiguous right-hand
/// side than with the transposed view of torch's `[outputs, inputs]` layout. f32 on the
/// CPU now runs ops-npu's GEMM, whose packing of a contiguous right-hand side is a copy.
#[derive(Debug, Clone)]
pub struct Linear {
    weight_t: Tensor,
    bias: Option<Tensor>,
}

pub fn linear(vb: VarBuilder, inputs: usize, outputs: usize, bias: bool) -> Result<Linear> {
    let weight = vb.get((outputs, inputs), "weight")?;
    let bias = if bias {
        Some(vb.get(outputs, "bias")?)
    } else {
        None
    };
    Linear::from_parts(&weight, bias)
}

impl Linear {
    /// From a torch-layout `[outputs, inputs]` weight, e.g. several projections
    /// concatenated along outputs so that they run as one GEMM.
    pub fn from_parts(weight: &Tensor, bias: Option<Tensor>) -> Result<Linear> {
        Ok(Linear {
            weight_t: weight.t()?.contiguous()?,
            bias,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let Some((&last, lead)) = dims.split_last() else {
            candle_core::bail!("linear: a scalar input has no features")
        };
        let rows: usize = lead.iter().product();
        // f32 on the CPU: ops-npu's packed GEMM with the bias fused; otherwise candle's.
        let y = ops_npu::candle_ops::matmul::matmul(
            &x.reshape((rows, last))?,
            &self.weight_t,
            self.bias.as_ref(),
        )?;
        let mut shape = lead.to_vec();
        shape.push(self.weight_t.dim(1)?);
        y.reshape(shape)
    }
}

pub use crate::conv::{Conv2d, conv2d};

/// GroupNorm over `[n, c, ...]` with a per-channel affine.
#[derive(Debug, Clone)]
pub struct GroupNorm {
    weight: Tensor,
    bias: Tensor,
    groups: usize,
    eps: f64,
    kernels: Kernels,
    naive: candle_nn::GroupNorm,
}

pub fn group_norm(
    vb: VarBuilder,
    groups: usize,
    channels: usize,
    eps: f64,
    kernels: Kernels,
) -> Result<GroupNorm> {
    let weight = vb.get(channels, "weight")?;
    let bias = vb.get(channels, "bias")?;
    let naive = candle_nn::GroupNorm::new(weight.clone(), bias.clone(), channels, groups, eps)?;
    Ok(GroupNorm {
        weight,
        bias,
        groups,
        eps,
        kernels,
        naive,
    })
}

impl GroupNorm {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, false)
    }

    /// `silu(group_norm(x))`, one pass over x with the fused kernel.
    pub fn forward_silu(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, true)
    }

    fn run(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        match self.kernels {
            Kernels::Fused => candle_ops::group_norm(
                x,
                self.groups,
                Some(&self.weight),
                Some(&self.bias),
                self.eps as f32,
                silu,
            ),
            Kernels::Naive => {
                let y = self.naive.forward(x)?;
                if silu { y.silu() } else { Ok(y) }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    kernels: Kernels,
    naive: candle_nn::LayerNorm,
}

pub fn layer_norm(vb: VarBuilder, dim: usize, eps: f64, kernels: Kernels) -> Result<LayerNorm> {
    let weight = vb.get(dim, "weight")?;
    let bias = vb.get(dim, "bias")?;
    let naive = candle_nn::LayerNorm::new(weight.clone(), bias.clone(), eps);
    Ok(LayerNorm {
        weight,
        bias,
        eps,
        kernels,
        naive,
    })
}

impl LayerNorm {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.kernels {
            Kernels::Fused => {
                candle_ops::layer_norm(x, Some(&self.weight), Some(&self.bias), self.eps as f32)
            }
            Kernels::Naive => self.naive.forward(x),
        }
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

/// diffusers' GEGLU: one projection to twice the width, `hidden * gelu(gate)` (erf GELU).
#[derive(Debug, Clone)]
pub struct GeGlu {
    proj: Linear,
    kernels: Kernels,
}

pub fn geglu(vb: VarBuilder, dim: usize, inner: usize, kernels: Kernels) -> Result<GeGlu> {
    Ok(GeGlu {
        proj: linear(vb.pp("proj"), dim, inner * 2, true)?,
        kernels,
    })
}

impl GeGlu {
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.proj.forward(x)?;
        match self.kernels {
            Kernels::Fused => candle_ops::geglu(&h, Gelu::Erf),
            Kernels::Naive => {
                let chunks = h.chunk(2, D::Minus1)?;
                chunks[0].mul(&gelu_erf(&chunks[1])?)
            }
        }
    }
}

/// Nearest-neighbour resize of an NCHW tensor to `(height, width)`.
pub fn upsample_nearest(x: &Tensor, height: usize, width: usize) -> Result<Tensor> {
    x.upsample_nearest2d(height, width)
}
