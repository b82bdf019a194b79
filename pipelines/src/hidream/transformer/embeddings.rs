//! Input and output embeddings: timestep and pooled-text conditioning, caption
//! projections, the final adaLN layer.

use crate::layers::{self, Linear};
use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;
use ops_npu::candle_ops;

/// diffusers' `TimestepEmbedding`: `linear_2(silu(linear_1(x)))`.
#[derive(Debug, Clone)]
pub struct TimestepEmbedding {
    linear_1: Linear,
    linear_2: Linear,
}

impl TimestepEmbedding {
    pub fn new(vb: VarBuilder, inputs: usize, dim: usize) -> Result<Self> {
        Ok(Self {
            linear_1: layers::linear(vb.pp("linear_1"), inputs, dim, true)?,
            linear_2: layers::linear(vb.pp("linear_2"), dim, dim, true)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.linear_2
            .forward(&layers::silu(&self.linear_1.forward(x)?)?)
    }
}

/// Width of the sinusoidal timestep features (`frequency_embedding_size`).
pub const TIMESTEP_FEATURES: usize = 256;

/// `Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)` for each sample: [b, 256].
pub fn timestep_features(timesteps: &Tensor) -> Result<Tensor> {
    let values = timesteps
        .to_dtype(candle_core::DType::F64)?
        .to_vec1::<f64>()?;
    let rows = values
        .iter()
        .map(|&t| {
            crate::models::embeddings::timestep_embedding(
                t,
                TIMESTEP_FEATURES,
                true,
                0.0,
                timesteps.device(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&rows, 0)
}

/// `HiDreamImageOutEmbed`: adaLN on a parameter-free LayerNorm, then the patch projection.
#[derive(Debug, Clone)]
pub struct FinalLayer {
    modulation: Linear,
    linear: Linear,
}

impl FinalLayer {
    pub fn new(vb: VarBuilder, dim: usize, outputs: usize) -> Result<Self> {
        Ok(Self {
            modulation: layers::linear(vb.pp("adaLN_modulation.1"), dim, 2 * dim, true)?,
            linear: layers::linear(vb.pp("linear"), dim, outputs, true)?,
        })
    }

    /// x [b, s, dim], temb [b, dim].
    pub fn forward(&self, x: &Tensor, temb: &Tensor) -> Result<Tensor> {
        let chunks = self.modulation.forward(&layers::silu(temb)?)?.chunk(2, 1)?;
        // diffusers' order here is (shift, scale).
        let y = candle_ops::ada_layer_norm(x, &chunks[1], &chunks[0], 1e-6)?;
        self.linear.forward(&y)
    }
}
