//! `--help` lists the values a flag accepts wherever the set is closed, so nobody has to
//! guess a spelling, and says what a device looks like where it is not.

use std::process::Command;

fn help(exe: &str, args: &[&str]) -> String {
    let o = Command::new(exe)
        .args(args)
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(o.status.success(), "{exe} {args:?} --help failed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The help of one option (its line and description), white space folded so that
/// wrapping at any terminal width reads the same.
fn option_help(text: &str, flag: &str) -> String {
    let starts_option = |line: &str| {
        let line = line.trim_start();
        line.starts_with("--")
            || (line.starts_with('-') && line[1..].starts_with(char::is_alphabetic))
    };
    let mut lines = text.lines().skip_while(|line| {
        !(starts_option(line) && line.split([',', ' ']).any(|word| word == flag))
    });
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no {flag} in --help:\n{text}"));
    let rest = lines.take_while(|line| !starts_option(line));
    std::iter::once(first)
        .chain(rest)
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_lists(text: &str, flag: &str, values: &str) {
    let option = option_help(text, flag);
    let wanted = format!("[possible values: {values}]");
    assert!(option.contains(&wanted), "{flag} lacks {wanted}: {option}");
}

const DTYPES: &str = "f32, f16, bf16";
const KERNELS: &str = "fused, naive";

/// What an image program's `--device` help must name: the default and its order, the
/// environment variable under it, and the explicit forms.
fn assert_device_choice(text: &str) {
    let option = option_help(text, "--device");
    for needle in [
        "auto",
        "NPU, then CUDA, then CPU",
        "PREFERRED_DEVICE",
        "cuda[:N]",
        "npu[:N]",
    ] {
        assert!(
            option.contains(needle),
            "--device lacks {needle:?}: {option}"
        );
    }
}

#[test]
fn sd_lists_dtypes_and_kernels() {
    let text = help(env!("CARGO_BIN_EXE_sd"), &[]);
    assert_lists(&text, "--dtype", DTYPES);
    assert_lists(&text, "--attention", KERNELS);
    assert_device_choice(&text);
}

#[test]
fn sd_bench_lists_dtypes_kernels_and_allocators() {
    let text = help(env!("CARGO_BIN_EXE_sd-bench"), &[]);
    assert_lists(&text, "--dtype", DTYPES);
    assert_lists(&text, "--attention", KERNELS);
    assert_lists(&text, "--allocator", "keep-freed, default");
}

#[test]
fn hidream_lists_dtypes_and_variants_in_every_subcommand() {
    let exe = env!("CARGO_BIN_EXE_hidream");
    for subcommand in ["generate", "edit", "encode"] {
        let text = help(exe, &[subcommand]);
        assert_lists(&text, "--dtype", DTYPES);
        assert_device_choice(&text);
    }
    assert_lists(&help(exe, &["generate"]), "--variant", "full, dev, fast");
    assert_lists(&help(exe, &["edit"]), "--variant", "e1-full, e1.1");
}

#[test]
fn doctor_names_the_device_forms() {
    let text = help(env!("CARGO_BIN_EXE_doctor"), &[]);
    let device = option_help(&text, "--device");
    for form in ["npu:N", "cuda:N", "cpu"] {
        assert!(device.contains(form), "{device}");
    }
}
