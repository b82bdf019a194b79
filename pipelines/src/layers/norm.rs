//! GroupNorm and LayerNorm: ops-npu's one-pass kernels (statistics in f32 for every dtype,
//! SiLU fused where a model follows the norm with one) or candle's.

use super::{Kernels, npu};
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::{Module, Result};
use ops_npu::candle_ops;
use ops_npu::npu::ops;

/// The sizes of a [`GroupNorm`] (torch's `nn.GroupNorm(num_groups, num_channels, eps)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupNormConfig {
    pub groups: usize,
    pub channels: usize,
    pub eps: f64,
}

/// GroupNorm over `[n, c, ...]` with a per-channel affine.
#[derive(Debug, Clone)]
pub struct GroupNorm {
    weight: Tensor,
    bias: Tensor,
    groups: usize,
    eps: f64,
    kernels: Kernels,
}

impl GroupNorm {
    /// `weight` and `bias` under `vb` (torch's affine GroupNorm).
    pub fn load(vb: VarBuilder, config: GroupNormConfig, kernels: Kernels) -> Result<GroupNorm> {
        let GroupNormConfig {
            groups,
            channels,
            eps,
        } = config;
        Ok(GroupNorm {
            weight: vb.get(channels, "weight")?,
            bias: vb.get(channels, "bias")?,
            groups,
            eps,
            kernels,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, false)
    }

    /// `silu(group_norm(x))`, one pass over x with the fused kernel (and on the NPU where
    /// its CANN has aclnnGroupNormSilu).
    pub fn forward_silu(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, true)
    }

    fn run(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let x = match x {
            Tensor::Candle(x) => x,
            // aclnnGroupNormSilu where the CANN has it for this SoC, else the two ops.
            Tensor::Npu(x) => {
                let [w, b] = npu::operands("group_norm", x, [&self.weight, &self.bias])?;
                let s = x.context().stream();
                let (g, e) = (self.groups, self.eps as f32);
                let y = if silu {
                    ops::group_norm_silu(s, x.tensor(), g, w.tensor(), b.tensor(), e).map(|r| r.0)
                } else {
                    ops::group_norm(s, x.tensor(), g, w.tensor(), b.tensor(), e)
                };
                return npu::wrap(x, y);
            }
        };
        let (w, b) = (
            npu::candle("group_norm", &self.weight)?,
            npu::candle("group_norm", &self.bias)?,
        );
        let y = match self.kernels {
            Kernels::Fused => {
                candle_ops::group_norm(x, self.groups, Some(w), Some(b), self.eps as f32, silu)?
            }
            Kernels::Naive => {
                let channels = w.dim(0)?;
                let naive = candle_nn::GroupNorm::new(
                    w.clone(),
                    b.clone(),
                    channels,
                    self.groups,
                    self.eps,
                )?;
                let y = naive.forward(x)?;
                if silu { y.silu()? } else { y }
            }
        };
        Ok(Tensor::Candle(y))
    }
}

/// The sizes of a [`LayerNorm`] over the last dimension (torch's
/// `nn.LayerNorm(normalized_shape, eps)` with one dimension).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNormConfig {
    pub dim: usize,
    pub eps: f64,
}

#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
    kernels: Kernels,
}

impl LayerNorm {
    /// `weight` and `bias` under `vb`.
    pub fn load(vb: VarBuilder, config: LayerNormConfig, kernels: Kernels) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: vb.get(config.dim, "weight")?,
            bias: vb.get(config.dim, "bias")?,
            eps: config.eps,
            kernels,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = match x {
            Tensor::Candle(x) => x,
            Tensor::Npu(x) => {
                let [w, b] = npu::operands("layer_norm", x, [&self.weight, &self.bias])?;
                let y = ops::layer_norm(
                    x.context().stream(),
                    x.tensor(),
                    Some(w.tensor()),
                    Some(b.tensor()),
                    self.eps as f32,
                );
                return npu::wrap(x, y);
            }
        };
        let (w, b) = (
            npu::candle("layer_norm", &self.weight)?,
            npu::candle("layer_norm", &self.bias)?,
        );
        Ok(Tensor::Candle(match self.kernels {
            Kernels::Fused => candle_ops::layer_norm(x, Some(w), Some(b), self.eps as f32)?,
            Kernels::Naive => {
                candle_nn::LayerNorm::new(w.clone(), b.clone(), self.eps).forward(x)?
            }
        }))
    }
}
