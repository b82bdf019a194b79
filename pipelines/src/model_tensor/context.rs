//! An opened NPU and the one stream its models launch on.

use candle_core::{Error, Result};
use ops_npu::npu::{NpuLibraries, NpuRuntime, NpuStream};
use std::sync::Arc;

/// An opened NPU: the runtime (SoC, its rules) and the one stream the models launch on, so
/// launches run in order and freed blocks are reused at once from the stream's cache.
#[derive(Debug)]
pub struct NpuContext {
    runtime: NpuRuntime,
    stream: NpuStream,
    ordinal: usize,
}

impl NpuContext {
    /// Opens NPU `ordinal` from the CANN the environment names ($ASCEND_HOME_PATH, then
    /// the default install) and creates its stream.
    pub fn open(ordinal: usize) -> Result<Arc<Self>> {
        Self::open_in(&NpuLibraries::from_env(), ordinal)
    }

    /// Opens NPU `ordinal` from the given libraries (a CANN root, or a test double).
    pub fn open_in(libraries: &NpuLibraries, ordinal: usize) -> Result<Arc<Self>> {
        let index = i32::try_from(ordinal)
            .map_err(|_| Error::Msg(format!("npu:{ordinal} is not a valid device index")))?;
        let runtime = NpuRuntime::open(libraries, index).map_err(Error::wrap)?;
        // The runtime opens once per process; a second device is made current here, on the
        // calling thread, so that the stream below belongs to it.
        ops_npu::npu::bind_current_thread(index).map_err(Error::wrap)?;
        let stream = runtime.stream().map_err(Error::wrap)?;
        Ok(Arc::new(Self {
            runtime,
            stream,
            ordinal,
        }))
    }

    pub fn runtime(&self) -> &NpuRuntime {
        &self.runtime
    }

    pub fn stream(&self) -> &NpuStream {
        &self.stream
    }

    pub fn ordinal(&self) -> usize {
        self.ordinal
    }

    /// Makes this NPU the calling thread's current device: a thread must, before it
    /// launches on this context's stream or allocates for it (ACL's device is per thread).
    pub fn bind_current_thread(&self) -> Result<()> {
        let index = i32::try_from(self.ordinal)
            .map_err(|_| Error::Msg(format!("npu:{} is not a valid device index", self.ordinal)))?;
        ops_npu::npu::bind_current_thread(index).map_err(Error::wrap)
    }
}
