//! ACL streams as owning Rust values.

use super::storage::DeviceBlock;
use crate::bridge::ffi;
use crate::error::{Result, backend};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An ACL stream. Launches are asynchronous and run in order. Tensors allocated for this
/// stream return their memory to its cache when dropped, which is safe at once because
/// later launches on the stream run after the earlier ones. A tensor from another stream's
/// cache is kept alive until this stream is synchronised (torch's record_stream). Dropping
/// the stream waits for its work, frees its cache and destroys it.
#[derive(Debug)]
pub struct NpuStream {
    raw: usize,
    /// Unique for the process: a destroyed stream's handle may be reused by a new one.
    id: u64,
    foreign: Mutex<Vec<Arc<DeviceBlock>>>,
    pending: AtomicU64,
    launches: AtomicU64,
    syncs: AtomicU64,
    uploaded: AtomicU64,
    downloaded: AtomicU64,
}

impl NpuStream {
    pub(crate) fn new() -> Result<Self> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Self {
            raw: ffi::npu_stream_create().map_err(backend)?,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            foreign: Mutex::new(Vec::new()),
            pending: AtomicU64::new(0),
            launches: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            downloaded: AtomicU64::new(0),
        })
    }

    pub(crate) fn raw(&self) -> usize {
        self.raw
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Notes one launch that read or wrote `blocks`.
    pub(crate) fn launched(&self, blocks: &[&Arc<DeviceBlock>]) {
        self.pending.fetch_add(1, Ordering::Relaxed);
        self.launches.fetch_add(1, Ordering::Relaxed);
        let foreign: Vec<Arc<DeviceBlock>> = blocks
            .iter()
            .filter(|b| b.stream_id() != self.id)
            .map(|b| Arc::clone(b))
            .collect();
        if !foreign.is_empty() {
            self.foreign
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(foreign);
        }
    }

    /// Whether launches are queued since the last synchronisation.
    pub fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed) > 0
    }

    /// Waits until every launch on this stream has finished.
    pub fn synchronize(&self) -> Result<()> {
        ffi::npu_stream_sync(self.raw).map_err(backend)?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        self.pending.store(0, Ordering::Relaxed);
        self.foreign
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    /// Launches made on this stream so far.
    pub fn launches(&self) -> u64 {
        self.launches.load(Ordering::Relaxed)
    }

    /// Host synchronisations of this stream so far.
    pub fn synchronizations(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Notes a host-to-device copy of `bytes` for this stream.
    pub(crate) fn uploaded(&self, bytes: usize) {
        self.uploaded.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Notes a device-to-host copy of `bytes` for this stream.
    pub(crate) fn downloaded(&self, bytes: usize) {
        self.downloaded.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes copied host to device and device to host for this stream so far.
    pub fn transferred_bytes(&self) -> (u64, u64) {
        (
            self.uploaded.load(Ordering::Relaxed),
            self.downloaded.load(Ordering::Relaxed),
        )
    }

    /// Bytes this stream's cache holds for reuse.
    pub fn cached_bytes(&self) -> u64 {
        ffi::npu_pool_cached(self.raw)
    }

    /// Synchronises, then gives this stream's cached blocks back to the runtime.
    pub fn empty_cache(&self) -> Result<()> {
        self.synchronize()?;
        ffi::npu_pool_empty_cache(self.raw).map_err(backend)
    }
}

impl Drop for NpuStream {
    fn drop(&mut self) {
        // Synchronises before destroying; only then may the foreign blocks go.
        ffi::npu_stream_destroy(self.raw);
        self.foreign
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
