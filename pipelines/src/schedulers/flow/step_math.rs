//! Tensor arithmetic the flow-matching steps share, written to round as torch does.

use super::noise::NoiseSource;
use candle_core::{DType, Result, Tensor};

/// Schedulers compute in float32 whatever the model's dtype, as diffusers upcasts.
pub(crate) fn as_f32(t: &Tensor) -> Result<Tensor> {
    t.to_dtype(DType::F32)
}

/// `sigma_next * noise + (1 - sigma_next) * x0`, with one fresh draw shaped like `x0`.
pub(crate) fn renoise(x0: &Tensor, sigma_next: f32, noise: &mut dyn NoiseSource) -> Result<Tensor> {
    let fresh = noise.randn(x0.shape(), x0.device())?;
    (fresh * f64::from(sigma_next))? + (x0 * f64::from(1.0 - sigma_next))?
}
