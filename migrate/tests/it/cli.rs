//! End-to-end tests of the `migrate` binary: the sample project's patch and report, applying
//! them, exit codes, and bad input.

use crate::common::*;
use std::path::Path;
use std::process::Command;

/// A copy of the sample in a temp dir, so tests can apply patches to it.
fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&sample(), dir.path());
    dir
}

fn normalise_report(json: &str, root: &Path) -> String {
    let mut value: serde_json::Value = serde_json::from_str(json).expect("report is JSON");
    value["root"] = serde_json::Value::String("<root>".into());
    value["totals"]["duration_ms"] = 0.into();
    let text = serde_json::to_string_pretty(&value).expect("serialise") + "\n";
    text.replace(&root.display().to_string(), "<root>")
}

#[test]
fn sample_patch_matches_the_reviewed_snapshot() {
    let out = run(&["."], &sample());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_snapshot("cuda-project.patch", &stdout(&out));
}

#[test]
fn sample_report_matches_the_reviewed_snapshot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.json");
    let out = run(&["--report", report.to_str().unwrap(), "."], &sample());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = std::fs::read_to_string(&report).expect("report written");
    let canonical = sample().canonicalize().expect("sample path");
    assert_snapshot(
        "cuda-project.report.json",
        &normalise_report(&json, &canonical),
    );

    let md = dir.path().join("report.md");
    let out = run(
        &[
            "--report",
            md.to_str().unwrap(),
            "--report-format",
            "md",
            ".",
        ],
        &sample(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_snapshot(
        "cuda-project.report.md",
        &std::fs::read_to_string(&md).expect("md report"),
    );
}

#[test]
fn sample_patch_applies_with_git_and_patch_and_the_result_compiles_and_is_stable() {
    let out = run(&["."], &sample());
    let patch = stdout(&out);
    let copy = sample_copy();
    let patch_file = copy.path().join("npu.patch");
    write(&patch_file, &patch);

    if have("git") {
        let check = Command::new("git")
            .args(["apply", "--check", "npu.patch"])
            .current_dir(copy.path())
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "git apply --check: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    assert!(
        have("patch"),
        "the `patch` tool is part of the test environment"
    );
    let applied = Command::new("patch")
        .args(["-p1", "-i", "npu.patch"])
        .current_dir(copy.path())
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "patch -p1: {}",
        String::from_utf8_lossy(&applied.stdout)
    );
    std::fs::remove_file(&patch_file).unwrap();

    // The patched tree contains the helper, and running again changes nothing.
    assert!(copy.path().join("device_utils.py").is_file());
    let again = run(&["."], copy.path());
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stdout(&again), "", "second run must produce an empty diff");

    if have("python3") {
        let script = "import pathlib, sys\nfor p in pathlib.Path(sys.argv[1]).rglob('*.py'):\n    compile(p.read_bytes(), str(p), 'exec')\n";
        let compiled = Command::new("python3")
            .args(["-c", script])
            .arg(copy.path())
            .output()
            .unwrap();
        assert!(
            compiled.status.success(),
            "patched Python does not compile: {}",
            String::from_utf8_lossy(&compiled.stderr)
        );
    }
    // Comments, docstrings, log text and paths that mention cuda are untouched.
    let inference = std::fs::read_to_string(copy.path().join("inference.py")).unwrap();
    assert!(inference.contains("logger.info(\"loading models onto cuda\")"));
    assert!(inference.contains("nothing here is specific to cuda builds"));
    assert!(inference.contains("checkpoints/cuda_run/hidream_e1_lora.safetensors"));
    assert!(inference.contains("torch.zeros(3, 768, 768, device=\"cpu\")"));
}

#[test]
fn apply_writes_in_place_keeps_modes_and_then_check_is_clean() {
    let copy = sample_copy();
    let check = run(&["--check", "."], copy.path());
    assert_eq!(check.status.code(), Some(1), "pending changes: exit 1");
    assert_eq!(stdout(&check), "");
    assert!(stderr(&check).contains("would change: inference.py"));

    let applied = run(&["--apply", "."], copy.path());
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert_eq!(stdout(&applied), "");
    let inference = std::fs::read_to_string(copy.path().join("inference.py")).unwrap();
    assert!(inference.contains("pipe = pipe.to(device_utils.DEVICE, torch.bfloat16)"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(copy.path().join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o111,
            0o111
                & std::fs::metadata(sample().join("run.sh"))
                    .unwrap()
                    .permissions()
                    .mode()
        );
        let helper = std::fs::metadata(copy.path().join("device_utils.py"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(helper & 0o777, 0o644);
    }
    let leftovers: Vec<_> = std::fs::read_dir(copy.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );

    let recheck = run(&["--check", "."], copy.path());
    assert_eq!(recheck.status.code(), Some(0), "{}", stderr(&recheck));
}

#[test]
fn npu_style_adds_no_helper_and_rewrites_to_torch_npu() {
    let out = run(&["--style", "npu", "."], &sample());
    assert_eq!(out.status.code(), Some(0));
    let patch = stdout(&out);
    assert!(!patch.contains("device_utils.py"));
    assert!(patch.contains("+import torch_npu"));
    assert!(patch.contains("+    pipe = pipe.to(\"npu\", torch.bfloat16)"));
    assert!(patch.contains("+export ASCEND_RT_VISIBLE_DEVICES=0,1"));
}

#[test]
fn helper_name_clash_picks_another_name_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("device_utils.py"),
        "# the user's own module\n",
    );
    write(&dir.path().join("main.py"), "x = y.cuda()\n");
    let out = run(&["."], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let patch = stdout(&out);
    assert!(patch.contains("+++ b/device_utils_portable.py"));
    assert!(patch.contains("+import device_utils_portable"));
    assert!(!patch.contains("--- a/device_utils.py"));
    assert!(stderr(&out).contains("MG001"));
}

#[test]
fn gitignore_exclude_and_symlinks_are_respected() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join(".gitignore"), "generated/\n");
    write(&dir.path().join("generated/a.py"), "x = y.cuda()\n");
    write(&dir.path().join("vendor/b.py"), "x = y.cuda()\n");
    write(&dir.path().join("src/c.py"), "x = y.cuda()\n");
    let outside = tempfile::tempdir().unwrap();
    write(&outside.path().join("d.py"), "x = y.cuda()\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path().join("d.py"), dir.path().join("link.py")).unwrap();
    let out = run(&["--exclude", "vendor", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patch = stdout(&out);
    assert!(patch.contains("b/src/c.py"));
    assert!(
        !patch.contains("generated/a.py")
            && !patch.contains("vendor/b.py")
            && !patch.contains("link.py")
    );
    #[cfg(unix)]
    assert!(stderr(&out).contains("link.py: skipped: symbolic link"));
}

#[test]
fn bad_files_are_reported_failures_and_the_rest_still_migrates() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("good.py"), "x = y.cuda()\n");
    write(&dir.path().join("broken.py"), "def f(:\n    x = y.cuda()\n");
    write(&dir.path().join("latin1.py"), b"# caf\xe9\nx = y.cuda()\n");
    write(&dir.path().join("blob.py"), b"\x00\x01cuda");
    write(
        &dir.path().join("big.py"),
        format!("x = y.cuda()\n{}", "# pad\n".repeat(100)),
    );
    let out = run(&["--max-file-size", "200", "."], dir.path());
    assert_eq!(out.status.code(), Some(2), "failed files mean exit 2");
    let err = stderr(&out);
    assert!(
        err.contains("broken.py: error: syntax error at 1:7"),
        "{err}"
    );
    assert!(err.contains("latin1.py: error: not UTF-8"), "{err}");
    assert!(err.contains("blob.py: error: binary content"), "{err}");
    assert!(
        err.contains("big.py: skipped:") && err.contains("--max-file-size"),
        "{err}"
    );
    assert!(err.contains("3 failed"), "{err}");
    let patch = stdout(&out);
    assert!(
        patch.contains("b/good.py") && !patch.contains("broken.py"),
        "{patch}"
    );
}

#[test]
fn empty_tree_and_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["."], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out)
            .contains("warning: no Python, requirements, shell, Markdown or CUDA files found")
    );

    let out = run(&["does-not-exist"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does-not-exist: no such file or directory"));

    let out = run(&["--helper-module", "not-valid", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--helper-module"));
}

#[test]
fn rules_and_explain() {
    let out = run(&["rules"], &repo_root());
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for entry in migrate::catalog::entries() {
        let code = entry.code.as_str();
        assert!(text.contains(code), "rules lists {code}");
    }
    let out = run(&["explain", "py101"], &repo_root());
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("PY101 (flash-attn): diagnostic, error"));
    assert!(text.contains("npu_fusion_attention"));
    let out = run(&["explain", "XX000"], &repo_root());
    assert_eq!(out.status.code(), Some(2));

    let out = run(&["rules", "--json"], &repo_root());
    let parsed: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("rules --json is JSON");
    assert_eq!(
        parsed.as_array().map(Vec::len),
        Some(migrate::Code::ALL.len())
    );
}
