//! Running every probe once: what devices this process can use.

use crate::cuda::{self, CudaRuntime};
use crate::env::EnvSource;
use crate::info::{Absence, BackendReport, DeviceInfo, LibraryCandidate};
use crate::kind::{Device, DeviceKind};
use crate::npu::{self, NpuConfig, NpuRuntime};
use std::path::PathBuf;

/// Where discovery looks. Tests build one pointing at test doubles; applications use
/// [`DiscoveryConfig::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// `None`: do not probe NPUs.
    pub npu: Option<NpuConfig>,
    /// `None`: do not probe CUDA.
    pub cuda: Option<Vec<LibraryCandidate>>,
}

impl DiscoveryConfig {
    /// The real search order: `$ASCEND_HOME_PATH/lib64`, `$ASCEND_TOOLKIT_HOME/lib64`, the
    /// dynamic loader's path (LD_LIBRARY_PATH), then the default root install; CUDA's
    /// libcuda.so.1 then libcuda.so through the loader.
    pub fn from_env(env: &impl EnvSource) -> Self {
        let mut roots: Vec<PathBuf> = ["ASCEND_HOME_PATH", "ASCEND_TOOLKIT_HOME"]
            .iter()
            .filter_map(|v| env.non_empty(v))
            .map(PathBuf::from)
            .collect();
        let mut candidates: Vec<LibraryCandidate> = roots
            .iter()
            .map(|r| LibraryCandidate::Path(r.join("lib64").join(npu::LIBRARY)))
            .collect();
        candidates.push(LibraryCandidate::LoaderSearch(npu::LIBRARY.to_string()));
        let default_root = PathBuf::from(npu::DEFAULT_ROOT);
        candidates.push(LibraryCandidate::Path(
            default_root.join("lib64").join(npu::LIBRARY),
        ));
        roots.push(default_root);
        dedup(&mut candidates);
        dedup(&mut roots);
        Self {
            npu: Some(NpuConfig {
                candidates,
                roots,
                install_info: PathBuf::from(npu::INSTALL_INFO),
            }),
            cuda: Some(cuda::default_candidates()),
        }
    }

    /// Probe nothing: the CPU only.
    pub fn cpu_only() -> Self {
        Self {
            npu: None,
            cuda: None,
        }
    }

    /// Probe exactly this ACL library (a test double or an unusual install).
    pub fn with_npu_library(mut self, path: impl Into<PathBuf>) -> Self {
        self.npu = Some(NpuConfig::with_library(path));
        self
    }

    /// Probe exactly this CUDA driver library.
    pub fn with_cuda_library(mut self, path: impl Into<PathBuf>) -> Self {
        self.cuda = Some(vec![LibraryCandidate::Path(path.into())]);
        self
    }
}

/// Removes later repeats, keeping the first position (the search order).
fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        let fresh = !seen.contains(item);
        if fresh {
            seen.push(item.clone());
        }
        fresh
    });
}

/// The outcome of discovery. Holds the loaded runtimes so later memory queries reuse them.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub npu: BackendReport,
    pub cuda: BackendReport,
    pub cpu: DeviceInfo,
    npu_runtime: Option<NpuRuntime>,
    cuda_runtime: Option<CudaRuntime>,
}

impl Discovery {
    pub fn run(config: &DiscoveryConfig) -> Self {
        let (npu, npu_runtime) = match &config.npu {
            Some(c) => npu::probe(c),
            None => (
                BackendReport::absent(
                    DeviceKind::Npu,
                    Absence::NotProbed("NPU discovery disabled".into()),
                ),
                None,
            ),
        };
        let (cuda, cuda_runtime) = match &config.cuda {
            Some(c) => cuda::probe(c),
            None => (
                BackendReport::absent(
                    DeviceKind::Cuda,
                    Absence::NotProbed("CUDA discovery disabled".into()),
                ),
                None,
            ),
        };
        Self {
            npu,
            cuda,
            cpu: crate::cpu::describe(),
            npu_runtime,
            cuda_runtime,
        }
    }

    /// Discovery from reports made elsewhere (a probe process, see [`crate::probe`]):
    /// devices and verdicts only, so [`Discovery::memory`] knows nothing but the CPU.
    pub fn from_reports(npu: BackendReport, cuda: BackendReport) -> Self {
        Self {
            npu,
            cuda,
            cpu: crate::cpu::describe(),
            npu_runtime: None,
            cuda_runtime: None,
        }
    }

    /// Discovery with the real environment's search paths.
    pub fn from_env(env: &impl EnvSource) -> Self {
        Self::run(&DiscoveryConfig::from_env(env))
    }

    /// Every usable device in preference order: NPUs, then CUDA devices, then the CPU.
    pub fn devices(&self) -> Vec<&DeviceInfo> {
        self.npu
            .devices
            .iter()
            .chain(&self.cuda.devices)
            .chain(std::iter::once(&self.cpu))
            .collect()
    }

    pub fn find(&self, device: Device) -> Option<&DeviceInfo> {
        self.devices().into_iter().find(|d| d.id == device)
    }

    pub fn backend(&self, kind: DeviceKind) -> Option<&BackendReport> {
        match kind {
            DeviceKind::Npu => Some(&self.npu),
            DeviceKind::Cuda => Some(&self.cuda),
            DeviceKind::Cpu => None,
        }
    }

    /// Fresh (free, total) bytes for a device.
    pub fn memory(&self, device: Device) -> Option<(u64, u64)> {
        match device {
            Device::Cpu => crate::cpu::host_memory().map(|m| (m.available, m.total)),
            Device::Npu(i) => self.npu_runtime.as_ref()?.mem_info(i).ok(),
            Device::Cuda(i) => self.cuda_runtime.as_ref()?.mem_info(i),
        }
    }
}
