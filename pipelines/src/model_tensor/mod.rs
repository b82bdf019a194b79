//! The one tensor type the models compute with: a candle tensor (CPU, CUDA) or an ops-npu
//! device tensor (Ascend NPU). candle's devices are a closed set, so the NPU cannot be one
//! of them; this enum keeps candle's method names so the model code reads as candle code
//! and runs on either. The candle arm delegates to candle unchanged, so every CPU and CUDA
//! parity test keeps guarding the same arithmetic. The NPU arm runs aclnn operators through
//! ops-npu on the tensor's stream.
//!
//! Rules:
//! - Mixing devices in one operation is an error, never a silent copy.
//! - Tensors are created on the host and uploaded (`ModelDevice::place`); what the host
//!   needs back is downloaded (`to_host`). The pipelines keep schedulers, guidance
//!   arithmetic, tables and masks on the host and move latents once each way per step.
//! - An operation the NPU arm has no route for names itself in the error.

mod arith;
mod compute;
mod create;
mod device;
mod npu_value;
mod vars;
mod views;

pub use device::{ModelDevice, NpuContext};
pub use npu_value::NpuValue;
pub use vars::VarBuilder;

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

/// The error for an operation the NPU arm does not implement.
pub fn no_npu_route(op: &str) -> Error {
    Error::Msg(format!(
        "{op} has no NPU route in the model tensor (run this model on the CPU or CUDA)"
    ))
}

/// The error for two operands on different devices.
pub fn mixed_devices_error(op: &str, a: &ModelDevice, b: &ModelDevice) -> Error {
    Error::Msg(format!(
        "{op}: operands are on {a} and {b}; move one explicitly (no silent copies)"
    ))
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

    /// The NPU tensor, if this is one.
    pub fn as_npu(&self) -> Option<&NpuValue> {
        match self {
            Tensor::Npu(t) => Some(t),
            Tensor::Candle(_) => None,
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
