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
}
