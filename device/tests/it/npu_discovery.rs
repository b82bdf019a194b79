//! NPU discovery against test-double ACL libraries (no Ascend hardware here).

use crate::doubles::{FakeAcl, write_cann_version};
use device::npu::{NpuConfig, probe};
use device::{Absence, DType, Device, DiscoveryConfig, LibraryCandidate, MapEnv};

const GIB: u64 = 1 << 30;

fn probe_fake(fake: FakeAcl) -> (tempfile::TempDir, device::BackendReport) {
    let dir = tempfile::tempdir().unwrap();
    let lib = fake.install(dir.path());
    let (report, _runtime) = probe(&NpuConfig::with_library(lib));
    (dir, report)
}

#[test]
fn two_910b3_devices_with_bf16_from_the_runtime() {
    let (_dir, report) = probe_fake(
        FakeAcl::new()
            .soc("Ascend910B3")
            .devices(2)
            .memory(64 * GIB, 60 * GIB),
    );
    assert!(report.is_available(), "{:?}", report.absence);
    assert_eq!(report.device_count, Some(2));
    let ids: Vec<Device> = report.devices.iter().map(|d| d.id).collect();
    assert_eq!(ids, [Device::Npu(0), Device::Npu(1)]);
    let d1 = &report.devices[1];
    assert_eq!(d1.name, "Ascend910B3");
    assert_eq!(d1.memory_total_bytes, Some(64 * GIB));
    // The double reports 1 GiB less free memory per device index, proving each device
    // was queried after its own aclrtSetDevice.
    assert_eq!(d1.memory_free_bytes, Some(59 * GIB));
    assert_eq!(d1.dtypes, [DType::F32, DType::F16, DType::BF16]);
    assert_eq!(d1.best_dtype, DType::BF16);
    assert!(d1.dtype_source.contains("aclGetCannAttribute"));
}

#[test]
fn socs_without_bf16_get_fp16() {
    for soc in ["Ascend310P3", "Ascend910A"] {
        let (_dir, report) = probe_fake(FakeAcl::new().soc(soc).bf16_attribute(0));
        let d = &report.devices[0];
        assert_eq!(d.name, soc);
        assert_eq!(d.dtypes, [DType::F32, DType::F16], "{soc}");
        assert_eq!(d.best_dtype, DType::F16, "{soc}");
    }
}

#[test]
fn the_runtime_attribute_wins_over_the_soc_table() {
    // A 910B3 whose runtime says no bf16 (e.g. an old CANN) must not be offered bf16.
    let (_dir, report) = probe_fake(FakeAcl::new().soc("Ascend910B3").bf16_attribute(0));
    assert_eq!(report.devices[0].best_dtype, DType::F16);
}

#[test]
fn without_aclgetcannattribute_the_soc_rule_decides() {
    let (_dir, report) = probe_fake(
        FakeAcl::new()
            .soc("Ascend910B3")
            .without("aclGetCannAttribute"),
    );
    assert!(report.missing_optional.contains(&"aclGetCannAttribute"));
    let d = &report.devices[0];
    assert_eq!(d.best_dtype, DType::BF16);
    assert!(d.dtype_source.contains("SoC table"));
    let (_dir, report) = probe_fake(
        FakeAcl::new()
            .soc("Ascend910A")
            .without("aclGetCannAttribute"),
    );
    assert_eq!(report.devices[0].best_dtype, DType::F16);
}

#[test]
fn a_missing_required_symbol_makes_the_npu_absent_and_names_it() {
    let (_dir, report) = probe_fake(FakeAcl::new().without("aclrtGetDeviceCount"));
    assert!(!report.is_available());
    match &report.absence {
        Some(Absence::MissingSymbol { symbol, library }) => {
            assert_eq!(*symbol, "aclrtGetDeviceCount");
            assert!(library.ends_with("lib64/libascendcl.so"));
        }
        other => panic!("expected a missing symbol, got {other:?}"),
    }
    assert!(
        report
            .absence
            .unwrap()
            .to_string()
            .contains("aclrtGetDeviceCount")
    );
}

#[test]
fn a_failing_aclinit_reports_the_runtime_error_text() {
    let (_dir, report) = probe_fake(
        FakeAcl::new()
            .init_result(500002)
            .error_message("EE8888: driver not loaded"),
    );
    assert!(report.devices.is_empty());
    let absence = report.absence.expect("absent");
    match &absence {
        Absence::CallFailed { call, code, .. } => {
            assert_eq!(*call, "aclInit");
            assert_eq!(*code, 500002);
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
    let text = absence.to_string();
    assert!(text.contains("EE8888: driver not loaded"), "{text}");
}

#[test]
fn already_initialised_is_fine() {
    let (_dir, report) = probe_fake(FakeAcl::new().init_result(100002));
    assert!(report.is_available(), "{:?}", report.absence);
    assert!(report.already_initialised);
}

#[test]
fn a_failing_memory_query_keeps_the_device_and_says_why() {
    let (_dir, report) = probe_fake(
        FakeAcl::new()
            .mem_info_fails(507899)
            .error_message("EE1234: no memory info"),
    );
    assert!(report.is_available());
    assert_eq!(report.devices[0].memory_total_bytes, None);
    assert!(
        report.device_errors[0].contains("aclrtGetMemInfo returned 507899: EE1234"),
        "{:?}",
        report.device_errors
    );
}

#[test]
fn zero_devices_is_absent_with_a_hint() {
    let (_dir, report) = probe_fake(FakeAcl::new().devices(0));
    assert_eq!(report.device_count, Some(0));
    let text = report.absence.expect("absent").to_string();
    assert!(
        text.contains("no devices") && text.contains("/dev/davinci"),
        "{text}"
    );
}

#[test]
fn a_missing_library_lists_every_path_tried() {
    let dir = tempfile::tempdir().unwrap();
    let config = NpuConfig {
        candidates: vec![
            LibraryCandidate::Path(dir.path().join("a/lib64/libascendcl.so")),
            LibraryCandidate::LoaderSearch("libascendcl-no-such-lib.so".into()),
        ],
        roots: vec![],
        install_info: dir.path().join("ascend_install.info"),
    };
    let (report, runtime) = probe(&config);
    assert!(runtime.is_none());
    assert_eq!(report.attempts.len(), 2);
    let text = report.absence.unwrap().to_string();
    assert!(
        text.contains("a/lib64/libascendcl.so: no such file"),
        "{text}"
    );
    assert!(
        text.contains("libascendcl-no-such-lib.so (loader search path)"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_a_library_is_skipped_for_the_next_candidate() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus/lib64/libascendcl.so");
    std::fs::create_dir_all(bogus.parent().unwrap()).unwrap();
    std::fs::write(&bogus, b"not an ELF file").unwrap();
    let good = FakeAcl::new().install(&dir.path().join("good"));
    let mut config = NpuConfig::with_library(&bogus);
    config.candidates.push(LibraryCandidate::Path(good.clone()));
    let (report, _) = probe(&config);
    assert!(report.is_available());
    assert!(report.attempts[0].error.is_some());
    assert_eq!(report.library.as_deref(), Some(good.to_str().unwrap()));
}

#[test]
fn versions_come_from_the_toolkit_and_driver_info_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ascend-toolkit/latest");
    let lib = FakeAcl::new().install(&root);
    write_cann_version(&root, "8.0.RC3");
    let driver = dir.path().join("driver-root");
    std::fs::create_dir_all(driver.join("driver")).unwrap();
    std::fs::write(driver.join("driver/version.info"), "Version=24.1.rc2\n").unwrap();
    let install_info = dir.path().join("ascend_install.info");
    std::fs::write(
        &install_info,
        format!("Driver_Install_Path_Param={}\n", driver.display()),
    )
    .unwrap();
    let mut config = NpuConfig::with_library(lib);
    config.install_info = install_info;
    let (report, _) = probe(&config);
    assert_eq!(report.runtime_version.as_deref(), Some("8.0.RC3"));
    assert_eq!(report.driver_version.as_deref(), Some("24.1.rc2"));
    assert_eq!(
        report.devices[0].runtime_version.as_deref(),
        Some("8.0.RC3")
    );
}

#[test]
fn the_search_order_starts_at_ascend_home_path_then_toolkit_home() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let toolkit = dir.path().join("toolkit");
    FakeAcl::new().soc("Ascend310P3").install(&toolkit);
    // ASCEND_HOME_PATH without a library: discovery moves on to ASCEND_TOOLKIT_HOME.
    let env = MapEnv::new()
        .with("ASCEND_HOME_PATH", home.to_str().unwrap())
        .with("ASCEND_TOOLKIT_HOME", toolkit.to_str().unwrap());
    let config = DiscoveryConfig::from_env(&env);
    let npu = config.npu.as_ref().unwrap();
    assert_eq!(
        npu.candidates[..3],
        [
            LibraryCandidate::Path(home.join("lib64/libascendcl.so")),
            LibraryCandidate::Path(toolkit.join("lib64/libascendcl.so")),
            LibraryCandidate::LoaderSearch("libascendcl.so".into()),
        ]
    );
    assert_eq!(
        npu.candidates[3],
        LibraryCandidate::Path(
            "/usr/local/Ascend/ascend-toolkit/latest/lib64/libascendcl.so".into()
        )
    );
    let (report, _) = probe(npu);
    assert_eq!(report.devices[0].name, "Ascend310P3");
    assert!(report.attempts[0].error.as_deref() == Some("no such file"));
}

#[test]
fn memory_is_queried_again_through_the_kept_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let lib = FakeAcl::new()
        .devices(2)
        .memory(32 * GIB, 30 * GIB)
        .install(dir.path());
    let discovery = device::Discovery::run(&DiscoveryConfig::cpu_only().with_npu_library(lib));
    assert_eq!(discovery.memory(Device::Npu(1)), Some((29 * GIB, 32 * GIB)));
    assert_eq!(discovery.memory(Device::Npu(5)), None);
    assert_eq!(discovery.memory(Device::Cuda(0)), None);
}

#[test]
fn a_broken_library_at_the_toolkit_path_is_unloadable_not_absent() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib64/libascendcl.so");
    std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
    std::fs::write(&lib, b"\x7fELF but nothing after the magic").unwrap();
    let (report, runtime) = probe(&NpuConfig::with_library(&lib));
    assert!(runtime.is_none());
    let absence = report.absence.expect("absent");
    assert!(
        matches!(
            absence,
            Absence::LibraryUnloadable {
                library: "libascendcl.so",
                ..
            }
        ),
        "{absence:?}"
    );
    assert!(
        absence.to_string().contains(lib.to_str().unwrap()),
        "{absence}"
    );
}

#[test]
fn an_absurd_device_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lib = FakeAcl::new().devices(2_000_000_000).install(dir.path());
    let (report, runtime) = probe(&NpuConfig::with_library(lib));
    assert!(runtime.is_none());
    assert!(
        matches!(
            report.absence,
            Some(Absence::ImplausibleCount {
                call: "aclrtGetDeviceCount",
                count: 2_000_000_000,
                ..
            })
        ),
        "{:?}",
        report.absence
    );
}
