//! `ops-bench --help` and `gemm-bench --help` print their usage on stdout and exit 0
//! without running a benchmark; a wrong flag still exits 2 with the usage on stderr.

use std::process::Command;

#[test]
fn help_prints_usage_and_exits_0_and_a_bad_flag_exits_2() {
    for (program, exe) in [
        ("ops-bench", env!("CARGO_BIN_EXE_ops-bench")),
        ("gemm-bench", env!("CARGO_BIN_EXE_gemm-bench")),
    ] {
        for flag in ["--help", "-h"] {
            let o = Command::new(exe).arg(flag).output().expect("run");
            assert_eq!(o.status.code(), Some(0), "{program} {flag}");
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(out.starts_with(&format!("usage: {program} ")), "{out}");
            assert!(out.contains("--rounds N"), "{out}");
        }
        let o = Command::new(exe).arg("--fast").output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{program} --fast");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("--fast") && err.contains("usage:"), "{err}");
    }
}
