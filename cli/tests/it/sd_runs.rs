//! `sd`'s run options as A1111 and stable-diffusion.cpp users expect them: --batch-count
//! with consecutive seeds, --seed -1, output patterns and folders, --clip-skip and
//! --vae-tiling recorded in the PNG, --lora applied and recorded.

use crate::common::{fixtures, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

/// A short run, 32x32 unless `args` sets the size.
fn sd(args: &[&str]) -> Output {
    let size: &[&str] = if args.contains(&"-W") {
        &[]
    } else {
        &["-W", "32", "-H", "32"]
    };
    Command::new(env!("CARGO_BIN_EXE_sd"))
        .arg("--model")
        .arg(fixtures().join("tiny-sd2"))
        .args(["--prompt", "a cat", "--steps", "2"])
        .args(size)
        .args(args)
        .output()
        .expect("run sd")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("utf8")
}

/// Pixels and the A1111 `parameters` text of a PNG.
fn read_png(path: &Path) -> (Vec<u8>, String) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let frame = reader.next_frame(&mut buf).expect("frame");
    buf.truncate(frame.buffer_size());
    let info = reader.info();
    let params = info
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == "parameters")
        .map(|t| t.text.clone())
        .or_else(|| {
            info.utf8_text
                .iter()
                .find(|t| t.keyword == "parameters")
                .map(|t| t.get_text().expect("iTXt"))
        })
        .expect("parameters");
    (buf, params)
}

fn has_pair(params: &str, pair: &str) -> bool {
    params
        .lines()
        .last()
        .is_some_and(|settings| settings.split(", ").any(|p| p == pair))
}

#[test]
fn a_batch_count_runs_consecutive_seeds_into_a_pattern() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pattern = dir.path().join("猫_%02d.png");
    let o = sd(&[
        "--seed",
        "5",
        "--batch-count",
        "2",
        "-o",
        text(&pattern),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(summary["seeds"], serde_json::json!([5, 6]));
    let first = dir.path().join("猫_00.png");
    let second = dir.path().join("猫_01.png");
    assert_eq!(
        summary["outputs"],
        serde_json::json!([text(&first), text(&second)])
    );
    let (_, params) = read_png(&first);
    assert!(has_pair(&params, "Seed: 5"), "{params}");
    let (pixels, params) = read_png(&second);
    assert!(has_pair(&params, "Seed: 6"), "{params}");
    // The second run is exactly a run of its own seed.
    let alone = dir.path().join("alone.png");
    let o = sd(&["--seed", "6", "-o", text(&alone)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_png(&alone).0, pixels);
}

#[test]
fn a_random_seed_is_recorded_and_repeats_the_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("random.png");
    let o = sd(&["--seed", "-1", "-o", text(&out), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    let seed = summary["seed"].as_u64().expect("seed");
    assert!(
        stderr(&o).contains(&format!("using seed {seed}")),
        "{}",
        stderr(&o)
    );
    let (pixels, params) = read_png(&out);
    assert!(has_pair(&params, &format!("Seed: {seed}")), "{params}");
    let again = dir.path().join("again.png");
    let o = sd(&["--seed", &seed.to_string(), "-o", text(&again)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_png(&again).0, pixels);
}

#[test]
fn a_folder_gets_a1111_names_numbered_after_what_is_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("00003-1.png"), b"earlier run").expect("write");
    let o = sd(&["--seed", "7", "--batch", "2", "-o", text(dir.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["00004-7.png", "00005-7.png"] {
        read_png(&dir.path().join(name));
    }
    assert_eq!(
        std::fs::read(dir.path().join("00003-1.png")).expect("kept"),
        b"earlier run"
    );
    // A folder named with a trailing slash is created.
    let fresh = format!("{}/new/", text(dir.path()));
    let o = sd(&["--seed", "8", "-o", &fresh]);
    assert!(o.status.success(), "{}", stderr(&o));
    read_png(&dir.path().join("new/00000-8.png"));
}

#[test]
fn clip_skip_and_vae_tiling_are_used_and_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.png");
    let skipped = dir.path().join("skipped.png");
    assert!(sd(&["-o", text(&plain)]).status.success());
    let o = sd(&["--clip-skip", "2", "-o", text(&skipped)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (pixels, params) = read_png(&skipped);
    assert!(has_pair(&params, "Clip skip: 2"), "{params}");
    assert_ne!(pixels, read_png(&plain).0, "clip skip changed nothing");
    assert!(!has_pair(&read_png(&plain).1, "Clip skip: 1"));

    // The tiny VAE tiles above 128 pixels.
    let tiled = dir.path().join("tiled.png");
    let o = sd(&["-W", "136", "-H", "136", "--vae-tiling", "-o", text(&tiled)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("VAE tiling: tiles of 128x128 pixels"),
        "{}",
        stderr(&o)
    );
    assert!(has_pair(&read_png(&tiled).1, "VAE tiling: on"));
}

#[test]
fn run_options_that_cannot_hold_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o.png");
    let latents = dir.path().join("l.safetensors");
    for (args, needle) in [
        (vec!["--clip-skip", "9"], "--clip-skip"),
        (vec!["--clip-skip", "0"], "--clip-skip"),
        (vec!["--batch-count", "0"], "--batch-count"),
        (
            vec!["--batch-count", "2", "--save-latents", text(&latents)],
            "--save-latents",
        ),
        (vec!["--seed", "-2"], "-1 (random)"),
        (
            vec!["--seed", "18446744073709551615", "--batch-count", "2"],
            "--batch-count",
        ),
    ] {
        let o = sd(&[&args[..], &["-o", text(&out)]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    let o = sd(&["-o", text(&dir.path().join("o_%s.png"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--output"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn a_lora_changes_the_image_and_is_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lora = crate::common::fixture("sd-lora").join("kohya.safetensors");
    let plain = dir.path().join("plain.png");
    let adapted = dir.path().join("adapted.png");
    assert!(sd(&["-o", text(&plain)]).status.success());
    let spec = format!("{}:0.7", text(&lora));
    let o = sd(&["--lora", &spec, "-o", text(&adapted), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (pixels, params) = read_png(&adapted);
    assert_ne!(pixels, read_png(&plain).0, "the LoRA changed nothing");
    // A1111 quotes a value holding ", " or ": ".
    assert!(params.ends_with("Lora: \"kohya: 0.7\""), "{params}");
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(summary["loras"][0]["weight"], 0.7);
    // A file that is not a LoRA is bad input naming it.
    let not_lora = crate::common::fixture("sd2")
        .join("tiny-sd2/unet/diffusion_pytorch_model.fp16.safetensors");
    let o = sd(&[
        "--lora",
        text(&not_lora),
        "-o",
        text(&dir.path().join("x.png")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("diffusion_pytorch_model.fp16.safetensors")
            && stderr(&o).contains("LoRA keys"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_single_file_checkpoint_runs_with_a_config_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder_png = dir.path().join("folder.png");
    let file_png = dir.path().join("file.png");
    let checkpoint = crate::common::fixture("sd-single-file").join("tiny-sd2.safetensors");
    let config = fixtures().join("tiny-sd2");
    assert!(sd(&["-o", text(&folder_png)]).status.success());
    let run_file = |extra: &[&str], out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_sd"))
            .arg("--model")
            .arg(&checkpoint)
            .args(["--prompt", "a cat", "--steps", "2", "-W", "32", "-H", "32"])
            .args(extra)
            .args(["-o", text(out)])
            .output()
            .expect("run sd")
    };
    let o = run_file(&["--config", text(&config)], &file_png);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_png(&file_png).0, read_png(&folder_png).0);

    let refused = dir.path().join("refused.png");
    let o = run_file(&[], &refused);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--config"), "{}", stderr(&o));
    let lora = crate::common::fixture("sd-lora").join("kohya.safetensors");
    let o = run_file(
        &["--config", text(&config), "--lora", text(&lora)],
        &refused,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("single-file"), "{}", stderr(&o));
    let o = sd(&["--config", text(&config), "-o", text(&refused)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!refused.exists());
}
