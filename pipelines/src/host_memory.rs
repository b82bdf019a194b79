//! How the process's C allocator hands large buffers back to the OS.
//!
//! A UNet step allocates and frees hundreds of activation buffers of 10-100 MB. glibc
//! serves every allocation above its mmap threshold (at most 32 MB) with a fresh `mmap`
//! and unmaps it on free, and trims the heap top above 128 KB, so the next step's buffers
//! are new pages again: every 4 KB page costs a fault and a kernel zero-fill. Measured on
//! the SD 2.1 UNet at 512x512 (2-core x86_64, glibc): 2.9 million page faults in one full
//! and seven DeepCache-shallow steps with the defaults, 1.1 million with freed memory kept,
//! and the shallow step 1.1 s instead of 1.4 s (commands in README, Performance), at
//! about the same peak RSS (a step frees what it
//! allocated, so kept memory is reused by the next step rather than added to).
//!
//! The binaries choose this at start-up; the library never changes process-wide
//! allocator settings on its own.

/// What [`keep_freed_memory`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocatorPolicy {
    /// glibc now serves every allocation from its heaps and keeps freed memory for reuse.
    KeepFreed,
    /// Not glibc (or glibc refused a setting): the allocator's defaults stay.
    Default,
}

impl AllocatorPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AllocatorPolicy::KeepFreed => "keep-freed",
            AllocatorPolicy::Default => "default",
        }
    }
}

/// Ask glibc to serve large allocations from its heaps instead of fresh mappings and to
/// keep freed memory for reuse (up to 2 GB free at the top of the heap is kept). Call it
/// first thing in `main`, before the model is loaded.
pub fn keep_freed_memory() -> AllocatorPolicy {
    imp::keep_freed_memory()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use super::AllocatorPolicy;

    pub fn keep_freed_memory() -> AllocatorPolicy {
        // SAFETY: mallopt only changes allocator parameters; it is called before this
        // process has started other threads that allocate.
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
        };
        if ok {
            AllocatorPolicy::KeepFreed
        } else {
            AllocatorPolicy::Default
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    use super::AllocatorPolicy;

    pub fn keep_freed_memory() -> AllocatorPolicy {
        AllocatorPolicy::Default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The setting is process-wide, so the test only checks that it takes on glibc and that
    // large allocations keep working under it.
    #[test]
    fn glibc_accepts_the_settings_and_large_buffers_still_allocate() {
        let policy = keep_freed_memory();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(policy, AllocatorPolicy::KeepFreed);
        }
        let big = vec![1u8; 64 << 20];
        assert_eq!(big.iter().map(|&b| b as usize).sum::<usize>(), 64 << 20);
    }
}
