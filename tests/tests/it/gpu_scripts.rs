//! The CUDA scripts' own checks, which need no GPU, network or CUDA: scripts/gpu/check.sh
//! (prepared for a lent GPU machine) refuses bad arguments and prints its plan on
//! --dry-run; scripts/cuda/toolchain.sh refuses bad arguments before installing anything.

use end_to_end_tests::{workspace_binary, workspace_root};
use std::path::Path;
use std::process::{Command, Output};

fn script(path: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(workspace_root().join(path))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("bash runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The folder the workspace's binaries were built into, with the three check.sh runs.
fn bin_dir() -> String {
    let sd = workspace_binary("sd").expect("sd was built next to the tests");
    for other in ["sd-bench", "hidream-edit"] {
        assert!(workspace_binary(other).is_some(), "{other} was not built");
    }
    sd.parent()
        .map(Path::display)
        .expect("a folder")
        .to_string()
}

#[test]
fn the_gpu_check_dry_run_lists_every_step_and_writes_nothing() {
    let bins = bin_dir();
    let scratch = tempfile::tempdir().expect("tempdir");
    let out_dir = scratch.path().join("report");
    let out_arg = out_dir.display().to_string();
    let out = script(
        "scripts/gpu/check.sh",
        &["--bin-dir", &bins, "--out", &out_arg, "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan = text(&out);
    for step in [
        "ddim",
        "euler-a",
        "dpm++2m",
        "hidream-edit",
        "sd-bench",
        "--size 512 and 768",
    ] {
        assert!(plan.contains(step), "the plan lacks {step}: {plan}");
    }
    assert!(!out_dir.exists(), "a dry run created {out_arg}");
    let cpu = script(
        "scripts/gpu/check.sh",
        &["--bin-dir", &bins, "--device", "cpu", "--dry-run"],
    );
    assert_eq!(cpu.status.code(), Some(0), "{}", text(&cpu));
    assert!(
        !text(&cpu).contains("sd-bench"),
        "a CPU rehearsal benchmarks nothing"
    );
}

#[test]
fn the_gpu_check_refuses_bad_arguments_with_exit_2() {
    let bins = bin_dir();
    let empty = tempfile::tempdir().expect("tempdir");
    let empty_dir = empty.path().display().to_string();
    let cases: [(&[&str], &str); 6] = [
        (&["--dry-run"], "--bin-dir is required"),
        (
            &["--bin-dir", &empty_dir, "--dry-run"],
            "missing or not executable",
        ),
        (
            &["--bin-dir", &bins, "--device", "gpu:0"],
            "expected cuda, cuda:N or cpu",
        ),
        (&["--bin-dir", &bins, "--budget", "soon"], "whole seconds"),
        (
            &["--bin-dir", &bins, "--sd-model", &empty_dir],
            "model_index.json",
        ),
        (&["--bin-dir", &bins, "--frobnicate"], "unknown argument"),
    ];
    for (args, says) in cases {
        let out = script("scripts/gpu/check.sh", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
}

#[test]
fn the_toolchain_script_refuses_before_installing_anything() {
    let out = script("scripts/cuda/toolchain.sh", &["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(out.stdout.is_empty(), "stdout is for export lines only");
    let inside = workspace_root().join("target").join("cuda-venv-test");
    let out = script(
        "scripts/cuda/toolchain.sh",
        &[&inside.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("inside the repository"),
        "{}",
        text(&out)
    );
    assert!(!inside.exists(), "the refused folder was created");
    let out = Command::new("bash")
        .arg(workspace_root().join("scripts/cuda/toolchain.sh"))
        .env("CUDA_COMPUTE_CAP", "sm_90")
        .output()
        .expect("bash runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("CUDA_COMPUTE_CAP"), "{}", text(&out));
}
