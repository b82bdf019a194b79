//! Device memory blocks from the caching pool (csrc/npu_pool.h) and the pool's figures.

use crate::bridge::ffi;
use crate::error::{Result, backend};

/// A block of device memory owned by the stream it was allocated on; dropping it returns
/// it to that stream's cache, where the next allocation on the stream may reuse it at
/// once (work on one stream runs in order).
#[derive(Debug)]
pub struct DeviceBlock {
    ptr: usize,
    bytes: usize,
    stream_id: u64,
}

impl DeviceBlock {
    /// A block from the cache of the stream with this handle and NpuStream::id.
    pub(crate) fn allocate(stream: usize, stream_id: u64, bytes: usize) -> Result<Self> {
        Ok(Self {
            ptr: ffi::npu_pool_allocate(stream, bytes).map_err(backend)?,
            bytes,
            stream_id,
        })
    }

    pub(crate) fn ptr(&self) -> usize {
        self.ptr
    }

    pub fn len(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The stream whose cache the block returns to (NpuStream::id).
    pub(crate) fn stream_id(&self) -> u64 {
        self.stream_id
    }
}

impl Drop for DeviceBlock {
    fn drop(&mut self) {
        ffi::npu_pool_release(self.ptr);
    }
}

/// The caching pool's figures for the whole process, in bytes (counts for the last three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// In tensors and workspaces now.
    pub allocated: u64,
    /// Held from the runtime: allocated plus cached.
    pub reserved: u64,
    pub peak_allocated: u64,
    pub peak_reserved: u64,
    /// aclrtMalloc and aclrtFree calls.
    pub device_mallocs: u64,
    pub device_frees: u64,
    /// Allocations served from a cache without calling the runtime.
    pub cache_hits: u64,
}

impl PoolStats {
    pub fn now() -> Self {
        let v = ffi::npu_pool_stats();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        Self {
            allocated: at(0),
            reserved: at(1),
            peak_allocated: at(2),
            peak_reserved: at(3),
            device_mallocs: at(4),
            device_frees: at(5),
            cache_hits: at(6),
        }
    }

    /// Restarts the peaks from the current figures, so that a later [`PoolStats::now`]
    /// reports the high-water of what ran in between (torch's reset_peak_memory_stats).
    pub fn reset_peaks() {
        ffi::npu_pool_reset_peaks();
    }
}
