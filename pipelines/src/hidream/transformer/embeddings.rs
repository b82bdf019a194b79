//! Input and output embeddings: timestep and pooled-text conditioning, caption
//! projections, the final adaLN layer.

use crate::layers::{self, Linear, LinearConfig};
use crate::model_tensor::{ModelDevice, Tensor, VarBuilder};
use candle_core::Result;

/// diffusers' `TimestepEmbedding`: `linear_2(silu(linear_1(x)))`.
#[derive(Debug, Clone)]
pub struct TimestepEmbedding {
    linear_1: Linear,
    linear_2: Linear,
}

impl TimestepEmbedding {
    pub fn new(vb: VarBuilder, inputs: usize, dim: usize) -> Result<Self> {
        Ok(Self {
            linear_1: Linear::load(
                vb.pp("linear_1"),
                LinearConfig {
                    in_features: inputs,
                    out_features: dim,
                    bias: true,
                },
            )?,
            linear_2: Linear::load(
                vb.pp("linear_2"),
                LinearConfig {
                    in_features: dim,
                    out_features: dim,
                    bias: true,
                },
            )?,
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
pub fn timestep_features(timesteps: &candle_core::Tensor, device: &ModelDevice) -> Result<Tensor> {
    let values = timesteps
        .to_dtype(candle_core::DType::F64)?
        .to_vec1::<f64>()?;
    // Built where the timesteps are (the host), then placed in one piece.
    let host = ModelDevice::Candle(timesteps.device().clone());
    let rows = values
        .iter()
        .map(|&t| {
            crate::models::embeddings::timestep_embedding(t, TIMESTEP_FEATURES, true, 0.0, &host)
        })
        .collect::<Result<Vec<_>>>()?;
    device.place(&Tensor::cat(&rows, 0)?.into_host()?)
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
            modulation: Linear::load(
                vb.pp("adaLN_modulation.1"),
                LinearConfig {
                    in_features: dim,
                    out_features: 2 * dim,
                    bias: true,
                },
            )?,
            linear: Linear::load(
                vb.pp("linear"),
                LinearConfig {
                    in_features: dim,
                    out_features: outputs,
                    bias: true,
                },
            )?,
        })
    }

    /// x [b, s, dim], temb [b, dim].
    pub fn forward(&self, x: &Tensor, temb: &Tensor) -> Result<Tensor> {
        let chunks = self.modulation.forward(&layers::silu(temb)?)?.chunk(2, 1)?;
        // diffusers' order here is (shift, scale).
        let y = crate::layers::ada_layer_norm(x, &chunks[1], &chunks[0], 1e-6)?;
        self.linear.forward(&y)
    }
}
