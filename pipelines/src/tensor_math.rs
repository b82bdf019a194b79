//! Tensor arithmetic where candle's shortcut rounds differently from torch, and the
//! finiteness check the denoising loops make after each step.

use candle_core::{DType, Result, Tensor};

/// Division by a scalar as a true division (candle's `Tensor / f64` multiplies by the
/// reciprocal, which is not what torch does).
pub fn div_scalar(t: &Tensor, divisor: f32) -> Result<Tensor> {
    t.broadcast_div(&Tensor::new(divisor, t.device())?.to_dtype(t.dtype())?)
}

/// Whether every value of `t` is finite: one f32 sum, which any NaN or infinity turns
/// into a non-finite number (as would values near f32's limit, which no working latents
/// reach). Cheap next to a model step, so every step can be checked.
pub fn all_finite(t: &Tensor) -> Result<bool> {
    let sum = t.to_dtype(DType::F32)?.sum_all()?.to_scalar::<f32>()?;
    Ok(sum.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn nan_and_infinity_anywhere_are_found() {
        let ok = Tensor::new(&[[1f32, -2.0], [0.5, 3.0]], &Device::Cpu).unwrap();
        assert!(all_finite(&ok).unwrap());
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let t = Tensor::new(&[[1f32, -2.0], [bad, 3.0]], &Device::Cpu).unwrap();
            assert!(!all_finite(&t).unwrap(), "{bad}");
            assert!(
                !all_finite(&t.to_dtype(DType::BF16).unwrap()).unwrap(),
                "{bad} bf16"
            );
        }
    }
}
