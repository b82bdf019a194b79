//! The model tensor itself: which arm, where it lives, and the way back to the host.

use super::device::ModelDevice;
use super::npu_value::NpuValue;
use candle_core::{DType, Error, Result};

/// A model tensor: on a candle device, or on an NPU.
#[derive(Debug, Clone)]
pub enum Tensor {
    Candle(candle_core::Tensor),
    Npu(NpuValue),
}

impl From<candle_core::Tensor> for Tensor {
    fn from(t: candle_core::Tensor) -> Self {
        Tensor::Candle(t)
    }
}

impl AsRef<Tensor> for Tensor {
    fn as_ref(&self) -> &Tensor {
        self
    }
}

impl Tensor {
    /// The candle tensor, or an error naming `op` for an NPU tensor (for code that only a
    /// candle device runs, such as the CPU-only kernels).
    pub fn as_candle(&self) -> Result<&candle_core::Tensor> {
        match self {
            Tensor::Candle(t) => Ok(t),
            Tensor::Npu(_) => Err(Error::Msg(
                "expected a candle (CPU/CUDA) tensor, got an NPU tensor".into(),
            )),
        }
    }

    /// Where this tensor lives.
    pub fn device(&self) -> ModelDevice {
        match self {
            Tensor::Candle(t) => ModelDevice::Candle(t.device().clone()),
            Tensor::Npu(t) => ModelDevice::Npu(t.context().clone()),
        }
    }

    pub fn dtype(&self) -> DType {
        match self {
            Tensor::Candle(t) => t.dtype(),
            Tensor::Npu(t) => t.candle_dtype(),
        }
    }

    /// The tensor as a candle tensor on the host side of its device: itself for a candle
    /// tensor, a download (one synchronisation) for an NPU tensor.
    pub fn to_host(&self) -> Result<candle_core::Tensor> {
        match self {
            Tensor::Candle(t) => Ok(t.clone()),
            Tensor::Npu(t) => t.download(),
        }
    }

    /// [`Tensor::to_host`], consuming the tensor.
    pub fn into_host(self) -> Result<candle_core::Tensor> {
        match self {
            Tensor::Candle(t) => Ok(t),
            Tensor::Npu(t) => t.download(),
        }
    }
}
