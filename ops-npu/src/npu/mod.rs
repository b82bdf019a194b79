//! Ascend NPU backend: the aclnn kernels through the C++ runtime (csrc/npu_runtime.cc),
//! which opens libascendcl.so, libnnopbase.so and the op libraries with dlopen, so this
//! crate builds and runs without CANN and reports what is missing when asked for an NPU.
//!
//! Verified here only against the test-double libraries the tests build
//! (tests/doubles/fake_ascend.cc), never on Ascend hardware.

mod bytes;
pub(crate) mod call;
mod dtype;
mod gating;
pub mod ops;
pub mod rules;
mod storage;
mod stream;
mod tensor;

pub use bytes::Bytes;
pub use call::Scalar;
pub use dtype::NpuDType;
pub use gating::{AttentionRoute, cann_at_least};
pub use storage::{DeviceBlock, PoolStats};
pub use stream::NpuStream;
pub use tensor::{Format, NpuTensor, contiguous_strides, element_count};

use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use device::npu::soc::{SocTraits, soc_traits};
use std::path::{Path, PathBuf};

/// The libraries to open, in order: runtime, nnopbase, then op libraries (libopapi.so,
/// then every lib64/libopapi_*.so, as torch_npu does). Missing files are skipped and
/// reported if the runtime turns out incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpuLibraries {
    pub paths: Vec<PathBuf>,
    /// The CANN root, for its version file.
    pub root: Option<PathBuf>,
}

impl NpuLibraries {
    /// The layout of a CANN toolkit root.
    pub fn in_root(root: &Path) -> Self {
        let lib64 = root.join("lib64");
        let mut paths: Vec<PathBuf> = ["libascendcl.so", "libnnopbase.so", "libopapi.so"]
            .iter()
            .map(|l| lib64.join(l))
            .collect();
        let mut split: Vec<PathBuf> = std::fs::read_dir(&lib64)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libopapi_") && n.ends_with(".so"))
            })
            .collect();
        split.sort();
        paths.extend(split);
        Self {
            paths,
            root: Some(root.to_path_buf()),
        }
    }

    /// The first CANN root (the `device` crate's search order: $ASCEND_HOME_PATH,
    /// $ASCEND_TOOLKIT_HOME, the default install) that has lib64/libascendcl.so; else the
    /// bare names, for the dynamic loader's own search.
    pub fn from_env() -> Self {
        let config = device::DiscoveryConfig::from_env(&device::ProcessEnv);
        let roots = config.npu.map(|n| n.roots).unwrap_or_default();
        match roots
            .iter()
            .find(|r| r.join("lib64").join(device::npu::LIBRARY).is_file())
        {
            Some(root) => Self::in_root(root),
            None => Self {
                paths: ["libascendcl.so", "libnnopbase.so", "libopapi.so"]
                    .iter()
                    .map(PathBuf::from)
                    .collect(),
                root: None,
            },
        }
    }
}

/// The opened runtime (one per process; opening again returns the same libraries).
#[derive(Debug, Clone)]
pub struct NpuRuntime {
    soc: String,
    traits: SocTraits,
    cann: Option<String>,
}

impl NpuRuntime {
    /// Opens the libraries, initialises ACL and selects `device`.
    pub fn open(libraries: &NpuLibraries, device: i32) -> Result<Self> {
        let paths: Vec<String> = libraries
            .paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        ffi::npu_open(&paths, device).map_err(|e| OpsError::Unsupported(e.what().to_string()))?;
        let soc = ffi::npu_soc_name();
        // The runtime is process-wide; so is what its SoC supports (ops consult it).
        let _ = OPENED_SOC.set((soc.clone(), soc_traits(&soc)));
        let _ = OPENED_DEVICE.set(device);
        let cann = libraries
            .root
            .as_ref()
            .and_then(|r| device::npu::versions::cann_version(std::slice::from_ref(r)));
        Ok(Self {
            traits: soc_traits(&soc),
            soc,
            cann,
        })
    }

    /// As reported by aclrtGetSocName (empty when the runtime does not say).
    pub fn soc(&self) -> &str {
        &self.soc
    }

    /// The SoC's row of the `device` crate's capability table.
    pub fn traits(&self) -> SocTraits {
        self.traits
    }

    pub fn cann_version(&self) -> Option<&str> {
        self.cann.as_deref()
    }

    pub fn loaded_libraries(&self) -> Vec<String> {
        ffi::npu_loaded_libraries()
    }

    /// acl_api.h symbols no loaded library provides.
    pub fn missing_symbols(&self) -> Vec<String> {
        ffi::npu_missing_symbols()
    }

    pub fn has_symbol(&self, name: &str) -> bool {
        ffi::npu_has_symbol(name)
    }

    pub fn stream(&self) -> Result<NpuStream> {
        NpuStream::new()
    }

    /// The caching pool's figures (tensors and workspaces together).
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats::now()
    }
}

static OPENED_SOC: std::sync::OnceLock<(String, SocTraits)> = std::sync::OnceLock::new();
static OPENED_DEVICE: std::sync::OnceLock<i32> = std::sync::OnceLock::new();

/// Makes the caching pool visible through the `device` crate: its figures answer
/// `allocator_stats(npu:N)` for the opened device, and `empty_cache(npu:N)` gives its
/// cached blocks back to the runtime.
pub fn register_with(manager: &mut device::DeviceManager) {
    let opened = |d: device::Device| matches!(d, device::Device::Npu(i) if OPENED_DEVICE.get().is_some_and(|&o| o as usize == i));
    manager.register_allocator(Box::new(move |d| {
        opened(d).then(|| {
            let p = PoolStats::now();
            device::AllocatorStats {
                allocated: p.allocated,
                reserved: p.reserved,
                peak_allocated: p.peak_allocated,
                peak_reserved: p.peak_reserved,
            }
        })
    }));
    manager.register_cache(Box::new(move |d| {
        if opened(d) {
            ffi::npu_pool_empty_all().unwrap_or(0)
        } else {
            0
        }
    }));
}

/// The opened SoC's name and row of the SoC table.
pub(crate) fn opened_soc() -> Option<(&'static str, SocTraits)> {
    OPENED_SOC.get().map(|(s, t)| (s.as_str(), *t))
}

/// Makes `device` the calling thread's current device. ACL's current device is per thread:
/// a thread that launches on a device's stream, or allocates for it, must have it current.
/// The thread that opened the runtime has its device already.
pub fn bind_current_thread(device: i32) -> Result<()> {
    ffi::npu_bind_device(device).map_err(|e| OpsError::Backend(e.what().to_string()))
}

/// Whether this process has opened the NPU runtime (it stays open until exit).
pub fn is_open() -> bool {
    ffi::npu_is_open()
}
