//! `sd --device npu` end to end on the strict Ascend double (found through
//! ASCEND_HOME_PATH as a real CANN is): the binary's run against the same run on the CPU,
//! what it refuses there, and a device out of memory. The double's maths come from the op
//! docs: this checks the program's use of the NPU, not the vendor kernels.

use crate::ascend_ops::FakeAscend;
use crate::common::{fixtures, stderr};
use candle_core::{DType, Device, Tensor};
use std::path::Path;
use std::process::{Command, Output};

fn sd(root: Option<&Path>, args: &[&str], out: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sd"));
    if let Some(root) = root {
        cmd.env("ASCEND_HOME_PATH", root);
    }
    cmd.arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--prompt", "a photograph of an astronaut riding a horse"])
        .args(["--steps", "3", "--seed", "0", "-W", "32", "-H", "32"])
        .args(args)
        .arg("--output")
        .arg(out)
        .output()
        .expect("run sd")
}

fn latents(path: &Path) -> Tensor {
    let mut file = candle_core::safetensors::load(path, &Device::Cpu).expect("latents file");
    file.remove("latents").expect("latents tensor")
}

#[test]
fn an_npu_run_matches_the_cpu_run_at_f16() {
    let root = FakeAscend::new().install();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |device: &str, on: Option<&Path>| {
        let (png, saved) = (
            dir.path().join(format!("{device}.png")),
            dir.path().join(format!("{device}.safetensors")),
        );
        let saved_arg = saved.to_str().expect("utf-8").to_string();
        let o = sd(
            on,
            &[
                "--device",
                device,
                "--dtype",
                "f16",
                "--save-latents",
                &saved_arg,
            ],
            &png,
        );
        assert!(o.status.success(), "{device}: {}", stderr(&o));
        assert!(png.is_file(), "{device}: no image");
        (latents(&saved), stderr(&o))
    };
    let (cpu, _) = run("cpu", None);
    let (npu, log) = run("npu", Some(&root));
    assert!(log.contains("device: npu:0"), "{log}");
    // 16 units of f16 rounding of the largest latent, the pipelines' reduced-precision
    // bound (npu_sd.rs measures 3-8 units for these runs).
    let diff = (&npu - &cpu)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_dtype(DType::F32))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("difference");
    let scale = cpu
        .abs()
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("scale");
    let bound = 16.0 * 2f32.powi(-11) * scale;
    assert!(diff <= bound, "NPU latents differ by {diff}, above {bound}");
}

#[test]
fn an_f32_run_on_the_npu_says_what_it_computed_in() {
    let root = FakeAscend::new().install();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = sd(Some(&root), &["--device", "npu", "--dtype", "f32"], &out);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("f32 requested; convolutions compute in HF32"),
        "{err}"
    );
    assert!(out.is_file());
}

#[test]
fn what_the_npu_cannot_run_is_refused_by_flag() {
    let root = FakeAscend::new().install();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    for (flags, needle) in [
        (&["--tome", "0.5"][..], "--tome"),
        // One NPU on this double: CFG-parallel has no second chip.
        (&["--cfg-parallel"][..], "needs a second NPU, npu:1"),
    ] {
        let mut args = vec!["--device", "npu", "--dtype", "f16"];
        args.extend_from_slice(flags);
        let o = sd(Some(&root), &args, &out);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(!out.exists(), "no output on failure");
    }
}

#[test]
fn a_device_out_of_memory_names_the_stage_and_what_to_try() {
    // 64 KiB of device memory: the text encoder's weights do not fit.
    let root = FakeAscend::new().memory(64 * 1024).install();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = sd(Some(&root), &["--device", "npu", "--dtype", "f16"], &out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "not the input's fault: {err}");
    assert!(err.contains("out of device memory"), "{err}");
    assert!(err.contains("text_encoder"), "the stage is named: {err}");
    assert!(err.contains("hint:") && err.contains("--offload"), "{err}");
    assert!(!out.exists(), "no output on failure");
}

/// The 310P Duo layout from the seeds: the unconditional half on one chip, the conditional
/// half on the other, each worker thread with its own chip current (the double refuses a
/// launch on a stream of another device than the thread's).
#[test]
fn cfg_parallel_on_two_npus_is_bit_identical_to_one() {
    let root = FakeAscend::new().devices(2).install();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |name: &str, extra: &[&str]| {
        let saved = dir.path().join(format!("{name}.safetensors"));
        let saved_arg = saved.to_str().expect("utf-8").to_string();
        let mut args = vec![
            "--device",
            "npu",
            "--dtype",
            "f16",
            "--save-latents",
            &saved_arg,
        ];
        args.extend_from_slice(extra);
        let o = sd(Some(&root), &args, &dir.path().join(format!("{name}.png")));
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        std::fs::read(&saved).expect("latents written")
    };
    let one = run("one", &[]);
    let two = run("two", &["--cfg-parallel"]);
    assert!(one == two, "two-chip CFG changed the latents");
}

/// A SoC whose docs list no kernel for an op the models need is refused before any
/// weight loads, with every such op named (the 310P has no aclnnAdd or aclnnLayerNorm).
#[test]
fn ops_the_soc_lacks_are_named_before_loading() {
    let root = FakeAscend::new().soc("Ascend310P3").install();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    let o = sd(Some(&root), &["--device", "npu", "--dtype", "f16"], &out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for needle in [
        "Ascend310P3",
        "nothing was loaded",
        "aclnnAdd ",
        "aclnnLayerNorm",
    ] {
        assert!(err.contains(needle), "{needle:?} in {err}");
    }
    assert!(!out.exists(), "no output on failure");
}
