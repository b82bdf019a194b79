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
mod context;
mod create;
mod device;
mod errors;
mod npu_value;
mod place;
mod preflight;
mod tensor;
mod vars;
mod views;

pub use context::NpuContext;
pub use device::ModelDevice;
pub use errors::{mixed_devices_error, no_npu_route};
pub use npu_value::NpuValue;
pub use preflight::{HIDREAM_OPS, SD_OPS, require_ops};
pub use tensor::Tensor;
pub use vars::{VarBuilder, WeightHook};
