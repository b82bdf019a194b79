//! Device choice for CUDA/CPU frameworks (candle, tch) over test-double runtimes: the code
//! migrated from `Device::new_cuda(n)` gets a CUDA ordinal or the CPU, never an NPU.

use crate::doubles::{FakeAcl, FakeCuda};
use device::framework::{FrameworkDeviceError, cuda_ordinal_with};
use device::{Discovery, MapEnv, Preferences};

fn discovery(npu: Option<FakeAcl>, cuda: Option<FakeCuda>) -> (tempfile::TempDir, Discovery) {
    let dir = tempfile::tempdir().unwrap();
    let discovery = Discovery::run(&crate::machine_config(dir.path(), npu, cuda));
    (dir, discovery)
}

fn prefs(preferred: Option<&str>) -> Preferences {
    let env = match preferred {
        Some(v) => MapEnv::new().with("PREFERRED_DEVICE", v),
        None => MapEnv::new(),
    };
    Preferences::from_env(&env).unwrap()
}

#[test]
fn without_a_preference_the_requested_cuda_ordinal_or_the_cpu() {
    let (_d, gpus) = discovery(None, Some(FakeCuda::new().devices(2)));
    assert_eq!(cuda_ordinal_with(&gpus, &prefs(None), 1), Ok(Some(1)));
    assert_eq!(
        cuda_ordinal_with(&gpus, &prefs(None), 2),
        Err(FrameworkDeviceError::MissingOrdinal {
            ordinal: 2,
            count: 2
        })
    );
    // An NPU host without CUDA runs a CUDA/CPU framework on its CPU.
    let (_d, npu_host) = discovery(Some(FakeAcl::new()), None);
    assert_eq!(cuda_ordinal_with(&npu_host, &prefs(None), 0), Ok(None));
}

#[test]
fn preferred_device_is_honoured_and_never_silently_replaced() {
    let (_d, both) = discovery(Some(FakeAcl::new()), Some(FakeCuda::new().devices(2)));
    assert_eq!(cuda_ordinal_with(&both, &prefs(Some("cpu")), 0), Ok(None));
    assert_eq!(
        cuda_ordinal_with(&both, &prefs(Some("cuda:1")), 0),
        Ok(Some(1))
    );
    assert_eq!(
        cuda_ordinal_with(&both, &prefs(Some("cuda")), 0),
        Ok(Some(0))
    );
    let npu = cuda_ordinal_with(&both, &prefs(Some("npu")), 0).unwrap_err();
    assert!(
        matches!(npu, FrameworkDeviceError::NoNpuBackend { .. }),
        "{npu:?}"
    );
    assert!(npu.to_string().contains("PREFERRED_DEVICE"), "{npu}");
    let absent = cuda_ordinal_with(&both, &prefs(Some("cuda:5")), 0).unwrap_err();
    assert!(
        matches!(absent, FrameworkDeviceError::Select(_)),
        "{absent:?}"
    );

    let (_d, cpu_only) = discovery(None, None);
    assert!(cuda_ordinal_with(&cpu_only, &prefs(Some("cuda")), 0).is_err());
}
