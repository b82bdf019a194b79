//! Selection order, overrides and dtype preferences over test-double runtimes.

use crate::doubles::{FakeAcl, FakeCuda};
use device::{DType, Device, DeviceManager, DiscoveryConfig, MapEnv, Preferences, SelectError};

struct Machine {
    _dir: tempfile::TempDir,
    config: DiscoveryConfig,
}

/// A machine with the given NPU and CUDA doubles (either may be absent).
fn machine(npu: Option<FakeAcl>, cuda: Option<FakeCuda>) -> Machine {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::machine_config(dir.path(), npu, cuda);
    Machine { _dir: dir, config }
}

fn manager(m: &Machine, env: &MapEnv) -> DeviceManager {
    DeviceManager::from_parts(
        device::Discovery::run(&m.config),
        Preferences::from_env(env),
    )
}

#[test]
fn npu_first_then_cuda_then_cpu() {
    let both = machine(Some(FakeAcl::new().devices(2)), Some(FakeCuda::new()));
    let m = manager(&both, &MapEnv::new());
    let ids: Vec<Device> = m.devices().iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        [Device::Npu(0), Device::Npu(1), Device::Cuda(0), Device::Cpu]
    );
    let s = m.select(None).unwrap();
    assert_eq!((s.device, s.dtype), (Device::Npu(0), DType::BF16));

    let cuda_only = machine(None, Some(FakeCuda::new().capability(7, 5)));
    let s = manager(&cuda_only, &MapEnv::new()).select(None).unwrap();
    assert_eq!((s.device, s.dtype), (Device::Cuda(0), DType::F16));

    let neither = machine(None, None);
    let s = manager(&neither, &MapEnv::new()).select(None).unwrap();
    assert_eq!((s.device, s.dtype), (Device::Cpu, DType::F32));
}

#[test]
fn preferred_device_and_explicit_strings_override_the_order() {
    let both = machine(Some(FakeAcl::new().devices(2)), Some(FakeCuda::new()));
    let env = MapEnv::new().with("PREFERRED_DEVICE", "cuda");
    let m = manager(&both, &env);
    assert_eq!(m.select(None).unwrap().device, Device::Cuda(0));
    assert!(m.select(None).unwrap().reason.contains("PREFERRED_DEVICE"));
    // An explicit string beats the environment.
    assert_eq!(m.select(Some("npu:1")).unwrap().device, Device::Npu(1));
    assert_eq!(m.select(Some("cpu")).unwrap().device, Device::Cpu);
    let auto = manager(&both, &MapEnv::new().with("PREFERRED_DEVICE", "auto"));
    assert_eq!(auto.select(None).unwrap().device, Device::Npu(0));
}

#[test]
fn an_absent_override_is_an_error_not_a_fallback() {
    let npu_and_broken_cuda = machine(
        Some(FakeAcl::new().devices(1)),
        Some(FakeCuda::new().init_result(100)),
    );
    let m = manager(&npu_and_broken_cuda, &MapEnv::new());
    let err = m.select(Some("npu:1")).unwrap_err();
    assert!(matches!(err, SelectError::Absent { .. }), "{err:?}");
    assert!(err.to_string().contains("npu:0"), "{err}");
    let err = m.select(Some("cuda")).unwrap_err();
    assert!(err.to_string().contains("cuInit returned 100"), "{err}");

    let nothing = machine(None, None);
    let env = MapEnv::new().with("PREFERRED_DEVICE", "npu");
    let err = manager(&nothing, &env).select(None).unwrap_err();
    assert!(err.to_string().contains("PREFERRED_DEVICE"), "{err}");
}

#[test]
fn preferred_dtype_is_honoured_only_where_supported() {
    let p = machine(
        Some(FakeAcl::new().soc("Ascend310P3").bf16_attribute(0)),
        None,
    );
    let env = MapEnv::new().with("PREFERRED_DTYPE", "bf16");
    let err = manager(&p, &env).select(None).unwrap_err();
    assert!(matches!(
        err,
        SelectError::UnsupportedDType {
            dtype: DType::BF16,
            ..
        }
    ));
    assert!(err.to_string().contains("f32, f16"), "{err}");

    let b = machine(Some(FakeAcl::new()), None);
    let env = MapEnv::new().with("PREFERRED_DTYPE", "f16");
    assert_eq!(manager(&b, &env).select(None).unwrap().dtype, DType::F16);
    let env = MapEnv::new().with("PREFERRED_DTYPE", "float32");
    assert_eq!(manager(&b, &env).select(None).unwrap().dtype, DType::F32);
}

#[test]
fn malformed_preferences_are_errors() {
    let m = machine(None, None);
    let err = manager(&m, &MapEnv::new().with("PREFERRED_DEVICE", "tpu:0"))
        .select(None)
        .unwrap_err();
    assert!(matches!(err, SelectError::BadDevice { .. }));
    let err = manager(&m, &MapEnv::new().with("PREFERRED_DTYPE", "int4"))
        .select(None)
        .unwrap_err();
    assert!(err.to_string().contains("PREFERRED_DTYPE"), "{err}");
    let err = manager(&m, &MapEnv::new())
        .select(Some("npu:x"))
        .unwrap_err();
    assert!(err.to_string().contains("--device"), "{err}");
}

#[test]
fn memory_summary_queries_each_device_again() {
    let m = machine(
        Some(FakeAcl::new().devices(2).memory(32 << 30, 30 << 30)),
        None,
    );
    let summary = manager(&m, &MapEnv::new()).memory_summary();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 3, "{summary}");
    assert_eq!(lines[0], "npu:0 Ascend910B3: 30.0 GiB free of 32.0 GiB");
    assert_eq!(lines[1], "npu:1 Ascend910B3: 29.0 GiB free of 32.0 GiB");
    assert!(lines[2].starts_with("cpu "));
}

#[test]
fn allocator_stats_sum_the_registered_allocators_for_the_device_asked() {
    use device::AllocatorStats;
    let mut manager = DeviceManager::with_env(&MapEnv::new());
    assert_eq!(manager.allocator_stats(Device::Npu(0)), None);
    let one = |n: u64| AllocatorStats {
        allocated: n,
        reserved: 2 * n,
        peak_allocated: 3 * n,
        peak_reserved: 4 * n,
    };
    manager.register_allocator(Box::new(move |d| (d == Device::Npu(0)).then(|| one(10))));
    manager.register_allocator(Box::new(move |d| (d != Device::Cpu).then(|| one(1))));
    assert_eq!(manager.allocator_stats(Device::Npu(0)), Some(one(11)));
    assert_eq!(manager.allocator_stats(Device::Npu(1)), Some(one(1)));
    assert_eq!(manager.allocator_stats(Device::Cpu), None);
}

#[test]
fn empty_cache_asks_registered_pools() {
    let m = machine(None, None);
    let mut manager = manager(&m, &MapEnv::new());
    assert_eq!(manager.empty_cache(Device::Cpu), 0);
    manager.register_cache(Box::new(|d| if d == Device::Cpu { 4096 } else { 0 }));
    manager.register_cache(Box::new(|_| 1));
    assert_eq!(manager.empty_cache(Device::Cpu), 4097);
    assert_eq!(manager.empty_cache(Device::Npu(0)), 1);
    let mem = manager.memory(Device::Cpu).expect("host memory from /proc");
    assert!(mem.total >= mem.free && mem.total > 0);
}
