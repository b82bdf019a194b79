//! Where a model runs: a candle device, or an NPU with the stream its launches queue on.

use super::context::NpuContext;
use candle_core::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// The device a model's weights and activations live on.
#[derive(Debug, Clone)]
pub enum ModelDevice {
    Candle(candle_core::Device),
    Npu(Arc<NpuContext>),
}

impl From<candle_core::Device> for ModelDevice {
    fn from(d: candle_core::Device) -> Self {
        ModelDevice::Candle(d)
    }
}

impl From<&candle_core::Device> for ModelDevice {
    fn from(d: &candle_core::Device) -> Self {
        ModelDevice::Candle(d.clone())
    }
}

impl From<&ModelDevice> for ModelDevice {
    fn from(d: &ModelDevice) -> Self {
        d.clone()
    }
}

impl fmt::Display for ModelDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelDevice::Candle(d) => match d.location() {
                candle_core::DeviceLocation::Cpu => f.write_str("cpu"),
                candle_core::DeviceLocation::Cuda { gpu_id } => write!(f, "cuda:{gpu_id}"),
                candle_core::DeviceLocation::Metal { gpu_id } => write!(f, "metal:{gpu_id}"),
            },
            ModelDevice::Npu(c) => write!(f, "npu:{}", c.ordinal()),
        }
    }
}

impl ModelDevice {
    pub fn is_cpu(&self) -> bool {
        matches!(self, ModelDevice::Candle(d) if d.is_cpu())
    }

    pub fn is_npu(&self) -> bool {
        matches!(self, ModelDevice::Npu(_))
    }

    /// What an f32 request really computes in on this device, where that is not f32
    /// everywhere (the ops' docs mandate it): a line for the user, or `None`.
    pub fn f32_compute_note(&self) -> Option<String> {
        let ModelDevice::Npu(npu) = self else {
            return None;
        };
        let soc = npu.runtime().soc();
        Some(if npu.runtime().traits().fp32_matmul_needs_downcast {
            format!(
                "{self} ({soc}): f32 requested; matrix products and convolutions compute in fp16 \
                 (cubeMathType 1, the only mode these parts take for FLOAT), attention on the CPU"
            )
        } else {
            format!(
                "{self} ({soc}): f32 requested; convolutions compute in HF32 (cubeMathType 1, the \
                 only mode their doc allows for FLOAT), attention as an f32 matmul-softmax \
                 composite, everything else in f32"
            )
        })
    }

    /// Makes this device current on the calling thread (an NPU's; nothing for candle).
    pub fn bind_current_thread(&self) -> Result<()> {
        match self {
            ModelDevice::Npu(c) => c.bind_current_thread(),
            ModelDevice::Candle(_) => Ok(()),
        }
    }

    /// The candle device host-side tensors of a model on this device live on: the device
    /// itself for candle, the CPU for an NPU.
    pub fn host(&self) -> candle_core::Device {
        match self {
            ModelDevice::Candle(d) => d.clone(),
            ModelDevice::Npu(_) => candle_core::Device::Cpu,
        }
    }

    /// The same device (the same NPU context, for an NPU).
    pub fn same_as(&self, other: &ModelDevice) -> bool {
        match (self, other) {
            (ModelDevice::Candle(a), ModelDevice::Candle(b)) => a.same_device(b),
            (ModelDevice::Npu(a), ModelDevice::Npu(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl ModelDevice {
    /// The device `device` names, opened: a candle device, or the NPU's runtime and stream
    /// from the CANN the environment names. The device crate's discovery has already said
    /// whether an NPU is there and where it looked; what fails here (an incomplete CANN)
    /// names the libraries it tried.
    pub fn open(device: device::Device) -> Result<ModelDevice> {
        match device {
            device::Device::Npu(i) => {
                let context =
                    NpuContext::open(i).map_err(|e| Error::Msg(format!("npu:{i}: {e}")))?;
                Ok(ModelDevice::Npu(context))
            }
            other => Ok(ModelDevice::Candle(other.to_candle().map_err(Error::wrap)?)),
        }
    }
}
