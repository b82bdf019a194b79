//! CI settings end to end: suppression comments, --select / --ignore, --fail-on and
//! `[tool.migrate]` in pyproject.toml, with the exit codes the docs promise.

use crate::common::*;

const TRAIN: &str = "import torch\n\
from sageattention import sageattn  # migrate: ignore[PY101]\n\
import xformers.ops\n\
x = torch.zeros(1).cuda()  # migrate: ignore\n\
y = 1  # migrate: ignore[PY102]\n\
z = torch.zeros(2).cuda()\n\
# A kernel class no stand-in covers keeps xformers reported.\n\
op = xformers.ops.fmha.cutlass.FwOp\n";

fn tree(train: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("train.py"), train);
    dir
}

#[test]
fn a_reviewed_site_is_quiet_and_an_idle_suppression_is_listed() {
    let dir = tree(TRAIN);
    let out = run(&[".", "--style", "npu"], dir.path());
    let (patch, err) = (stdout(&out), stderr(&out));
    assert!(!err.contains("train.py:2:"), "PY101 is suppressed: {err}");
    assert!(err.contains("train.py:8:6: error[PY102]"), "{err}");
    assert!(
        !patch.contains("-x = torch.zeros(1).cuda()"),
        "a bare comment keeps the line's rewrite back too: {patch}"
    );
    assert!(patch.contains("+z = torch.zeros(2).npu()\n"), "{patch}");
    assert!(
        !err.contains("train.py:4:"),
        "the comment on line 4 was used: {err}"
    );
    assert!(
        err.contains("train.py:5:8: warning[MG004] `migrate: ignore[PY102]` suppresses nothing on this line: no PY102 here"),
        "{err}"
    );
}

#[test]
fn a_rewrite_code_in_a_comment_keeps_only_that_rewrite_back() {
    let dir =
        tree("import torch\nx = torch.zeros(1, device='cuda').cuda()  # migrate: ignore[PY002]\n");
    let out = run(&["--style", "npu", "."], dir.path());
    let patch = stdout(&out);
    assert!(
        patch.contains("+x = torch.zeros(1, device=\"npu\").cuda()  # migrate: ignore[PY002]\n")
            || patch
                .contains("+x = torch.zeros(1, device='npu').cuda()  # migrate: ignore[PY002]\n"),
        "PY001 still rewrites the device string: {patch}"
    );
    assert!(!stderr(&out).contains("MG004"), "{}", stderr(&out));
}

#[test]
fn select_and_ignore_choose_what_is_reported() {
    let dir = tree(TRAIN);
    let out = run(
        &["--check", "--select", "PY1", "--ignore", "PY102", "."],
        dir.path(),
    );
    let err = stderr(&out);
    assert!(
        !err.contains("[PY102]") && !err.contains("[MG004]"),
        "{err}"
    );
    let out = run(&["--check", "--ignore", "MG", "."], dir.path());
    let err = stderr(&out);
    assert!(err.contains("[PY102]") && !err.contains("[MG004]"), "{err}");
}

#[test]
fn unknown_codes_are_errors_naming_them() {
    let dir = tree("import torch\n");
    let out = run(&["--select", "PY999", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error: --select: unknown code \"PY999\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "", "no work was done");

    let dir = tree("import torch\nx = 1  # migrate: ignore[PY10]\n");
    let out = run(&["--check", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("error: train.py:2:8: unknown code \"PY10\" in a `migrate: ignore` comment"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fail_on_gates_on_what_is_left_for_a_human() {
    // Nothing to rewrite, one error (PY101) left.
    let dir = tree("from sageattention import sageattn\n");
    assert_eq!(run(&["--check", "."], dir.path()).status.code(), Some(0));
    assert_eq!(
        run(&["--check", "--fail-on", "error", "."], dir.path())
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(
            &["--check", "--fail-on", "error", "--ignore", "PY101", "."],
            dir.path()
        )
        .status
        .code(),
        Some(0),
        "an ignored code does not count"
    );
    let reviewed = tree("from sageattention import sageattn  # migrate: ignore[PY101]\n");
    assert_eq!(
        run(&["--check", "--fail-on", "warning", "."], reviewed.path())
            .status
            .code(),
        Some(0),
        "a reviewed site does not count"
    );
}

#[test]
fn pyproject_settings_are_found_above_the_target_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("pyproject.toml"),
        "[project]\nname = \"demo\"\n\n[tool.migrate]\nfail-on = \"error\"\nignore = [\"PY102\"]\nstyle = \"npu\"\n",
    );
    write(
        &dir.path().join("src/train.py"),
        "import xformers.ops\nfrom sageattention import sageattn\nx = y.cuda()\nop = xformers.ops.fmha.cutlass.FwOp\n",
    );
    let out = run(&["src"], dir.path());
    let (patch, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "fail-on from the config: {err}");
    assert!(
        patch.contains("+x = y.npu()"),
        "style from the config: {patch}"
    );
    assert!(!err.contains("[PY102]") && err.contains("[PY101]"), "{err}");

    let out = run(
        &["--style", "portable", "--ignore", "PY101", "src"],
        dir.path(),
    );
    assert!(stdout(&out).contains("device_utils.DEVICE"));
    assert!(
        stderr(&out).contains("[PY102]"),
        "--ignore replaced the config's list"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "PY102 is an error, and fail-on still holds"
    );
    let out = run(&["--ignore", "PY1", "src"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = run(&["--isolated", "src"], dir.path());
    assert_eq!(out.status.code(), Some(0), "--isolated reads no config");
}

#[test]
fn a_bad_pyproject_setting_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("pyproject.toml"),
        "[tool.migrate]\nselect = [\"PY1\", \"ZZ\"]\n",
    );
    write(&dir.path().join("a.py"), "x = y.cuda()\n");
    let out = run(&["."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("pyproject.toml: [tool.migrate] select: unknown code \"ZZ\""),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
}
