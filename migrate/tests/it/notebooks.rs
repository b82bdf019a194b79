//! Jupyter notebooks: code cells are migrated with the Python rules, and only the changed
//! cells' `source` values change in the file (outputs, metadata, key order, indentation and
//! non-ASCII text keep their bytes). Expected notebooks are written out by hand.

use crate::common::*;
use std::process::Command;

/// nbformat's own layout (one-space indent, lists of lines), with Chinese text in a
/// markdown cell, a code cell's comment, its metadata and its output.
const NOTEBOOK: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": [
    "# 在 cuda 上运行\n",
    "x.cuda()"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {"tags": ["训练"]},
   "outputs": [{"name": "stdout", "output_type": "stream", "text": ["cuda:0\n"]}],
   "source": [
    "%matplotlib inline\n",
    "import torch\n",
    "x = torch.zeros(1).cuda()  # 模型\n",
    "!nvidia-smi"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "metadata": {},
   "outputs": [],
   "source": "torch.cuda.synchronize()"
  }
 ],
 "metadata": {"kernelspec": {"name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

/// NOTEBOOK after `--style npu`, written by hand: the import goes before the cell's first
/// statement (the masked magic), `!nvidia-smi` gets the shell rule, the string source
/// stays a string, and nothing outside the two code cells' sources changes.
const NOTEBOOK_NPU: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": [
    "# 在 cuda 上运行\n",
    "x.cuda()"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {"tags": ["训练"]},
   "outputs": [{"name": "stdout", "output_type": "stream", "text": ["cuda:0\n"]}],
   "source": [
    "import torch_npu\n",
    "%matplotlib inline\n",
    "import torch\n",
    "x = torch.zeros(1).npu()  # 模型\n",
    "!npu-smi info"
   ]
  },
  {
   "cell_type": "code",
   "execution_count": null,
   "metadata": {},
   "outputs": [],
   "source": "import torch_npu\ntorch.npu.synchronize()"
  }
 ],
 "metadata": {"kernelspec": {"name": "python3"}},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

#[test]
fn apply_rewrites_only_the_code_cells_sources() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("演示.ipynb");
    write(&path, NOTEBOOK);
    let out = run(&["--apply", "--style", "npu", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), NOTEBOOK_NPU);
    let again = run(&["--check", "--style", "npu", "."], dir.path());
    assert_eq!(again.status.code(), Some(0), "a second run changes nothing");
}

#[test]
fn the_patch_shows_the_cell_lines_and_applies_with_git() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("nb.ipynb"), NOTEBOOK);
    let out = run(&["."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patch = stdout(&out);
    assert!(
        patch.contains("--- a/nb.ipynb\n+++ b/nb.ipynb\n"),
        "{patch}"
    );
    assert!(
        patch.contains("+    \"import device_utils\\n\",\n"),
        "the portable helper import: {patch}"
    );
    assert!(
        patch.contains("diff --git a/device_utils.py b/device_utils.py\nnew file"),
        "{patch}"
    );
    assert!(
        !patch.contains("-   \"outputs\"") && !patch.contains("在 cuda"),
        "outputs and markdown are not in the patch: {patch}"
    );
    if !have("git") {
        return;
    }
    let applied = tempfile::tempdir().unwrap();
    write(&applied.path().join("nb.ipynb"), NOTEBOOK);
    write(&applied.path().join("p.patch"), &patch);
    let git = Command::new("git")
        .args(["apply", "p.patch"])
        .current_dir(applied.path())
        .output()
        .unwrap();
    assert!(
        git.status.success(),
        "{}",
        String::from_utf8_lossy(&git.stderr)
    );
    let by_patch = std::fs::read_to_string(applied.path().join("nb.ipynb")).unwrap();
    let by_apply = run(&["--apply", "."], dir.path());
    assert_eq!(by_apply.status.code(), Some(0));
    assert_eq!(
        by_patch,
        std::fs::read_to_string(dir.path().join("nb.ipynb")).unwrap()
    );
    let parsed: serde_json::Value = serde_json::from_str(&by_patch).unwrap();
    let cell = &parsed["cells"][1]["source"];
    assert!(cell.is_array(), "a list stays a list");
    assert_eq!(
        cell.as_array().unwrap().last().unwrap(),
        "!if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else nvidia-smi; fi",
        "the shell rule, inside the escape"
    );
}

#[test]
fn findings_are_reported_at_the_notebook_line_with_the_cell_named() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = NOTEBOOK.replace(
        "\"import torch\\n\",\n",
        "\"import torch\\n\",\n    \"from sageattention import sageattn\\n\",\n    \"!nvidia-smi | grep MiB\\n\",\n",
    );
    write(&dir.path().join("nb.ipynb"), &notebook);
    let out = run(&["--check", "."], dir.path());
    let err = stderr(&out);
    // Line 19 of the file holds the cell's line 3; the string is at column 5.
    assert!(
        err.contains("nb.ipynb:19:5: error[PY101] code cell 1, line 3: "),
        "{err}"
    );
    assert!(
        err.contains("nb.ipynb:20:5: warning[SH103] code cell 1, line 4: `nvidia-smi | grep MiB`"),
        "{err}"
    );
}

#[test]
fn a_cell_that_is_not_python_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = NOTEBOOK.replace("\"%matplotlib inline\\n\",", "\"%%bash\\n\",");
    write(&dir.path().join("nb.ipynb"), &notebook);
    let out = run(&["--apply", "."], dir.path());
    let err = stderr(&out);
    assert!(
        err.contains("nb.ipynb:19:5: warning[NB101] code cell 1, line 3: CUDA-specific text in a cell that is a %%bash cell"),
        "{err}"
    );
    let after = std::fs::read_to_string(dir.path().join("nb.ipynb")).unwrap();
    assert!(
        after.contains("\"x = torch.zeros(1).cuda()  # 模型\\n\""),
        "{after}"
    );
    assert!(
        after.contains("\"source\": \"import device_utils\\n"),
        "the other cell is still migrated: {after}"
    );
}

#[test]
fn a_notebook_that_is_not_json_is_reported_and_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "{\"cells\": [x.cuda()";
    let path = dir.path().join("broken.ipynb");
    write(&path, broken);
    write(
        &dir.path().join("ok.py"),
        "import torch\nx = torch.zeros(1).cuda()\n",
    );
    let out = run(&["--apply", "."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.ipynb: error: not a notebook (invalid JSON"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);
    let ok = std::fs::read_to_string(dir.path().join("ok.py")).unwrap();
    assert!(
        ok.contains("device_utils.DEVICE"),
        "the rest still migrates: {ok}"
    );
}

#[test]
fn a_notebook_escaping_non_ascii_keeps_escaping_it() {
    // Written with ensure_ascii=True: the changed line keeps the file's \u escapes.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ascii.ipynb");
    write(
        &path,
        "{\"cells\": [{\"cell_type\": \"code\", \"metadata\": {}, \"outputs\": [], \"source\": [\"y = x.cuda()  # \\u6a21\\u578b\"]}], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 5}",
    );
    let out = run(&["--apply", "--style", "npu", "."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"cells\": [{\"cell_type\": \"code\", \"metadata\": {}, \"outputs\": [], \"source\": [\"import torch_npu\\n\",\"y = x.npu()  # \\u6a21\\u578b\"]}], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 5}"
    );
}

#[test]
fn suppression_comments_work_inside_cells() {
    let dir = tempfile::tempdir().unwrap();
    let notebook = NOTEBOOK
        .replace(
            "\"import torch\\n\",\n",
            "\"import torch\\n\",\n    \"from sageattention import sageattn  # migrate: ignore[PY101]\\n\",\n",
        )
        .replace("cuda()  # 模型", "cuda()  # 模型  # migrate: ignore");
    assert_ne!(notebook, NOTEBOOK);
    let path = dir.path().join("nb.ipynb");
    write(&path, &notebook);
    let out = run(&["--apply", "--style", "npu", "."], dir.path());
    let err = stderr(&out);
    assert!(!err.contains("PY101") && !err.contains("MG004"), "{err}");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.contains("\"x = torch.zeros(1).cuda()  # 模型  # migrate: ignore\\n\""),
        "{after}"
    );
    assert!(
        after.contains("\"!npu-smi info\""),
        "the other lines still migrate: {after}"
    );
}
