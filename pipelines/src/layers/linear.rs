//! Fully connected layer.

use super::npu;
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::Result;
use ops_npu::candle_ops::matmul::matmul;
use ops_npu::npu::ops;

/// The sizes of a [`Linear`] (torch's `nn.Linear(in_features, out_features, bias)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearConfig {
    pub in_features: usize,
    pub out_features: usize,
    /// Whether the layer has (and the weights hold) a bias.
    pub bias: bool,
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

impl Linear {
    /// `weight` (and `bias`) under `vb`, in torch's layout.
    pub fn load(vb: VarBuilder, config: LinearConfig) -> Result<Linear> {
        let weight = vb.get((config.out_features, config.in_features), "weight")?;
        let bias = if config.bias {
            Some(vb.get(config.out_features, "bias")?)
        } else {
            None
        };
        Linear::from_parts(&weight, bias)
    }

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
        let x2 = x.reshape((rows, last))?;
        let y = match &x2 {
            // f32 on the CPU: ops-npu's packed GEMM with the bias fused; otherwise candle's.
            Tensor::Candle(x2) => {
                let bias = self
                    .bias
                    .as_ref()
                    .map(|b| npu::candle("linear", b))
                    .transpose()?;
                Tensor::Candle(matmul(x2, npu::candle("linear", &self.weight_t)?, bias)?)
            }
            // aclnnAddmm with the bias, aclnnMatmul without.
            Tensor::Npu(x2) => {
                let [w] = npu::operands("linear", x2, [&self.weight_t])?;
                let s = x2.context().stream();
                let y = match &self.bias {
                    Some(b) => {
                        let [b] = npu::operands("linear bias", x2, [b])?;
                        ops::addmm(s, b.tensor(), x2.tensor(), w.tensor(), 1.0, 1.0)
                    }
                    None => ops::matmul(x2.context().runtime(), s, x2.tensor(), w.tensor()),
                };
                npu::wrap(x2, y)?
            }
        };
        let mut shape = lead.to_vec();
        shape.push(self.weight_t.dim(1)?);
        y.reshape(shape)
    }
}
