//! Jupyter notebooks are reported, not rewritten: their CUDA references count as work for a
//! human, never as "0 of 0 converted (100%)".

use crate::common::*;

const NOTEBOOK: &str = r##"{
 "cells": [
  {
   "cell_type": "markdown",
   "metadata": {},
   "source": ["# 在 cuda 上运行\n"]
  },
  {
   "cell_type": "code",
   "execution_count": 1,
   "metadata": {},
   "outputs": [{"name": "stdout", "output_type": "stream", "text": ["cuda:0\n"]}],
   "source": [
    "%matplotlib inline\n",
    "import torch\n",
    "x = torch.zeros(1).cuda()  # 模型\n",
    "torch.cuda.synchronize()"
   ]
  }
 ],
 "metadata": {},
 "nbformat": 4,
 "nbformat_minor": 5
}
"##;

#[test]
fn a_notebook_with_cuda_code_is_counted_as_needing_a_human() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("演示.ipynb"), NOTEBOOK);
    let report = dir.path().join("r.md");
    let out = run(
        &[
            "--report",
            report.to_str().unwrap(),
            "--report-format",
            "md",
            ".",
        ],
        dir.path(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("演示.ipynb:16:1: warning[NB101] code cell 1, line 3: PY002"),
        "{err}"
    );
    assert!(
        err.contains("演示.ipynb:17:1: warning[NB101] code cell 1, line 4: PY004"),
        "{err}"
    );
    assert!(
        err.contains("0 of 2 CUDA references converted (0%)"),
        "{err}"
    );
    assert_eq!(stdout(&out), "", "notebooks are not rewritten");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("| 演示.ipynb | 16 | warning NB101 |"), "{md}");
}

#[test]
fn a_notebook_that_is_not_json_is_a_reported_failure() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("broken.ipynb"), "{\"cells\": [x.cuda()");
    let out = run(&["."], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.ipynb: error: not a notebook (invalid JSON"),
        "{}",
        stderr(&out)
    );
}
