//! Activations, and diffusers' GEGLU (a projection gated by its own GELU).

use super::Kernels;
use super::linear::{Linear, LinearConfig};
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::{D, Result};
use ops_npu::candle_ops;
use ops_npu::glu::Gelu;
use ops_npu::npu::ops;

pub fn silu(x: &Tensor) -> Result<Tensor> {
    x.silu()
}

/// torch's default `gelu` (exact, erf based); candle's `gelu` is the tanh approximation.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    x.gelu_erf()
}

/// OpenAI CLIP's `x * sigmoid(1.702 x)`.
pub fn quick_gelu(x: &Tensor) -> Result<Tensor> {
    x * (x * 1.702)?.sigmoid()?
}

/// The sizes of a [`GeGlu`] (diffusers' `GEGLU(dim_in, dim_out)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeGluConfig {
    pub in_features: usize,
    /// The gated output's width; the projection itself is twice as wide.
    pub out_features: usize,
}

/// diffusers' GEGLU: one projection to twice the width, `hidden * gelu(gate)` (erf GELU).
#[derive(Debug, Clone)]
pub struct GeGlu {
    proj: Linear,
    kernels: Kernels,
}

impl GeGlu {
    /// The projection's weights under `vb.pp("proj")`, as diffusers names them.
    pub fn load(vb: VarBuilder, config: GeGluConfig, kernels: Kernels) -> Result<GeGlu> {
        let proj = LinearConfig {
            in_features: config.in_features,
            out_features: config.out_features * 2,
            bias: true,
        };
        Ok(GeGlu {
            proj: Linear::load(vb.pp("proj"), proj)?,
            kernels,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.proj.forward(x)?;
        if let Tensor::Npu(h) = &h {
            // aclnnGeGluV3, GELU on the second half as diffusers orders it.
            return Ok(Tensor::Npu(h.wrap(ops::geglu(
                h.context().stream(),
                h.tensor(),
                Gelu::Erf,
            ))?));
        }
        match self.kernels {
            Kernels::Fused => Ok(Tensor::Candle(candle_ops::geglu(
                h.as_candle()?,
                Gelu::Erf,
            )?)),
            Kernels::Naive => {
                let chunks = h.chunk(2, D::Minus1)?;
                chunks[0].mul(&gelu_erf(&chunks[1])?)
            }
        }
    }
}
