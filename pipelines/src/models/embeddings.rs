//! Sinusoidal timestep features shared by the UNet and the HiDream transformer
//! (diffusers' embeddings.py).

use crate::model_tensor::{ModelDevice, Tensor};
use candle_core::Result;

/// diffusers' `get_timestep_embedding`, in f32 like the reference (the frequencies are
/// computed in float32 there too).
pub fn timestep_embedding(
    timestep: f64,
    dim: usize,
    flip_sin_to_cos: bool,
    freq_shift: f64,
    device: &ModelDevice,
) -> Result<Tensor> {
    let half = dim / 2;
    let scale = -(10000f64.ln()) as f32;
    let denom = half as f32 - freq_shift as f32;
    let t = timestep as f32;
    let args: Vec<f32> = (0..half)
        .map(|i| t * ((scale * i as f32) / denom).exp())
        .collect();
    let sin: Vec<f32> = args.iter().map(|a| a.sin()).collect();
    let cos: Vec<f32> = args.iter().map(|a| a.cos()).collect();
    let mut emb = if flip_sin_to_cos {
        [cos, sin].concat()
    } else {
        [sin, cos].concat()
    };
    if dim % 2 == 1 {
        emb.push(0.0);
    }
    Tensor::from_vec(emb, (1, dim), device)
}
