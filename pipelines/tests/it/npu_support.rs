//! Opens the strict Ascend test double (ops-npu's tests/doubles, built by
//! scripts/npu/build-double.sh) in this process as a model device, and reads its counters.
//! The NPU runtime is process-wide, so these tests need a process each (cargo nextest).

#[path = "../../../ops-npu/tests/it/doubles.rs"]
#[allow(dead_code)]
mod doubles;

pub use doubles::FakeAscend;
use ops_npu::npu::NpuLibraries;
use pipelines::model_tensor::{ModelDevice, NpuContext};
use std::path::PathBuf;
use std::sync::Arc;

/// The double's root and the NPU opened from it.
pub struct Npu {
    pub root: PathBuf,
    pub context: Arc<NpuContext>,
}

impl Npu {
    pub fn device(&self) -> ModelDevice {
        ModelDevice::Npu(self.context.clone())
    }

    /// One of the double's counters (`fake_live_descriptors`, `fake_live_bytes`, ...).
    pub fn counter(&self, symbol: &str) -> i64 {
        doubles::counter(&self.root, "libascendcl.so", symbol)
    }

    /// Host synchronisations of the models' stream so far.
    pub fn syncs(&self) -> u64 {
        self.context.stream().synchronizations()
    }

    /// Waits for queued launches (and counts one synchronisation), so that what follows
    /// starts from an idle stream.
    pub fn settle(&self) {
        self.context.stream().synchronize().expect("synchronize");
    }
}

/// `fake` built (or reused) and opened as npu:0.
pub fn open(fake: FakeAscend) -> Npu {
    assert!(
        std::env::var_os("NEXTEST").is_some(),
        "the NPU runtime is process-wide: run these tests with cargo nextest (a process per test)"
    );
    let root = fake.install();
    let context = NpuContext::open_in(&NpuLibraries::in_root(&root), 0).expect("opens the double");
    Npu { root, context }
}

/// A counter of the double rooted at `root`, usable after the context is dropped.
pub fn counter(root: &std::path::Path, symbol: &str) -> i64 {
    doubles::counter(root, "libascendcl.so", symbol)
}
