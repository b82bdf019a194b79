//! The device crate's integration tests, as one test binary: one link instead of one per
//! file. Tests that configure a test double do it through compile-time defines and a
//! `MapEnv`, never the process environment, so they may share a process.

#[path = "../doubles/mod.rs"]
mod doubles;

use device::DiscoveryConfig;
use doubles::{FakeAcl, FakeCuda};
use std::path::Path;

/// A machine with the given NPU and CUDA doubles (either may be absent), installed
/// under `dir`, which must outlive the config's use.
fn machine_config(dir: &Path, npu: Option<FakeAcl>, cuda: Option<FakeCuda>) -> DiscoveryConfig {
    let mut config = DiscoveryConfig::cpu_only();
    if let Some(npu) = npu {
        config = config.with_npu_library(npu.install(&dir.join("cann")));
    }
    if let Some(cuda) = cuda {
        config = config.with_cuda_library(cuda.install(&dir.join("cuda")));
    }
    config
}

mod cuda_discovery;
mod doctor_checks;
mod framework;
mod isolated_probe;
mod npu_discovery;
mod selection;
mod torch_rng;
mod weights;
