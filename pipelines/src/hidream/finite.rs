//! Latents that stop being finite stay that way: every later step and the VAE turn them
//! into a black or noise image that looks like a result. The loops check after each step
//! and stop there, naming the step, so a run fails where it went wrong.
//!
//! The check is one reduction to a scalar per step (next to a transformer forward pass,
//! nothing); a NaN or infinity anywhere makes the sum non-finite. It reads the latents
//! and changes nothing, so results are the same bit for bit.

use super::HiDreamError;
use candle_core::Tensor;

/// Fails with [`HiDreamError::NonFinite`] unless every value of `latents` is finite.
/// `step` is 1-based, as the message shows it.
pub fn check_step(latents: &Tensor, step: usize, total: usize) -> Result<(), HiDreamError> {
    if crate::tensor_math::all_finite(latents)? {
        Ok(())
    } else {
        Err(HiDreamError::NonFinite { step, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn any_nan_or_infinity_names_the_step() {
        let finite = Tensor::new(&[[1f32, -2.0], [3.0, 0.5]], &Device::Cpu).unwrap();
        assert!(check_step(&finite, 1, 4).is_ok());
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let t = Tensor::new(&[[1f32, bad], [3.0, 0.5]], &Device::Cpu).unwrap();
            let err = check_step(&t, 3, 28).unwrap_err();
            assert!(matches!(
                err,
                HiDreamError::NonFinite { step: 3, total: 28 }
            ));
            assert!(
                err.to_string()
                    .starts_with("step 3 of 28 produced NaN/inf latents")
            );
        }
        // Large finite f16 values whose f16 sum would overflow are still finite.
        let big = Tensor::full(60000f32, (4, 4), &Device::Cpu)
            .and_then(|t| t.to_dtype(DType::F16))
            .unwrap();
        assert!(check_step(&big, 1, 1).is_ok());
    }
}
