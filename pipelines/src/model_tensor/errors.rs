//! The errors every arm shares: an op with no NPU route, operands on two devices.

use super::device::ModelDevice;
use candle_core::Error;

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
