//! scripts/npu/check.sh, the command an operator runs on an Ascend host, run here against
//! the test double (scripts/npu/build-double.sh) so it cannot rot: with the binaries this
//! test run already built (--no-build --bin-dir), the report must have its sections, say
//! "test double", the op suite must pass, and so must the SD comparisons (`sd --device
//! npu` on the double against `sd --device cpu`).

use end_to_end_tests::{workspace_binary, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BINARIES: [&str; 4] = ["sd", "hidream", "doctor", "npu-check-tools"];

/// The folder the workspace's binaries were built into (by `cargo nextest run --workspace`).
fn bin_dir() -> PathBuf {
    for name in BINARIES {
        assert!(
            workspace_binary(name).is_some(),
            "{name} was not built next to the tests: run them with --workspace"
        );
    }
    workspace_binary("sd")
        .and_then(|sd| sd.parent().map(Path::to_path_buf))
        .expect("a folder")
}

/// check.sh with a clean NPU environment: only `ascend_home` points at libraries.
fn check(ascend_home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(workspace_root().join("scripts/npu/check.sh"))
        .args(args)
        .current_dir(workspace_root())
        .env("ASCEND_HOME_PATH", ascend_home);
    for var in [
        "ASCEND_TOOLKIT_HOME",
        "OPS_NPU_LIBRARIES",
        "PREFERRED_DEVICE",
        "PREFERRED_DTYPE",
        "ASCEND_RT_VISIBLE_DEVICES",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("bash runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The body of `## name`, up to the next `## ` heading.
fn section<'a>(report: &'a str, name: &str) -> &'a str {
    let start = report
        .find(&format!("\n## {name}\n"))
        .unwrap_or_else(|| panic!("no section {name} in:\n{report}"));
    let body = &report[start + name.len() + 5..];
    body.find("\n## ").map_or(body, |end| &body[..end])
}

/// The verdict a section states on its `Verdict: **...**` line.
fn verdict(body: &str) -> &str {
    body.lines()
        .find_map(|l| l.strip_prefix("Verdict: **"))
        .and_then(|rest| rest.split("**").next())
        .unwrap_or_else(|| panic!("no verdict line in:\n{body}"))
}

#[test]
fn the_npu_check_passes_its_op_suite_on_the_test_double_and_says_so() {
    let bins = bin_dir();
    let scratch = tempfile::tempdir().expect("tempdir");
    let cann = scratch.path().join("cann");
    let built = Command::new("bash")
        .arg(workspace_root().join("scripts/npu/build-double.sh"))
        .arg(&cann)
        .output()
        .expect("bash runs");
    assert!(built.status.success(), "{}", text(&built));
    let report_file = scratch.path().join("report.md");
    let out = check(
        &cann,
        &[
            "--no-build",
            "--bin-dir",
            bins.to_str().expect("utf-8 path"),
            // HiDream's tiny model still decodes 1024x1024 (its size rule); SD alone keeps
            // this test within seconds. The operator's run does both.
            "--models",
            "sd",
            "--report",
            report_file.to_str().expect("utf-8 path"),
        ],
    );
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&report_file).expect("--report file"),
        report,
        "--report holds what stdout shows"
    );

    assert!(report.starts_with("# NPU check\n"), "{report}");
    assert!(
        report.contains("**Ran against: the test double**"),
        "{report}"
    );
    assert!(!report.contains("real Ascend libraries"), "{report}");
    let headings: Vec<&str> = report.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        headings,
        ["## Environment", "## Build", "## Op suite", "## Models"]
    );
    for row in [
        "| Environment | info |",
        "| Build | skipped |",
        "| Op suite | pass |",
    ] {
        assert!(report.contains(row), "{row} missing:\n{report}");
    }

    let env = section(&report, "Environment");
    for item in [
        "- CANN root: ",
        "- CANN version: 8.0.RC2",
        "- SoC (doctor): npu:0 Ascend910B3",
        "- rustc: ",
        "- Commit: ",
    ] {
        assert!(env.contains(item), "{item} missing:\n{env}");
    }

    assert_eq!(verdict(section(&report, "Build")), "skipped");

    let ops = section(&report, "Op suite");
    assert_eq!(verdict(ops), "pass", "{ops}");
    assert!(ops.contains(" 0 failed"), "{ops}");
    // Every op family ran; the tests that need a variant of the double skip, saying why.
    for family in [
        "attention::",
        "elementwise::",
        "fused::",
        "layout::",
        "linear::",
        "pool::",
    ] {
        assert!(
            ops.lines()
                .any(|l| l.starts_with(&format!("| `{family}")) && l.contains("| pass |")),
            "no passing {family} test:\n{ops}"
        );
    }
    let skipped: Vec<&str> = ops.lines().filter(|l| l.contains("| skipped |")).collect();
    assert!(
        !skipped.is_empty() && skipped.iter().all(|l| l.contains("test-double variant")),
        "{ops}"
    );

    let models = section(&report, "Models");
    let model_verdict = verdict(models);
    assert_eq!(model_verdict, "pass", "{models}");
    for case in [
        "| sd f32 (npu vs cpu) | ",
        "| sd f16 (npu f16 vs cpu f32) | ",
    ] {
        let row = models
            .lines()
            .find(|l| l.starts_with(case))
            .unwrap_or_else(|| panic!("{case} missing:\n{models}"));
        assert!(row.contains("| pass |"), "{row}");
    }
    assert!(models.contains("| hidream | skipped |"), "{models}");
}

#[test]
fn the_npu_check_without_libraries_fails_and_says_what_to_source() {
    if Path::new("/usr/local/Ascend/ascend-toolkit/latest/lib64/libascendcl.so").exists() {
        // The script would find the installed toolkit; this test is about a host without.
        return;
    }
    let bins = bin_dir();
    let empty = tempfile::tempdir().expect("tempdir");
    let out = check(
        empty.path(),
        &[
            "--no-build",
            "--bin-dir",
            bins.to_str().expect("utf-8 path"),
            "--models",
            "sd",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("**Ran against: nothing**"), "{report}");
    assert!(report.contains("set_env.sh"), "{report}");
    assert_eq!(verdict(section(&report, "Op suite")), "fail");
}

#[test]
fn the_npu_check_refuses_bad_arguments_with_exit_2() {
    let empty = tempfile::tempdir().expect("tempdir");
    let cases: [(&[&str], &str); 4] = [
        (&["--no-build"], "--no-build needs --bin-dir"),
        (&["--models", "sd,flux"], "--models sd,flux"),
        (&["--report"], "--report needs a value"),
        (&["--frobnicate"], "unknown argument --frobnicate"),
    ];
    for (args, needle) in cases {
        let out = check(empty.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed a report");
    }
}

/// A bin folder whose `sd` stands in for one with a working NPU path: `--device npu` runs
/// on the CPU, with `npu_seed` in place of the seed. The other binaries are the real ones.
fn stand_in_bins(dir: &Path, npu_seed: u32) -> PathBuf {
    let bins = bin_dir();
    let folder = dir.join("bin");
    std::fs::create_dir_all(&folder).expect("bin folder");
    for name in BINARIES.iter().filter(|&&n| n != "sd") {
        std::os::unix::fs::symlink(bins.join(name), folder.join(name)).expect("symlink");
    }
    let sd = folder.join("sd");
    let script = format!(
        "#!/usr/bin/env bash\n\
         set -euo pipefail\n\
         npu=0; for a in \"$@\"; do [[ $a == npu ]] && npu=1; done\n\
         args=(); prev=\n\
         for a in \"$@\"; do\n\
           [[ $a == npu ]] && a=cpu\n\
           [[ $npu == 1 && $prev == -s ]] && a={npu_seed}\n\
           args+=(\"$a\"); prev=$a\n\
         done\n\
         exec '{}' \"${{args[@]}}\"\n",
        bins.join("sd").display()
    );
    std::fs::write(&sd, script).expect("write sd");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sd, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    folder
}

#[test]
fn model_cases_pass_when_the_npu_run_matches_the_cpu_and_fail_when_not() {
    let scratch = tempfile::tempdir().expect("tempdir");
    // No libraries: the op suite fails, which this test does not look at; the model cases
    // run all the same.
    let no_cann = scratch.path().join("no-cann");
    std::fs::create_dir_all(&no_cann).expect("folder");
    for (seed, want) in [(0, "pass"), (1, "fail")] {
        let dir = scratch.path().join(format!("seed-{seed}"));
        let bins = stand_in_bins(&dir, seed);
        let out = check(
            &no_cann,
            &[
                "--no-build",
                "--bin-dir",
                bins.to_str().expect("utf-8 path"),
                "--models",
                "sd",
            ],
        );
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        let models = section(&report, "Models");
        assert_eq!(verdict(models), want, "{}", text(&out));
        for case in [
            "| sd f32 (npu vs cpu) | ",
            "| sd f16 (npu f16 vs cpu f32) | ",
        ] {
            let row = models
                .lines()
                .find(|l| l.starts_with(case))
                .unwrap_or_else(|| panic!("{case} missing:\n{models}"));
            assert!(row.contains(&format!("| {want} |")), "{row}");
            assert!(
                row.contains("max_abs_diff=") && row.contains("max_pixel_diff="),
                "{row}"
            );
        }
    }
}
