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

/// Files standing where the driver library should be that dlopen refuses (or must not be
/// handed): each is a broken install, reported with its path, not "not found".
fn broken_files(dir: &std::path::Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let make = |name: &str| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        d.join("libcuda.so.1")
    };
    let random = make("random");
    // Fixed bytes rather than a random generator: a test must fail the same way twice.
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let empty = make("empty");
    std::fs::write(&empty, b"").unwrap();
    let directory = make("directory");
    std::fs::create_dir(&directory).unwrap();
    let script = make("script");
    std::fs::write(
        &script,
        "/* GNU ld script */\nGROUP ( /usr/lib/libcuda.so.1 )\n",
    )
    .unwrap();
    let fifo = make("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    vec![
        ("random bytes", random),
        ("empty file", empty),
        ("directory", directory),
        ("linker script", script),
        ("FIFO", fifo),
    ]
}

#[test]
fn a_file_that_will_not_load_is_unloadable_with_its_path_not_absent() {
    let dir = tempfile::tempdir().unwrap();
    for (what, path) in broken_files(dir.path()) {
        let (report, runtime) = probe(&[LibraryCandidate::Path(path.clone())]);
        assert!(runtime.is_none(), "{what}");
        let absence = report.absence.clone().expect(what);
        assert!(
            matches!(
                absence,
                Absence::LibraryUnloadable {
                    library: "libcuda.so.1",
                    ..
                }
            ),
            "{what}: {absence:?}"
        );
        let text = absence.to_string();
        assert!(text.contains(path.to_str().unwrap()), "{what}: {text}");
        assert!(report.attempts[0].found, "{what}");
    }
    // Nothing there at all is still an absence.
    let (report, _) = probe(&[LibraryCandidate::Path(dir.path().join("none/libcuda.so.1"))]);
    assert!(matches!(
        report.absence,
        Some(Absence::LibraryNotFound { .. })
    ));
}

#[test]
fn an_absurd_device_count_is_refused_before_anything_is_sized_from_it() {
    for count in [2_000_000_000, -1] {
        let start = std::time::Instant::now();
        let (_dir, report) = probe_fake(FakeCuda::new().reported_count(count));
        assert!(
            matches!(
                report.absence,
                Some(Absence::ImplausibleCount {
                    call: "cuDeviceGetCount",
                    count: c,
                    ..
                }) if c == i64::from(count)
            ),
            "{count}: {:?}",
            report.absence
        );
        assert!(report.devices.is_empty());
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
    }
    // The bound is not a limit on real hosts.
    let (_dir, report) = probe_fake(FakeCuda::new().devices(8));
    assert_eq!(report.devices.len(), 8, "{:?}", report.absence);
}
