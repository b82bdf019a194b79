//! Tensor arithmetic where candle's shortcut rounds differently from torch.

use candle_core::{Result, Tensor};

/// Division by a scalar as a true division (candle's `Tensor / f64` multiplies by the
/// reciprocal, which is not what torch does).
pub fn div_scalar(t: &Tensor, divisor: f32) -> Result<Tensor> {
    t.broadcast_div(&Tensor::new(divisor, t.device())?.to_dtype(t.dtype())?)
}
