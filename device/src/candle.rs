//! Mapping `Device` onto candle devices (feature `candle`).

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

#[cfg(feature = "candle-cuda")]
fn cuda(device: Device, index: usize) -> Result<candle_core::Device, CandleDeviceError> {
    candle_core::Device::new_cuda(index)
        .map_err(|source| CandleDeviceError::Candle { device, source })
}

#[cfg(not(feature = "candle-cuda"))]
fn cuda(device: Device, _index: usize) -> Result<candle_core::Device, CandleDeviceError> {
    Err(CandleDeviceError::CudaNotCompiled(device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_maps_and_npu_explains_itself() {
        assert!(Device::Cpu.to_candle().unwrap().is_cpu());
        let err = Device::Npu(0).to_candle().unwrap_err();
        assert!(err.to_string().contains("ops-npu"), "{err}");
        #[cfg(not(feature = "candle-cuda"))]
        assert!(matches!(
            Device::Cuda(0).to_candle(),
            Err(CandleDeviceError::CudaNotCompiled(_))
        ));
    }
}
