//! Device-level doctor checks over test-double runtimes, a map environment and a
//! temporary /dev.

use crate::doubles::{FakeAcl, FakeCuda, write_cann_version};
use device::doctor::{Check, DoctorInput, Report, Status, device_checks};
use device::{Discovery, DiscoveryConfig, MapEnv};
use std::path::Path;

struct Host {
    dir: tempfile::TempDir,
    config: DiscoveryConfig,
    env: MapEnv,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        Self {
            dir,
            config: DiscoveryConfig::cpu_only(),
            env: MapEnv::new(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// An Ascend host as set_env.sh leaves it: toolkit, opp folder, device nodes.
    fn ascend(mut self, fake: FakeAcl, nodes: u32) -> Self {
        let toolkit = self.root().join("toolkit");
        let lib = fake.install(&toolkit);
        write_cann_version(&toolkit, "8.0.RC3");
        std::fs::create_dir_all(toolkit.join("opp")).unwrap();
        for i in 0..nodes {
            std::fs::write(self.root().join(format!("dev/davinci{i}")), "").unwrap();
        }
        std::fs::write(self.root().join("dev/davinci_manager"), "").unwrap();
        self.config = self.config.with_npu_library(lib);
        self.env.set("ASCEND_HOME_PATH", toolkit.to_str().unwrap());
        self.env
            .set("ASCEND_OPP_PATH", toolkit.join("opp").to_str().unwrap());
        self
    }

    fn cuda(mut self, fake: FakeCuda) -> Self {
        let lib = fake.install(&self.root().join("cuda"));
        self.config = self.config.with_cuda_library(lib);
        self
    }

    fn var(mut self, name: &str, value: &str) -> Self {
        self.env.set(name, value);
        self
    }

    fn run(&self, device_flag: Option<&str>) -> Report {
        let discovery = Discovery::run(&self.config);
        let mut input = DoctorInput::new(&discovery, &self.env);
        input.dev_dir = self.root().join("dev");
        input.device_flag = device_flag.map(str::to_string);
        device_checks(&input)
    }
}

fn check<'a>(report: &'a Report, id: &str) -> &'a Check {
    report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {:#?}", report.checks))
}

fn every_non_pass_has_a_fix(report: &Report) {
    for c in &report.checks {
        let needs_fix = matches!(c.status, Status::Warn | Status::Fail);
        assert_eq!(c.fix.is_some(), needs_fix, "{c:?}");
    }
}

#[test]
fn a_healthy_910b_host_passes_everything() {
    let host = Host::new().ascend(FakeAcl::new().devices(2), 2);
    let report = host.run(None);
    every_non_pass_has_a_fix(&report);
    let failing: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass && c.status != Status::Skip)
        .collect();
    // The only acceptable non-pass is the driver version, unknown without
    // /etc/ascend_install.info in this temporary host.
    assert!(
        failing.iter().all(|c| c.id == "npu.versions"),
        "{failing:#?}"
    );
    assert!(
        check(&report, "npu.device_nodes")
            .detail
            .contains("davinci1")
    );
    assert!(
        check(&report, "npu.versions")
            .detail
            .contains("CANN 8.0.RC3")
    );
    assert_eq!(check(&report, "npu.bf16").status, Status::Pass);
    let selected = report.selected.unwrap();
    assert_eq!(selected.device.to_string(), "npu:0");
    assert_eq!(selected.dtype.to_string(), "bf16");
    assert_eq!(check(&report, "cuda.driver").status, Status::Skip);
}

#[test]
fn a_310p_host_warns_about_bf16_with_the_dtype_fix() {
    let host = Host::new().ascend(FakeAcl::new().soc("Ascend310P3").bf16_attribute(0), 1);
    let report = host.run(None);
    let bf16 = check(&report, "npu.bf16");
    assert_eq!(bf16.status, Status::Warn);
    assert!(bf16.fix.as_deref().unwrap().contains("PREFERRED_DTYPE=f16"));
    assert_eq!(report.selected.unwrap().dtype.to_string(), "f16");
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn a_failing_aclinit_fails_with_the_runtime_text() {
    let host = Host::new().ascend(
        FakeAcl::new()
            .init_result(507033)
            .error_message("EE9999: device open failed"),
        1,
    );
    let report = host.run(None);
    let runtime = check(&report, "npu.runtime");
    assert_eq!(runtime.status, Status::Fail);
    assert!(runtime.detail.contains("EE9999"), "{}", runtime.detail);
    // The CPU is what is left, and doctor says that is not a real choice.
    assert_eq!(check(&report, "device.selection").status, Status::Warn);
    assert_eq!(report.exit_code(), 2);
    every_non_pass_has_a_fix(&report);
}

#[test]
fn device_nodes_without_a_library_point_to_set_env() {
    let host = Host::new();
    std::fs::write(host.root().join("dev/davinci0"), "").unwrap();
    let config = DiscoveryConfig::from_env(&MapEnv::new().with(
        "ASCEND_HOME_PATH",
        host.root().join("missing").to_str().unwrap(),
    ));
    let host = Host { config, ..host };
    let report = host.run(None);
    let library = check(&report, "npu.library");
    // A machine that really has CANN installed in the default place would find it.
    if library.status == Status::Fail {
        assert!(library.fix.as_deref().unwrap().contains("set_env.sh"));
    }
    assert_eq!(check(&report, "env.ascend_home").status, Status::Warn);
    assert!(
        check(&report, "env.ascend_home")
            .fix
            .as_deref()
            .unwrap()
            .contains("source /usr/local/Ascend/ascend-toolkit/set_env.sh")
    );
}

#[test]
fn a_missing_symbol_fails_the_symbols_check() {
    let host = Host::new().ascend(FakeAcl::new().without("aclrtGetMemInfo"), 1);
    let report = host.run(None);
    let symbols = check(&report, "npu.symbols");
    assert_eq!(symbols.status, Status::Fail);
    assert!(symbols.detail.contains("aclrtGetMemInfo"));
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn cuda_capability_verdicts() {
    let report = Host::new().cuda(FakeCuda::new().capability(8, 6)).run(None);
    assert_eq!(check(&report, "cuda.capability").status, Status::Pass);
    assert_eq!(report.selected.unwrap().device.to_string(), "cuda:0");
    assert_eq!(report.exit_code(), 0, "{:#?}", report.checks);

    let report = Host::new().cuda(FakeCuda::new().capability(7, 5)).run(None);
    let cap = check(&report, "cuda.capability");
    assert_eq!(cap.status, Status::Warn);
    assert!(cap.fix.as_deref().unwrap().contains("PREFERRED_DTYPE=f16"));

    // CUDA_ERROR_NO_DEVICE: a driver without a GPU is worth a warning, not a failure.
    let report = Host::new().cuda(FakeCuda::new().init_result(100)).run(None);
    assert_eq!(check(&report, "cuda.driver").status, Status::Warn);
    assert_eq!(report.exit_code(), 1);
    // CUDA_ERROR_INVALID_VALUE (1) and friends: the driver itself is broken.
    let report = Host::new().cuda(FakeCuda::new().init_result(1)).run(None);
    assert_eq!(check(&report, "cuda.driver").status, Status::Fail);
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn environment_lints_and_bad_overrides() {
    let host = Host::new()
        .var("ASCEND_RT_VISIBLE_DEVICES", "2,1")
        .var("PREFERRED_DTYPE", "fp8");
    let report = host.run(None);
    assert_eq!(check(&report, "env.visible_devices").status, Status::Warn);
    assert_eq!(check(&report, "env.preferences").status, Status::Fail);
    assert_eq!(report.exit_code(), 2);

    let report = Host::new().run(Some("npu:1"));
    let selection = check(&report, "device.selection");
    assert_eq!(selection.status, Status::Fail);
    assert!(selection.detail.contains("npu:1"));
    assert!(report.selected.is_none());
    assert!(report.to_json()["selected"].is_null());
}

#[test]
fn a_cpu_only_host_is_clean() {
    let report = Host::new().run(None);
    every_non_pass_has_a_fix(&report);
    assert_eq!(report.selected.unwrap().device.to_string(), "cpu");
    for id in [
        "npu.device_nodes",
        "npu.library",
        "cuda.driver",
        "env.ascend_home",
    ] {
        assert_eq!(check(&report, id).status, Status::Skip, "{id}");
    }
}
