//! The NPU arm of the layers: operands checked to be on one NPU, results wrapped back.

use crate::model_tensor::{ModelDevice, NpuValue, Tensor, mixed_devices_error};
use candle_core::{Error, Result};

/// `x` and each weight as NPU values on x's device, or the error naming `layer`.
pub(super) fn operands<'a, const N: usize>(
    layer: &str,
    x: &'a NpuValue,
    weights: [&'a Tensor; N],
) -> Result<[&'a NpuValue; N]> {
    let mut out = [x; N];
    for (slot, w) in out.iter_mut().zip(weights) {
        match w {
            Tensor::Npu(v) if std::sync::Arc::ptr_eq(v.context(), x.context()) => *slot = v,
            other => {
                let here = ModelDevice::Npu(x.context().clone());
                return Err(mixed_devices_error(layer, &here, &other.device()));
            }
        }
    }
    Ok(out)
}

/// An ops-npu result on x's stream as a model tensor.
pub(super) fn wrap(x: &NpuValue, t: ops_npu::Result<ops_npu::npu::NpuTensor>) -> Result<Tensor> {
    Ok(Tensor::Npu(x.wrap(t)?))
}

/// The weight's candle tensor for the candle arm (a model's weights sit on its device).
pub(super) fn candle<'a>(layer: &str, w: &'a Tensor) -> Result<&'a candle_core::Tensor> {
    w.as_candle().map_err(|_| {
        Error::Msg(format!(
            "{layer}: the input is on a candle device, the weights on an NPU"
        ))
    })
}
