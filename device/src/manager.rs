//! `DeviceManager`: discovery, selection, memory and caches behind one handle.

use crate::discovery::{Discovery, DiscoveryConfig};
use crate::env::{EnvSource, ProcessEnv};
use crate::info::DeviceInfo;
use crate::kind::Device;
use crate::select::{Preferences, SelectError, Selection, select};
use std::fmt;

/// Free and total bytes of one device (host RAM for the CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryInfo {
    pub free: u64,
    pub total: u64,
}

/// Releases cached memory for a device and returns how many bytes it gave back.
pub type CacheReleaser = Box<dyn Fn(Device) -> u64 + Send + Sync>;

/// What an allocator built on top of a vendor runtime holds, in bytes (torch's
/// memory_allocated / memory_reserved and their peaks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AllocatorStats {
    /// In live tensors and workspaces.
    pub allocated: u64,
    /// Held from the runtime: allocated plus cached for reuse.
    pub reserved: u64,
    pub peak_allocated: u64,
    pub peak_reserved: u64,
}

/// Reports an allocator's figures for a device (None: it holds nothing there).
pub type AllocatorStatsSource = Box<dyn Fn(Device) -> Option<AllocatorStats> + Send + Sync>;

/// Enumerates devices once, then answers selection and memory questions.
pub struct DeviceManager {
    discovery: Discovery,
    preferences: Result<Preferences, SelectError>,
    caches: Vec<CacheReleaser>,
    allocators: Vec<AllocatorStatsSource>,
}

impl fmt::Debug for DeviceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceManager")
            .field("discovery", &self.discovery)
            .field("preferences", &self.preferences)
            .field("caches", &self.caches.len())
            .field("allocators", &self.allocators.len())
            .finish()
    }
}

impl DeviceManager {
    /// Discovery and preferences from the process environment.
    pub fn new() -> Self {
        Self::with_env(&ProcessEnv)
    }

    /// Discovery and preferences from `env` (a map in tests).
    pub fn with_env(env: &impl EnvSource) -> Self {
        Self::from_parts(Discovery::from_env(env), Preferences::from_env(env))
    }

    /// An explicit search configuration and preferences.
    pub fn with_config(config: &DiscoveryConfig, preferences: Preferences) -> Self {
        Self::from_parts(Discovery::run(config), Ok(preferences))
    }

    pub fn from_parts(discovery: Discovery, preferences: Result<Preferences, SelectError>) -> Self {
        Self {
            discovery,
            preferences,
            caches: Vec::new(),
            allocators: Vec::new(),
        }
    }

    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Usable devices, best first.
    pub fn devices(&self) -> Vec<&DeviceInfo> {
        self.discovery.devices()
    }

    /// The environment preferences, or why they are invalid.
    pub fn preferences(&self) -> Result<&Preferences, &SelectError> {
        self.preferences.as_ref()
    }

    /// Selects by the environment preferences, with `device` (a `--device` flag) taking
    /// precedence over `PREFERRED_DEVICE`.
    pub fn select(&self, device: Option<&str>) -> Result<Selection, SelectError> {
        let mut prefs = self.preferences.clone()?;
        if let Some(text) = device {
            prefs = prefs.with_device(text, "--device")?;
        }
        select(&self.discovery, &prefs)
    }

    /// Current free/total memory of a device, freshly queried.
    pub fn memory(&self, device: Device) -> Option<MemoryInfo> {
        self.discovery
            .memory(device)
            .map(|(free, total)| MemoryInfo { free, total })
    }

    /// One line per device with fresh free/total figures, for logs (the
    /// `memory_stats()` of the HiDream NPU port).
    pub fn memory_summary(&self) -> String {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        self.devices()
            .iter()
            .map(|d| match self.memory(d.id) {
                Some(m) => format!(
                    "{} {}: {:.1} GiB free of {:.1} GiB",
                    d.id,
                    d.name,
                    gib(m.free),
                    gib(m.total)
                ),
                None => format!("{} {}: memory unknown", d.id, d.name),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Registers a pool (a kernel workspace pool, a tensor allocator) whose cached blocks
    /// `empty_cache` should release. The vendor runtimes keep no cache of their own that
    /// their public API can drop, so the caches to empty are the ones built on top.
    pub fn register_cache(&mut self, releaser: CacheReleaser) {
        self.caches.push(releaser);
    }

    /// Asks every registered pool to release what it caches for `device`; returns the
    /// bytes released.
    pub fn empty_cache(&self, device: Device) -> u64 {
        self.caches.iter().map(|release| release(device)).sum()
    }

    /// Registers an allocator whose figures `allocator_stats` reports.
    pub fn register_allocator(&mut self, source: AllocatorStatsSource) {
        self.allocators.push(source);
    }

    /// The registered allocators' figures for `device`, summed; None when none holds
    /// anything there.
    pub fn allocator_stats(&self, device: Device) -> Option<AllocatorStats> {
        self.allocators
            .iter()
            .filter_map(|source| source(device))
            .reduce(|a, b| AllocatorStats {
                allocated: a.allocated + b.allocated,
                reserved: a.reserved + b.reserved,
                peak_allocated: a.peak_allocated + b.peak_allocated,
                peak_reserved: a.peak_reserved + b.peak_reserved,
            })
    }
}

impl Default for DeviceManager {
    fn default() -> Self {
        Self::new()
    }
}
