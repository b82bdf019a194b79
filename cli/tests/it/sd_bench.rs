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
