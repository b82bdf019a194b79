//! Discovery through a probe process: the report's round trip through a child's stdout,
//! and every way a child can fail turned into a report that says so.

use crate::doubles::{FakeAcl, FakeCuda};
use device::probe::{self, MARKER, STAGE, read_report, report_line, run_probe};
use device::{Absence, BackendReport, DeviceKind, Discovery, DiscoveryConfig};
use std::process::Command;
use std::time::{Duration, Instant};

fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", script]);
    c
}

/// A command printing `report` the way a probe child does, amid vendor noise.
fn printing(report: &BackendReport) -> Command {
    let line = report_line(report);
    let mut c = sh("echo 'vendor log line'; printf '%s\\n' \"$1\"; echo 'vendor exit log'");
    c.args(["sh", &line]);
    c
}

fn reason(report: &BackendReport) -> String {
    match &report.absence {
        Some(Absence::ProbeFailed { reason, .. }) => reason.clone(),
        other => panic!("expected a failed probe, got {other:?}"),
    }
}

#[test]
fn reports_of_every_kind_survive_the_trip_through_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let cuda = |name: &str, fake: FakeCuda| fake.install(&dir.path().join(name));
    let npu = |name: &str, fake: FakeAcl| fake.install(&dir.path().join(name));
    let configs = [
        DiscoveryConfig::cpu_only()
            .with_npu_library(npu("npu", FakeAcl::new().devices(2)))
            .with_cuda_library(cuda("cuda", FakeCuda::new().capability(7, 5))),
        DiscoveryConfig::cpu_only()
            .with_npu_library(npu("npu-sym", FakeAcl::new().without("aclrtGetMemInfo")))
            .with_cuda_library(cuda("cuda-init", FakeCuda::new().init_result(100))),
        DiscoveryConfig::cpu_only()
            .with_npu_library(npu(
                "npu-opt",
                FakeAcl::new().without("aclGetCannAttribute"),
            ))
            .with_cuda_library(cuda("cuda-count", FakeCuda::new().reported_count(-5))),
        DiscoveryConfig::cpu_only()
            .with_npu_library(dir.path().join("missing/libascendcl.so"))
            .with_cuda_library(dir.path()),
        DiscoveryConfig::cpu_only(),
    ];
    for config in configs {
        let discovery = Discovery::run(&config);
        for (kind, report) in [
            (DeviceKind::Npu, &discovery.npu),
            (DeviceKind::Cuda, &discovery.cuda),
        ] {
            let back = read_report(report_line(report).as_bytes(), kind);
            assert_eq!(back.as_ref(), Ok(report));
            let through_a_child = run_probe(printing(report), kind, Duration::from_secs(20));
            assert_eq!(&through_a_child, report);
        }
    }
}

#[test]
fn unreadable_answers_are_refused() {
    let kind = DeviceKind::Cuda;
    assert!(
        read_report(b"nothing to see", kind)
            .unwrap_err()
            .contains("no report")
    );
    let garbage = format!("{MARKER}{{\"kind\": \"cuda\"");
    assert!(
        read_report(garbage.as_bytes(), kind)
            .unwrap_err()
            .contains("cannot be read")
    );
    // A name this crate never produces cannot pass for one of its static names.
    let mut report = BackendReport::new(kind);
    report.missing_optional = vec!["cuMemGetInfo_v2"];
    let forged = report_line(&report).replace("cuMemGetInfo_v2", "cuSomethingElse");
    let error = read_report(forged.as_bytes(), kind).unwrap_err();
    assert!(error.contains("cuSomethingElse"), "{error}");
    let npu = report_line(&BackendReport::new(DeviceKind::Npu));
    assert!(
        read_report(npu.as_bytes(), kind)
            .unwrap_err()
            .contains("instead of cuda")
    );
}

#[test]
fn a_crashing_child_is_a_failed_probe_naming_the_signal_and_the_step() {
    let limit = Duration::from_secs(20);
    let script = format!("echo '{STAGE}dlopen /opt/libcuda.so.1' >&2; kill -BUS $$");
    let report = run_probe(sh(&script), DeviceKind::Cuda, limit);
    let why = reason(&report);
    assert!(why.contains("crashed with SIGBUS"), "{why}");
    assert!(why.contains("during dlopen /opt/libcuda.so.1"), "{why}");
    assert!(matches!(
        report.absence,
        Some(Absence::ProbeFailed {
            library: "libcuda.so.1",
            ..
        })
    ));

    let report = run_probe(sh("kill -SEGV $$"), DeviceKind::Npu, limit);
    assert!(reason(&report).contains("SIGSEGV"), "{report:?}");
    let report = run_probe(sh("kill -ABRT $$"), DeviceKind::Npu, limit);
    assert!(reason(&report).contains("SIGABRT"), "{report:?}");

    let report = run_probe(
        sh("echo 'memory allocation of 99 bytes failed' >&2; exit 101"),
        DeviceKind::Cuda,
        limit,
    );
    let why = reason(&report);
    assert!(why.contains("exited with status 101"), "{why}");
    assert!(
        why.contains("memory allocation of 99 bytes failed"),
        "{why}"
    );

    let report = run_probe(sh("echo '{}'"), DeviceKind::Cuda, limit);
    assert!(reason(&report).contains("printed no report"), "{report:?}");
}

#[test]
fn a_hanging_child_is_killed_at_the_deadline() {
    let start = Instant::now();
    let report = run_probe(
        sh(&format!("echo '{STAGE}cuInit' >&2; exec sleep 60")),
        DeviceKind::Cuda,
        Duration::from_millis(500),
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let why = reason(&report);
    assert!(why.contains("timed out after 0.5 s"), "{why}");
    assert!(why.contains("during cuInit"), "{why}");
}

#[test]
fn one_backend_failing_does_not_lose_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let lib = FakeAcl::new().install(dir.path());
    let healthy = Discovery::run(&DiscoveryConfig::cpu_only().with_npu_library(lib)).npu;
    let discovery = probe::isolated_discovery(
        |kind| match kind {
            DeviceKind::Npu => printing(&healthy),
            _ => sh("kill -SEGV $$"),
        },
        Duration::from_secs(20),
    );
    assert_eq!(discovery.npu, healthy);
    assert!(reason(&discovery.cuda).contains("SIGSEGV"));
    assert_eq!(discovery.devices().len(), 2, "one NPU and the CPU");
}
