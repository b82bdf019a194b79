//! The host CPU: model name, cores and RAM, from /proc.

use crate::dtype::DTypeSupport;
use crate::info::DeviceInfo;
use crate::kind::{Device, DeviceKind};

/// Host memory in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostMemory {
    pub total: u64,
    pub available: u64,
}

/// `model name` (x86) or the closest field other architectures print.
pub fn parse_model_name(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "cpu model", "Hardware"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        })
}

/// MemTotal and MemAvailable (kB in the file) as bytes.
pub fn parse_meminfo(meminfo: &str) -> Option<HostMemory> {
    let field = |name: &str| -> Option<u64> {
        meminfo.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kb * 1024)
        })
    };
    let total = field("MemTotal")?;
    // Kernels before 3.14 lack MemAvailable; MemFree is the honest lower bound there.
    let available = field("MemAvailable").or_else(|| field("MemFree"))?;
    Some(HostMemory { total, available })
}

pub fn host_memory() -> Option<HostMemory> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

pub fn model_name() -> Option<String> {
    parse_model_name(&std::fs::read_to_string("/proc/cpuinfo").ok()?)
}

/// The CPU as a device.
pub fn describe() -> DeviceInfo {
    let memory = host_memory();
    let support = DTypeSupport::cpu();
    DeviceInfo {
        id: Device::Cpu,
        kind: DeviceKind::Cpu,
        name: model_name().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        capability: None,
        memory_total_bytes: memory.map(|m| m.total),
        memory_free_bytes: memory.map(|m| m.available),
        dtypes: support.supported,
        best_dtype: support.best,
        dtype_source: "f32 default; half types are converted on the CPU".to_string(),
        driver_version: None,
        runtime_version: None,
        cores: std::thread::available_parallelism().ok().map(|n| n.get()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t: fpu\n";
        assert_eq!(parse_model_name(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        let meminfo =
            "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(
            parse_meminfo(meminfo),
            Some(HostMemory {
                total: 24_000_000 * 1024,
                available: 20_000_000 * 1024
            })
        );
        assert_eq!(
            parse_meminfo("MemTotal: 10 kB\nMemFree: 4 kB\n").map(|m| m.available),
            Some(4096)
        );
        assert_eq!(parse_meminfo("garbage"), None);
    }
}
