//! The caching allocator: stream-ordered reuse, figures, empty_cache, and blocks used on a
//! second stream kept alive until that stream is synchronised.

use super::support::*;
use crate::common::Rng;
use candle_core::DType;
use ops_npu::npu::{NpuTensor, PoolStats, ops};

#[test]
fn freed_blocks_serve_the_next_allocation_on_their_stream_and_go_back_on_empty_cache() {
    let env = open();
    let s = &env.s;
    let before = PoolStats::now();
    // aclrtMalloc calls are counted by the double only; real libraries skip that check.
    let mallocs = || double_counter(&env, "libascendcl.so", "fake_mallocs");
    let m0 = mallocs();
    let (launches, syncs) = (s.launches(), s.synchronizations());
    // A denoise-loop shape of work: every step allocates and frees the same sizes.
    let mut rng = Rng::new(401);
    let x = to_npu(s, &random(&mut rng, &[64, 64], DType::F32));
    for _ in 0..10 {
        let y = ops::mul_scalar(s, &x, 0.5).unwrap();
        let z = ops::add(s, &y, &x).unwrap();
        drop((y, z));
    }
    let after = PoolStats::now();
    // Twenty launches and no host synchronisation: nothing was downloaded.
    assert_eq!(s.launches() - launches, 20);
    assert_eq!(s.synchronizations(), syncs);
    // Blocks for x, y, z and one workspace on the first step; later steps reuse them.
    assert!(after.cache_hits - before.cache_hits >= 18, "{after:?}");
    if let Some(m0) = m0 {
        let calls = mallocs().expect("the double's counter") - m0;
        assert!(calls <= 4, "aclrtMalloc calls: {calls}");
    }
    assert!(after.peak_allocated >= 3 * 64 * 64 * 4);
    assert_eq!(after.allocated, 64 * 64 * 4, "only x is still allocated");
    assert!(s.cached_bytes() >= 2 * 64 * 64 * 4);
    s.empty_cache().unwrap();
    assert_eq!(s.cached_bytes(), 0);
    let emptied = PoolStats::now();
    assert_eq!(emptied.reserved, emptied.allocated, "{emptied:?}");
    drop(x);
    assert_no_leaked_descriptors(&env);
}

#[test]
fn a_block_used_on_another_stream_lives_until_that_stream_is_synchronised() {
    let env = open();
    let (s1, s2) = (&env.s, env.rt.stream().unwrap());
    let x = NpuTensor::upload(s1, &[1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
    let y = ops::mul_scalar(&s2, &x, 10.0).unwrap();
    // x's block belongs to s1; dropping it while s2's launch is queued must not let s1
    // hand the block to a new tensor that overwrites it before s2 runs.
    drop(x);
    let overwrite = NpuTensor::upload(s1, &[-1.0f32; 4], &[4]).unwrap();
    assert_eq!(
        y.download::<f32>(&s2).unwrap(),
        vec![10.0, 20.0, 30.0, 40.0]
    );
    drop((overwrite, y));
    assert_no_leaked_descriptors(&env);
}

#[test]
fn out_of_device_memory_is_an_error_naming_the_request_not_a_crash() {
    let env = open();
    let err = NpuTensor::empty(
        &env.s,
        &[1 << 20, 1 << 20, 1 << 10],
        ops_npu::npu::NpuDType::F32,
    )
    .unwrap_err();
    assert!(err.to_string().contains("out of device memory"), "{err}");
    // An element count that overflows is refused before any allocation.
    let err = NpuTensor::empty(&env.s, &[usize::MAX, 2], ops_npu::npu::NpuDType::F32).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
}

#[test]
fn the_pool_answers_the_device_crates_memory_questions() {
    let env = open();
    // No probing: a discovery that loads the same libascendcl.so would reset the device
    // this process has open (see docs/npu-backend.md).
    let prefs = device::Preferences::from_env(&device::MapEnv::new()).unwrap();
    let mut manager =
        device::DeviceManager::with_config(&device::DiscoveryConfig::cpu_only(), prefs);
    ops_npu::npu::register_with(&mut manager);
    let x = NpuTensor::empty(&env.s, &[1024], ops_npu::npu::NpuDType::F32).unwrap();
    drop(NpuTensor::empty(&env.s, &[4096], ops_npu::npu::NpuDType::F32).unwrap());
    let stats = manager.allocator_stats(device::Device::Npu(0)).unwrap();
    assert_eq!(stats.allocated, 4096);
    assert_eq!(stats.reserved, 4096 + 16384);
    assert!(stats.peak_allocated >= 4096 + 16384);
    assert_eq!(manager.allocator_stats(device::Device::Npu(1)), None);
    assert_eq!(manager.empty_cache(device::Device::Npu(0)), 16384);
    assert_eq!(
        manager
            .allocator_stats(device::Device::Npu(0))
            .unwrap()
            .reserved,
        4096
    );
    drop(x);
}
