//! Checks `doctor` adds on top of the device-level ones in `device::doctor`.

pub mod kernels;
pub mod loaders;
pub mod model;
pub mod npu_kernels;
pub mod python;
