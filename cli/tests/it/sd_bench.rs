//! `sd-bench` refuses bad flag values before building the (3.5 GB) model: exit 2 and a
//! message naming the flag. Timing runs themselves are benchmarks, not tests.

use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sd-bench"))
        .args(args)
        .output()
        .expect("run sd-bench");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_values_exit_2_naming_the_flag() {
    for (args, flag) in [
        (&["--size", "100"][..], "--size"),
        (&["--steps", "0"][..], "--steps"),
        (&["--batch", "0"][..], "--batch"),
        (&["--dtype", "f64"][..], "--dtype"),
        (&["--attention", "flash"][..], "--attention"),
        (&["--runs", "baseline,tome_9"][..], "tome_9"),
    ] {
        let (code, err) = bench(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

#[test]
fn help_explains_the_measurement_and_the_comparison() {
    let o = Command::new(env!("CARGO_BIN_EXE_sd-bench"))
        .arg("--help")
        .output()
        .expect("run sd-bench");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    for needle in ["sd_unet_torch.py", "median", "VmHWM", "baseline", "--json"] {
        assert!(text.contains(needle), "--help lacks {needle}: {text}");
    }
}

/// On the NPU double with its maths skipped, the full SD 2.1-base UNet's step is counted:
/// one synchronisation, exactly the latents and the timestep table up, the prediction
/// down, and an allocator high-water no lower than its bound. (Counts, not timings; the
/// maths are skipped because nothing reported depends on the values.)
#[test]
fn an_npu_step_is_counted_on_the_double() {
    let root = crate::ascend_ops::FakeAscend::new().install();
    let o = Command::new(env!("CARGO_BIN_EXE_sd-bench"))
        .env("ASCEND_HOME_PATH", &root)
        .env("FAKE_ASCEND_SKIP_MATH", "1")
        .args(["--device", "npu", "--dtype", "f16", "--size", "64"])
        .args([
            "--batch", "2", "--runs", "baseline", "--warmup", "0", "--json",
        ])
        .output()
        .expect("run sd-bench");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let step = &doc["per_unet_step"];
    assert_eq!(step["synchronisations"], 1, "{doc}");
    // [2, 4, 8, 8] f16 latents, and the [1, 320] f32 sinusoidal timestep table.
    assert_eq!(step["upload_bytes"], 2 * 4 * 8 * 8 * 2 + 320 * 4, "{doc}");
    assert_eq!(step["download_bytes"], 2 * 4 * 8 * 8 * 2, "{doc}");
    assert!(step["launches"].as_u64().unwrap_or(0) > 100, "{doc}");
    let (resident, low, high) = (
        step["resident_bytes"].as_u64().unwrap_or(0),
        step["peak_allocated_bytes"].as_u64().unwrap_or(0),
        step["peak_reserved_bytes"].as_u64().unwrap_or(0),
    );
    // f16 SD 2.1-base UNet weights: 865.9M parameters, 2 bytes each.
    assert!(
        resident > 1_700_000_000 && low > resident && high >= low,
        "{doc}"
    );
}
