//! GroupNorm and LayerNorm: ops-npu's one-pass kernels (statistics in f32 for every dtype,
//! SiLU fused where a model follows the norm with one) or candle's.

use super::Kernels;
use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;
use ops_npu::candle_ops;

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
    naive: candle_nn::GroupNorm,
}

impl GroupNorm {
    pub fn load(vb: VarBuilder, config: GroupNormConfig, kernels: Kernels) -> Result<GroupNorm> {
        let GroupNormConfig {
            groups,
            channels,
            eps,
        } = config;
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
    naive: candle_nn::LayerNorm,
}

impl LayerNorm {
    pub fn load(vb: VarBuilder, config: LayerNormConfig, kernels: Kernels) -> Result<LayerNorm> {
        let weight = vb.get(config.dim, "weight")?;
        let bias = vb.get(config.dim, "bias")?;
        let naive = candle_nn::LayerNorm::new(weight.clone(), bias.clone(), config.eps);
        Ok(LayerNorm {
            weight,
            bias,
            eps: config.eps,
            kernels,
            naive,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.kernels {
            Kernels::Fused => {
                candle_ops::layer_norm(x, Some(&self.weight), Some(&self.bias), self.eps as f32)
            }
            Kernels::Naive => self.naive.forward(x),
        }
    }
}
