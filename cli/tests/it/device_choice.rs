//! `--device auto`, the default of the image programs, and PREFERRED_DEVICE /
//! PREFERRED_DTYPE: what was chosen and why is one line on stderr; a device the user names
//! and that is absent is exit 2 naming where it was named; an NPU found is chosen first, and
//! one whose CANN is incomplete stops the run naming what is missing.

use crate::common::{fixtures, stderr};
use crate::doubles::{FakeAcl, write_cann_version};
use std::path::Path;
use std::process::{Command, Output};

const SCRUBBED: [&str; 6] = [
    "ASCEND_HOME_PATH",
    "ASCEND_TOOLKIT_HOME",
    "PREFERRED_DEVICE",
    "PREFERRED_DTYPE",
    "CUDA_VISIBLE_DEVICES",
    "ASCEND_RT_VISIBLE_DEVICES",
];

fn sd(envs: &[(&str, &str)], extra: &[&str], out: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sd"));
    for var in SCRUBBED {
        cmd.env_remove(var);
    }
    cmd.arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--prompt", "一只猫", "--steps", "1", "--output"])
        .arg(out)
        .args(extra)
        .envs(envs.iter().copied())
        .output()
        .expect("run sd")
}

#[test]
fn auto_is_the_default_and_says_what_it_chose() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("a.png");
    let o = sd(&[], &[], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("device: cpu (no NPU or CUDA device found); dtype: f32"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn preferred_device_and_dtype_are_honoured_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b.png");
    let o = sd(
        &[("PREFERRED_DEVICE", "cpu"), ("PREFERRED_DTYPE", "bf16")],
        &[],
        &out,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.contains("device: cpu (PREFERRED_DEVICE=cpu)"),
        "{text}"
    );
    assert!(text.contains("dtype: bf16 (PREFERRED_DTYPE)"), "{text}");
    // The flag wins over the environment.
    let o = sd(&[("PREFERRED_DTYPE", "bf16")], &["--dtype", "f32"], &out);
    assert!(
        stderr(&o).contains("dtype: f32 (--dtype)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_named_device_that_is_absent_is_bad_input_naming_where_it_was_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("c.png");
    for (envs, needle) in [
        (&[("PREFERRED_DEVICE", "cuda:3")][..], "PREFERRED_DEVICE"),
        (&[("PREFERRED_DTYPE", "fp8")][..], "PREFERRED_DTYPE"),
    ] {
        let o = sd(envs, &[], &out);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(!out.exists());
    }
    let o = sd(&[], &["--device", "cuda:3"], &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--device"), "{}", stderr(&o));
}

#[test]
fn an_npu_is_chosen_first_and_an_incomplete_cann_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toolkit = dir.path().join("Ascend/ascend-toolkit/latest");
    FakeAcl::new().devices(1).install(&toolkit);
    write_cann_version(&toolkit, "8.0.RC3");
    let out = dir.path().join("d.png");
    let home = toolkit.to_str().expect("utf-8");
    // This fake has the runtime library alone: found and chosen, it cannot run ops, and
    // the run stops naming what is missing rather than moving to the CPU unasked.
    for flags in [&[][..], &["--device", "npu"][..]] {
        let o = sd(&[("ASCEND_HOME_PATH", home)], flags, &out);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("device: npu:0"), "{}", stderr(&o));
        assert!(stderr(&o).contains("libnnopbase.so"), "{}", stderr(&o));
        assert!(!out.exists(), "no output on failure");
    }
}
