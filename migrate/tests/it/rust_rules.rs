//! Focused tests of the Rust rules (expected output written out by hand) and the end-to-end
//! check that the migrated sample candle app builds and runs on this machine.

use crate::common::*;
use migrate::rust;
use migrate::text::SourceText;
use std::process::Command;

fn migrate_rs(src: &str) -> (String, Vec<&'static str>, Vec<&'static str>) {
    let out = rust::migrate(&SourceText::new(src)).expect("parses");
    let again = rust::migrate(&out.output).expect("output parses");
    assert_eq!(
        again.output.body, out.output.body,
        "second run changed:\n{src}"
    );
    (
        out.output.to_file_text(),
        out.edits.iter().map(|e| e.rule.as_str()).collect(),
        out.diagnostics.iter().map(|d| d.code.as_str()).collect(),
    )
}

#[test]
fn rs001_candle_device_construction_through_the_device_crate() {
    let src = "use candle_core::Device;\nfn f() -> candle_core::Result<Device> {\n    let a = Device::new_cuda(0)?;\n    let _ = candle::Device::cuda_if_available(2)?;\n    Ok(a)\n}\n";
    let (out, rules, _) = migrate_rs(src);
    assert_eq!(
        out,
        "use candle_core::Device;\nfn f() -> candle_core::Result<Device> {\n    let a = ::device::candle::best_candle_device(0)?;\n    let _ = ::device::candle::best_candle_device(2)?;\n    Ok(a)\n}\n"
    );
    assert_eq!(rules, vec!["RS001", "RS001"]);
}

#[test]
fn rs001_follows_aliases_and_leaves_other_device_types_alone() {
    let (out, _, _) =
        migrate_rs("use candle_core::Device as Dev;\nfn f() { let d = Dev::new_cuda(1); }\n");
    assert_eq!(
        out,
        "use candle_core::Device as Dev;\nfn f() { let d = ::device::candle::best_candle_device(1); }\n"
    );
    // A `Device` of the user's own is not candle's.
    let own = "struct Device;\nimpl Device { fn new_cuda(_: usize) -> Self { Device } }\nfn f() { let d = Device::new_cuda(0); }\n";
    assert_eq!(migrate_rs(own).0, own);
}

#[test]
fn rs002_tch_devices() {
    let src = "use tch::Device;\nfn f() { let a = Device::Cuda(1); let b = tch::Device::cuda_if_available(); let c = Device::Cpu; }\n";
    let (out, rules, _) = migrate_rs(src);
    let expect = "::device::framework::cuda_ordinal(1).expect(\"PREFERRED_DEVICE names a device this program cannot use\").map_or(tch::Device::Cpu, tch::Device::Cuda)";
    let expect0 = expect.replace("cuda_ordinal(1)", "cuda_ordinal(0)");
    assert_eq!(
        out,
        format!(
            "use tch::Device;\nfn f() {{ let a = {expect}; let b = {expect0}; let c = Device::Cpu; }}\n"
        )
    );
    assert_eq!(rules, vec!["RS002", "RS002"]);
}

#[test]
fn rs003_pinned_selection_and_diagnostics() {
    let src = "fn f(m: &device::DeviceManager) { let s = m.select(Some(\"cuda:0\")); let d: Result<device::Device, _> = \"cuda:1\".parse(); }\n";
    let (out, rules, diags) = migrate_rs(src);
    assert_eq!(
        out,
        "fn f(m: &device::DeviceManager) { let s = m.select(None); let d: Result<device::Device, _> = \"cuda:1\".parse(); }\n"
    );
    assert_eq!(rules, vec!["RS003"]);
    assert_eq!(diags, vec!["RS104"]);
}

#[test]
fn rust_diagnostics_and_untouched_comments_strings_and_macros() {
    let src = "use candle_core::Device;\nuse cudarc::driver::CudaDevice;\n// Device::new_cuda(0) in a comment\nfn f(d: &Device) {\n    match d { Device::Cuda(_) => {}, _ => {} }\n    if d.is_cuda() {}\n    println!(\"{:?}\", Device::new_cuda(0));\n    let log = \"moving to cuda:0\";\n    let s = \"cuda\";\n}\n";
    let (out, rules, diags) = migrate_rs(src);
    assert_eq!(out, src, "nothing here is rewritten");
    assert!(rules.is_empty());
    assert_eq!(diags, vec!["RS103", "RS101", "RS102", "RS105", "RS106"]);
}

#[test]
fn a_rust_syntax_error_is_reported_not_rewritten() {
    let err = rust::migrate(&SourceText::new("fn f( {")).unwrap_err();
    assert!(err.to_string().starts_with("syntax error at 1:"), "{err}");
}

#[test]
fn sample_candle_app_patch_matches_the_reviewed_snapshot() {
    let app = repo_root().join("examples/candle-app");
    let out = run(&["--device-crate", "../../device", "."], &app);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_snapshot("candle-app.patch", &stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("RS101") && err.contains("RS102") && err.contains("CG101"),
        "{err}"
    );
}

#[test]
fn without_the_device_crate_rust_rewrites_are_withdrawn() {
    // No Cargo.toml above a loose file: nothing to add the dependency to.
    let loose = tempfile::tempdir().unwrap();
    write(
        &loose.path().join("main.rs"),
        "use candle_core::Device;\nfn main() { let _ = Device::new_cuda(0); }\n",
    );
    let out = run(&["."], loose.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "", "no patch for code that would not compile");
    assert!(stderr(&out).contains("error[CG103]"), "{}", stderr(&out));
}

#[test]
fn migrated_sample_candle_app_builds_and_runs_on_the_cpu() {
    if !have("cargo") {
        eprintln!("cargo is not on PATH; skipping the build of the migrated sample");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("candle-app");
    copy_tree(&repo_root().join("examples/candle-app"), &app);
    let device_crate = repo_root().join("device");
    let out = run(
        &[
            "--apply",
            "--device-crate",
            device_crate.to_str().unwrap(),
            ".",
        ],
        &app,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let main = std::fs::read_to_string(app.join("src/main.rs")).unwrap();
    assert!(main.contains("::device::candle::best_candle_device(0)?"));
    // Same versions as the toolkit, so nothing new is downloaded.
    std::fs::copy(repo_root().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    let build = Command::new("cargo")
        .args(["run", "--quiet"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", repo_root().join("target"))
        .env("PREFERRED_DEVICE", "cpu")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "migrated sample did not build or run:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let printed = String::from_utf8_lossy(&build.stdout);
    assert!(printed.contains("running on the CPU"), "{printed}");
    assert!(printed.contains("denoised norm:"), "{printed}");

    // Asking this candle program for an NPU is an error that says why, not a CPU fallback.
    let npu = Command::new("cargo")
        .args(["run", "--quiet"])
        .current_dir(&app)
        .env("CARGO_TARGET_DIR", repo_root().join("target"))
        .env("PREFERRED_DEVICE", "npu")
        .output()
        .unwrap();
    assert!(!npu.status.success());
    assert!(
        String::from_utf8_lossy(&npu.stderr).contains("no Ascend NPU backend"),
        "{}",
        String::from_utf8_lossy(&npu.stderr)
    );
}
