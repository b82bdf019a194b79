//! `hidream-edit`'s flags: numbers and the output path checked before any work and named
//! by this program's own flags, `--demo` refusing the flags it would ignore, the
//! `--color`/`--to` pair, and a PNG header claiming a huge picture.

use crate::hidream_edit::{assert_bad_input, hidream_edit, path, stderr};
use pipelines::hidream::tiny_random::write_tiny_random_model;
use serde_json::Value;

/// Fails before the demo model is built: nothing was worked on.
fn assert_refused_first(args: &[&str], needle: &str) {
    let o = hidream_edit(args);
    assert_bad_input(&o, needle);
    assert!(
        !stderr(&o).contains("demo: a tiny HiDream"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_numbers_exit_2_naming_the_flag_before_any_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out.png");
    let out = path(&out);
    for (flag, value) in [
        ("--steps", "18446744073709551615"),
        ("--steps", "4294967295"),
        ("--steps", "0"),
        ("--guidance", "inf"),
        ("--guidance", "NaN"),
        ("--guidance", "-1"),
        ("--image-guidance", "NaN"),
        ("--refine-strength", "NaN"),
        ("--refine-strength", "1.5"),
    ] {
        let arg = format!("{flag}={value}");
        assert_refused_first(
            &["--demo", &arg, "--output", out],
            &format!("{flag} {value}"),
        );
    }
    assert!(std::fs::read_dir(tmp.path()).expect("ls").next().is_none());
}

#[test]
fn output_paths_are_checked_before_any_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("没有这个文件夹").join("out.png");
    assert_refused_first(&["--demo", "--output", path(&missing)], "--output");
    assert_refused_first(&["--demo", "--output", path(tmp.path())], "a folder");
}

#[test]
fn demo_refuses_the_flags_it_would_ignore_and_honours_device() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("x");
    std::fs::write(&file, b"x").expect("write");
    let f = path(&file);
    for flag in ["--model", "--llama", "--image", "--lora", "--refine-model"] {
        assert_refused_first(&["--demo", flag, f], "cannot be used with");
    }
    assert_refused_first(&["--demo", "--variant", "e1.1"], "cannot be used with");
    // This build has no CUDA: the demo says so rather than running on the CPU.
    if !candle_core::utils::cuda_is_available() {
        let out = tmp.path().join("out.png");
        let o = hidream_edit(&["--demo", "--device", "cuda:0", "--output", path(&out)]);
        assert_bad_input(&o, "--device=cuda:0: this build has no CUDA backend");
        assert!(!out.exists());
    }
}

#[test]
fn color_needs_to_and_the_pair_recolours() {
    assert_refused_first(&["--demo", "--color", "the car"], "--to");
    assert_refused_first(&["--demo", "--to", "red"], "--color");
    assert_refused_first(
        &["--demo", "--style", "sketch", "--to", "red"],
        "cannot be used with",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("红色.png");
    let o = hidream_edit(&[
        "--demo",
        "--color",
        "汽车",
        "--to",
        "red",
        "--steps",
        "1",
        "--json",
        "--output",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(summary["edit"], "color");
    assert!(
        summary["prompt"].as_str().expect("prompt").contains("汽车"),
        "{summary}"
    );
    assert!(out.is_file());
}

/// A 57-byte PNG whose header claims 100000 x 100000 pixels (kept with the pipelines
/// crate's hostile inputs): refused naming the file and the size, not a 30 GB allocation.
#[test]
fn a_png_header_claiming_a_huge_picture_exits_2_naming_file_and_size() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 1).expect("tiny model");
    let image = tmp.path().join("巨大.png");
    let kept = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pipelines/tests/fixtures/hostile/header-claims-100000x100000.png"
    );
    std::fs::copy(kept, &image).expect("copy");
    let out = tmp.path().join("out.png");
    let o = hidream_edit(&[
        "--model",
        path(&model.model_dir),
        "--llama",
        path(&model.llama_dir),
        "--image",
        path(&image),
        "--style",
        "sketch",
        "--output",
        path(&out),
    ]);
    assert_bad_input(&o, "巨大.png");
    assert!(stderr(&o).contains("100000x100000"), "{}", stderr(&o));
    assert!(!out.exists());
}
