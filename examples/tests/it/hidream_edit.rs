//! The `hidream-edit` example as a user runs it: the random-weight demo end to end, and
//! the mistakes a user makes, each a clear message and exit status 2 with nothing written.

use pipelines::hidream::tiny_random::write_tiny_random_model;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub(crate) fn hidream_edit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hidream-edit"))
        .args(args)
        .output()
        .expect("run hidream-edit")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub(crate) fn assert_bad_input(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert!(
        stderr(o).contains(needle),
        "stderr does not mention {needle:?}: {}",
        stderr(o)
    );
}

pub(crate) fn png_size(p: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(p).expect("open png"),
    ));
    let info = decoder.read_info().expect("png header").info().clone();
    (info.width, info.height)
}

#[test]
fn demo_edits_end_to_end_and_says_the_weights_are_random() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("demo.png");
    let o = hidream_edit(&[
        "--demo",
        "--remove",
        "the sun",
        "--output",
        path(&out),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("RANDOM weights"), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(summary["random_weights"], true);
    assert_eq!(summary["edit"], "remove");
    // The default dtype, bf16, reaches the demo's models too.
    assert_eq!(summary["dtype"], "bf16");
    // A local edit: the E1 demo's lower image guidance.
    assert_eq!(summary["image_guidance"], 2.0);
    assert_eq!(
        summary["prompt"],
        "Editing Instruction: Remove the sun. Target Image Description: a landscape"
    );
    assert_eq!(summary["edit_size"], serde_json::json!([128, 128]));
    // Scaled back to the 96x64 source, as the E1 scripts do.
    assert_eq!(summary["size"], serde_json::json!([96, 64]));
    assert_eq!(png_size(&out), (96, 64));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).expect("open png"),
    ));
    let reader = decoder.read_info().expect("png header");
    let text = |keyword: &str| {
        let chunks = &reader.info().uncompressed_latin1_text;
        let chunk = chunks.iter().find(|t| t.keyword == keyword);
        chunk.unwrap_or_else(|| panic!("no {keyword}")).text.clone()
    };
    // A1111's infotext: the editing prompt, E1-Full's negative prompt on its own line, then
    // the settings.
    let parameters = text("parameters");
    let lines: Vec<&str> = parameters.lines().collect();
    assert_eq!(
        lines[0],
        "Editing Instruction: Remove the sun. Target Image Description: a landscape"
    );
    assert_eq!(lines[1], "Negative prompt: low resolution, blur");
    for pair in [
        "Edit: remove",
        "Image CFG scale: 2.0",
        "Size: 96x64",
        "Edit size: 128x128",
    ] {
        assert!(
            lines[2].split(", ").any(|p| p == pair),
            "{pair} not in {}",
            lines[2]
        );
    }
    let json: Value = serde_json::from_str(&text("diffusion-npu-toolkit")).expect("JSON chunk");
    assert_eq!(json["extra"]["Edit"], "remove");
    assert_eq!(json["width"], 96);

    let kept = tmp.path().join("kept.png");
    let o = hidream_edit(&[
        "--demo",
        "--keep-edit-size",
        "--steps",
        "2",
        "--dtype",
        "f32",
        "--output",
        path(&kept),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_size(&kept), (128, 128));
    // E1-Full's refine weights replace the editor's rather than joining them.
    assert!(
        stderr(&o).contains("loading the refine transformer (the editor is released first)"),
        "{}",
        stderr(&o)
    );
    assert_ne!(
        std::fs::read(&out).unwrap(),
        std::fs::read(&kept).unwrap(),
        "different sizes and steps wrote the same file"
    );
}

#[test]
fn help_teaches_the_edit_kinds_and_the_llama_download() {
    let o = hidream_edit(&["--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--style",
        "--remove",
        "--color \"the car\" --to red",
        "--background",
        "Llama-3.1-8B-Instruct",
        "--demo",
        "Exit status",
        "130 or 143 interrupted",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
    // The closed sets are listed, however the help is wrapped.
    let folded = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for values in [
        "[possible values: f32, f16, bf16]",
        "[possible values: e1-full, e1.1]",
    ] {
        assert!(folded.contains(values), "--help lacks {values}: {help}");
    }
    // The short flags and aliases sd and hidream have too.
    for needle in [
        "-m, --model <DIR|ORG/NAME>",
        "-o, --output <OUTPUT>",
        "-s, --seed <SEED>",
        "-g, --guidance <GUIDANCE>",
        "--cfg-scale",
        "--guidance-scale",
        "--device <DEVICE>",
        "PREFERRED_DEVICE",
    ] {
        assert!(folded.contains(needle), "--help lacks {needle}: {help}");
    }
}

#[test]
fn user_mistakes_exit_2_naming_what_is_wrong() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 1).expect("tiny model");
    let image = tmp.path().join("in.png");
    pipelines::image::write_png(
        &image,
        32,
        32,
        &[90; 32 * 32 * 3],
        &[("parameters", "test")],
    )
    .expect("png");
    let out = tmp.path().join("out.png");
    let base = |extra: &[&str]| {
        let mut args = vec![
            "--model",
            path(&model.model_dir),
            "--image",
            path(&image),
            "--output",
            path(&out),
        ];
        args.extend_from_slice(extra);
        hidream_edit(&args)
    };

    let missing = tmp.path().join("no-llama");
    assert_bad_input(
        &base(&["--llama", path(&missing), "--style", "sketch"]),
        "Llama-3.1-8B-Instruct",
    );
    let llama = path(&model.llama_dir);
    assert_bad_input(&base(&["--llama", llama]), "say what to change");
    assert_bad_input(&base(&["--llama", llama, "--add", "  "]), "--add");
    assert_bad_input(
        &base(&["--llama", llama, "--style", "x", "--dtype", "f64"]),
        "--dtype",
    );
    assert_bad_input(&base(&["--llama", llama, "--color", "the car"]), "--to");
    assert_bad_input(
        &base(&["--llama", llama, "--style", "x", "--remove", "y"]),
        "cannot be used with",
    );
    assert_bad_input(
        &base(&["--llama", llama, "--style", "x", "--variant", "e1-full"]),
        "--lora",
    );
    let text = tmp.path().join("in.txt");
    std::fs::write(&text, "not a picture").unwrap();
    let o = hidream_edit(&[
        "--model",
        path(&model.model_dir),
        "--llama",
        llama,
        "--image",
        path(&text),
        "--style",
        "sketch",
        "--output",
        path(&out),
    ]);
    assert_bad_input(&o, "in.txt");
    assert!(!out.exists(), "an output was written on failure");
}
