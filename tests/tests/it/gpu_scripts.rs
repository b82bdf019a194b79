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

/// A safetensors file holding one F32 tensor, written by hand: the tests crate has no
/// tensor library, and the comparison script reads the format with the standard library.
fn f32_safetensors(path: &Path, name: &str, values: &[f32]) {
    let header = format!(
        r#"{{"{name}":{{"dtype":"F32","shape":[{}],"data_offsets":[0,{}]}}}}"#,
        values.len(),
        4 * values.len()
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).expect("write safetensors");
}

#[test]
fn the_gpu_check_comparison_holds_latents_to_the_parity_bound() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 is not available; skipping the comparison script's check");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = dir.path().join("cpu.safetensors");
    // The largest |value| is 100, so the bound is max(1e-4, 5e-6 * 100) = 5e-4.
    f32_safetensors(&reference, "latents", &[100.0, -1.0, 0.5]);
    let compare = |values: &[f32], key: &str| {
        let run = dir.path().join("gpu.safetensors");
        f32_safetensors(&run, "latents", values);
        let out = Command::new("python3")
            .arg(workspace_root().join("scripts/gpu/compare.py"))
            .args(["latents", &run.display().to_string()])
            .args([&reference.display().to_string(), key])
            .output()
            .expect("python3 runs");
        (out.status.code(), text(&out))
    };
    let (code, said) = compare(&[100.0004, -1.0, 0.5], "latents");
    assert_eq!(code, Some(0), "{said}");
    let (code, said) = compare(&[100.0, -1.0006, 0.5], "latents");
    assert_eq!(code, Some(1), "{said}");
    let (code, said) = compare(&[100.0, f32::NAN, 0.5], "latents");
    assert_eq!(code, Some(1), "a NaN never passes: {said}");
    let (code, said) = compare(&[100.0, -1.0, 0.5], "txt2img.latents");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("no tensor 'txt2img.latents'"), "{said}");
}
