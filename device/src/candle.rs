//! Mapping `Device` onto candle devices (feature `candle`).

use crate::framework::{FrameworkDeviceError, cuda_ordinal};
use crate::kind::Device;

#[derive(Debug, thiserror::Error)]
pub enum CandleDeviceError {
    #[error(
        "candle has no Ascend NPU backend, so {0} cannot be a candle device; run NPU work \
         through the ops-npu crate (aclnn kernels on NPU buffers) and keep candle tensors on \
         the CPU"
    )]
    NoNpuBackend(Device),
    #[error(
        "{0} needs candle's CUDA backend, which this build lacks; rebuild with the device \
         crate's `candle-cuda` feature (it enables candle-core/cuda and needs the CUDA toolkit)"
    )]
    CudaNotCompiled(Device),
    #[error("candle could not open {device}: {source}")]
    Candle {
        device: Device,
        source: candle_core::Error,
    },
    #[error(transparent)]
    Selection(#[from] FrameworkDeviceError),
}

/// Lets `?` carry the error out of functions returning `candle_core::Result`, as the
/// `Device::new_cuda(n)?` calls this replaces did.
impl From<CandleDeviceError> for candle_core::Error {
    fn from(err: CandleDeviceError) -> Self {
        candle_core::Error::wrap(err)
    }
}

/// Drop-in for `Device::new_cuda(ordinal)` / `Device::cuda_if_available(ordinal)`, with the
/// same `candle_core::Result` type so every existing call site still compiles; see
/// [`try_best_candle_device`] for the choice and a typed error.
pub fn best_candle_device(ordinal: usize) -> candle_core::Result<candle_core::Device> {
    try_best_candle_device(ordinal).map_err(candle_core::Error::from)
}

/// The candle device a portable program should use: `PREFERRED_DEVICE` when set (an NPU or
/// an absent device is an error), else CUDA `ordinal` when CUDA devices are visible and
/// candle was built with CUDA, else the CPU. candle has no NPU backend, so an NPU host runs
/// candle work on its CPU; the NPU kernels live in ops-npu.
pub fn try_best_candle_device(ordinal: usize) -> Result<candle_core::Device, CandleDeviceError> {
    let explicit =
        std::env::var("PREFERRED_DEVICE").is_ok_and(|v| !v.trim().is_empty() && v.trim() != "auto");
    match cuda_ordinal(ordinal)? {
        None => Ok(candle_core::Device::Cpu),
        // A GPU is there but this candle build cannot drive it: honour an explicit request
        // with an error, otherwise run on the CPU as `cuda_if_available` would.
        Some(i) if !candle_core::utils::cuda_is_available() && !explicit => {
            let _ = i;
            Ok(candle_core::Device::Cpu)
        }
        Some(i) => Device::Cuda(i).to_candle(),
    }
}

impl Device {
    /// The candle device for the CPU and CUDA; an error that says why for an NPU.
    pub fn to_candle(self) -> Result<candle_core::Device, CandleDeviceError> {
        match self {
            Device::Cpu => Ok(candle_core::Device::Cpu),
            Device::Npu(_) => Err(CandleDeviceError::NoNpuBackend(self)),
            Device::Cuda(index) => cuda(self, index),
        }
    }
}

/// Asks candle itself whether it was built with CUDA: the application may enable
/// candle-core's `cuda` feature directly, and feature unification then applies here too.
fn cuda(device: Device, index: usize) -> Result<candle_core::Device, CandleDeviceError> {
    if !candle_core::utils::cuda_is_available() {
        return Err(CandleDeviceError::CudaNotCompiled(device));
    }
    candle_core::Device::new_cuda(index)
        .map_err(|source| CandleDeviceError::Candle { device, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_maps_and_npu_explains_itself() {
        assert!(Device::Cpu.to_candle().unwrap().is_cpu());
        let err = Device::Npu(0).to_candle().unwrap_err();
        assert!(err.to_string().contains("ops-npu"), "{err}");
        if !candle_core::utils::cuda_is_available() {
            assert!(matches!(
                Device::Cuda(0).to_candle(),
                Err(CandleDeviceError::CudaNotCompiled(_))
            ));
        }
    }
}
