//! Host tensors onto a model device: the one way data enters a model.

use super::device::ModelDevice;
use super::npu_value::NpuValue;
use super::tensor::Tensor;
use candle_core::Result;

impl ModelDevice {
    /// A host tensor moved here: candle's `to_device`, or an upload to the NPU.
    pub fn place(&self, t: &candle_core::Tensor) -> Result<Tensor> {
        match self {
            ModelDevice::Candle(d) => Ok(Tensor::Candle(t.to_device(d)?)),
            ModelDevice::Npu(c) => Ok(Tensor::Npu(NpuValue::upload(c, t)?)),
        }
    }
}
