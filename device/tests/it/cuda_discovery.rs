//! CUDA discovery against a test-double libcuda (no GPU here).

use crate::doubles::FakeCuda;
use device::cuda::probe;
use device::{Absence, DType, Device, LibraryCandidate};

fn probe_fake(fake: FakeCuda) -> (tempfile::TempDir, device::BackendReport) {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake.install(dir.path());
    let (report, _runtime) = probe(&[LibraryCandidate::Path(lib)]);
    (dir, report)
}

#[test]
fn ampere_gets_bf16_and_real_memory_figures() {
    let (_dir, report) = probe_fake(FakeCuda::new().capability(8, 6).devices(2));
    assert!(report.is_available(), "{:?}", report.absence);
    assert_eq!(report.driver_version.as_deref(), Some("12.4"));
    let d = &report.devices[1];
    assert_eq!(d.id, Device::Cuda(1));
    assert_eq!(d.name, "Fake GeForce RTX 3090");
    assert_eq!(d.capability.as_deref(), Some("8.6"));
    assert_eq!(d.dtypes, [DType::F32, DType::F16, DType::BF16]);
    assert_eq!(d.best_dtype, DType::BF16);
    assert_eq!(d.memory_total_bytes, Some(25_769_803_776));
    // cuMemGetInfo in the double fails without a current context, so a value here means
    // the primary context was retained and made current first.
    assert_eq!(d.memory_free_bytes, Some(24_696_061_952));
}

#[test]
fn turing_gets_fp16_only() {
    let (_dir, report) = probe_fake(FakeCuda::new().capability(7, 5).name("Fake Tesla T4"));
    let d = &report.devices[0];
    assert_eq!(d.name, "Fake Tesla T4");
    assert_eq!(d.dtypes, [DType::F32, DType::F16]);
    assert_eq!(d.best_dtype, DType::F16);
}

#[test]
fn a_failing_cuinit_is_absent_with_the_driver_text() {
    let (_dir, report) = probe_fake(FakeCuda::new().init_result(100));
    let absence = report.absence.expect("absent");
    assert!(matches!(
        absence,
        Absence::CallFailed {
            call: "cuInit",
            code: 100,
            ..
        }
    ));
    assert!(
        absence
            .to_string()
            .contains("no CUDA-capable device is detected"),
        "{absence}"
    );
}

#[test]
fn a_missing_symbol_is_named() {
    let (_dir, report) = probe_fake(FakeCuda::new().without("cuDeviceTotalMem_v2"));
    assert!(matches!(
        report.absence,
        Some(Absence::MissingSymbol {
            symbol: "cuDeviceTotalMem_v2",
            ..
        })
    ));
}

#[test]
fn no_library_is_absent_not_a_panic() {
    let (report, runtime) = probe(&[LibraryCandidate::LoaderSearch(
        "libcuda-no-such-library.so.1".into(),
    )]);
    assert!(runtime.is_none());
    assert!(matches!(
        report.absence,
        Some(Absence::LibraryNotFound { .. })
    ));
}
