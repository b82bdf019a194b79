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
    // Options are indented by at most 6 spaces, their wrapped descriptions by more (a
    // wrapped "[aliases: --cfg-scale]" must not read as the next option).
    let starts_option = |line: &str| {
        let indent = line.len() - line.trim_start().len();
        let line = line.trim_start();
        indent <= 6
            && (line.starts_with("--")
                || (line.starts_with('-') && line[1..].starts_with(char::is_alphabetic)))
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

/// The short names, then AUTOMATIC1111's (clap quotes those with spaces).
const SCHEDULERS: &str = "pndm, ddim, euler, euler-a, dpm++2m, heun, lms, DDIM, PLMS, Euler, \
    \"Euler Karras\", \"Euler Exponential\", \"Euler a\", \"DPM++ 2M\", \"DPM++ 2M Karras\", \
    \"DPM++ 2M Exponential\", \"DPM++ 2M SDE\", \"DPM++ 2M SDE Karras\", \
    \"DPM++ 2M SDE Exponential\", Heun, \"Heun Karras\", \"Heun Exponential\", LMS, \
    \"LMS Karras\"";

/// The short flags shared with stable-diffusion.cpp's `sd` (and A1111's and diffusers'
/// names as aliases), the same in every program that has the option.
fn assert_common_flags(text: &str, flags: &[(&str, &str)]) {
    for (short, long) in flags {
        let option = option_help(text, short);
        assert!(option.starts_with(&format!("{short}, {long}")), "{option}");
    }
}

fn assert_guidance_aliases(text: &str) {
    let option = option_help(text, "--guidance");
    for alias in ["--cfg-scale", "--guidance-scale"] {
        assert!(option.contains(alias), "{option}");
    }
}

#[test]
fn sd_lists_dtypes_and_kernels() {
    let text = help(env!("CARGO_BIN_EXE_sd"), &[]);
    assert_lists(&text, "--dtype", DTYPES);
    assert_lists(&text, "--attention", KERNELS);
    assert_lists(&text, "--scheduler", SCHEDULERS);
    assert!(
        option_help(&text, "--scheduler").contains("--sampler"),
        "{text}"
    );
    assert_device_choice(&text);
    assert_common_flags(
        &text,
        &[
            ("-m", "--model"),
            ("-p", "--prompt"),
            ("-n", "--negative-prompt"),
            ("-o", "--output"),
            ("-s", "--seed"),
            ("-W", "--width"),
            ("-H", "--height"),
            ("-g", "--guidance"),
        ],
    );
    assert!(option_help(&text, "-n").contains("--negative"), "{text}");
    assert_guidance_aliases(&text);
}

#[test]
fn sd_bench_lists_dtypes_kernels_and_allocators() {
    let text = help(env!("CARGO_BIN_EXE_sd-bench"), &[]);
    assert_lists(&text, "--dtype", DTYPES);
    assert_lists(&text, "--attention", KERNELS);
    assert_lists(&text, "--allocator", "keep-freed, default");
}

#[test]
fn vae_bench_lists_dtypes_and_kernels_and_refuses_a_bad_size() {
    let exe = env!("CARGO_BIN_EXE_vae-bench");
    let text = help(exe, &[]);
    assert_lists(&text, "--dtype", DTYPES);
    assert_lists(&text, "--attention", KERNELS);
    // Checked before the 335 MB model is built.
    let o = Command::new(exe)
        .args(["--size", "100"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--size 100"));
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
    let generate = help(exe, &["generate"]);
    assert_common_flags(
        &generate,
        &[
            ("-m", "--model"),
            ("-p", "--prompt"),
            ("-n", "--negative-prompt"),
            ("-o", "--output"),
            ("-s", "--seed"),
            ("-W", "--width"),
            ("-H", "--height"),
            ("-g", "--guidance"),
        ],
    );
    assert_guidance_aliases(&generate);
    let edit = help(exe, &["edit"]);
    let edit_flags = [
        ("-m", "--model"),
        ("-o", "--output"),
        ("-s", "--seed"),
        ("-g", "--guidance"),
    ];
    assert_common_flags(&edit, &edit_flags);
    assert_guidance_aliases(&edit);
    let encode = help(exe, &["encode"]);
    let encode_flags = [
        ("-m", "--model"),
        ("-p", "--prompt"),
        ("-n", "--negative-prompt"),
        ("-o", "--output"),
    ];
    assert_common_flags(&encode, &encode_flags);
}

#[test]
fn doctor_names_the_device_forms() {
    let text = help(env!("CARGO_BIN_EXE_doctor"), &[]);
    let device = option_help(&text, "--device");
    for form in ["npu:N", "cuda:N", "cpu"] {
        assert!(device.contains(form), "{device}");
    }
}
