//! Device discovery, selection, dtype policy, torch-identical seeded noise and safetensors
//! loading for the diffusion toolkit.
//!
//! This crate is the bottom of the dependency chain
//! (`device` <- `ops-npu` <- `pipelines` <- `examples`) and stays light: it opens vendor
//! runtimes (libascendcl.so, libcuda.so.1) with dlopen at run time, so it builds and runs
//! on machines without any SDK and says why a device is absent.
//!
//! ```no_run
//! let manager = device::DeviceManager::new();
//! let selection = manager.select(None)?;
//! println!("{} as {} ({})", selection.device, selection.dtype, selection.reason);
//! let noise = device::TorchRng::new(42).randn_f32(4 * 64 * 64);
//! # Ok::<(), device::SelectError>(())
//! ```

pub mod cpu;
pub mod cuda;
pub mod discovery;
pub mod doctor;
pub mod dtype;
pub mod env;
pub mod framework;
pub mod info;
pub mod kind;
mod loader;
pub mod manager;
mod names;
pub mod npu;
pub mod probe;
pub mod rng;
pub mod select;
pub mod visible;
pub mod weights;

#[cfg(feature = "candle")]
pub mod candle;

pub use discovery::{Discovery, DiscoveryConfig};
pub use dtype::{DType, DTypeSupport};
pub use env::{EnvSource, MapEnv, ProcessEnv};
pub use info::{Absence, BackendReport, DeviceInfo, LibraryAttempt, LibraryCandidate, MAX_DEVICES};
pub use kind::{Device, DeviceKind, DeviceRequest, ParseDeviceError};
pub use manager::{AllocatorStats, AllocatorStatsSource, DeviceManager, MemoryInfo};
pub use rng::TorchRng;
pub use select::{Preferences, SelectError, Selection};
pub use weights::{TensorsFile, WeightsError};
