//! The `hidream` binary: help text, flag validation and exit codes, the size it reports,
//! and `hidream encode` on the tiny prompt fixture (scripts/fixtures/hidream_prompt_reference.py).

use crate::common::{
    assert_close, copy_dir, fixture as fixtures_folder, path, png_rgb, stderr, stdout,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    fixtures_folder("hidream/prompt")
}

fn hidream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hidream"))
        .args(args)
        .output()
        .expect("run hidream")
}

/// A model folder with the prompt fixture's encoders plus (empty) transformer, vae and
/// scheduler folders, which is all a dry run looks at, and the Llama folder beside it.
fn model_tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for sub in [
        "tokenizer",
        "tokenizer_2",
        "tokenizer_3",
        "text_encoder",
        "text_encoder_2",
        "text_encoder_3",
    ] {
        copy_dir(
            &fixture().join("model").join(sub),
            &tmp.path().join("model").join(sub),
        );
    }
    for sub in ["transformer", "vae", "scheduler"] {
        std::fs::create_dir_all(tmp.path().join("model").join(sub)).expect("mkdir");
    }
    copy_dir(&fixture().join("llama"), &tmp.path().join("llama"));
    tmp
}

fn generate(tree: &Path, extra: &[&str]) -> Output {
    let model = tree.join("model");
    let llama = tree.join("llama");
    let mut args = vec![
        "generate",
        "--model",
        path(&model),
        "--llama",
        path(&llama),
        "--prompt",
        "a cat",
    ];
    args.extend_from_slice(extra);
    hidream(&args)
}

fn assert_bad_input(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    assert!(
        stderr(o).contains(needle),
        "expected {needle:?} in: {}",
        stderr(o)
    );
}

#[test]
fn help_teaches_llama_the_size_rule_and_the_variants() {
    let top = stdout(&hidream(&["--help"]));
    for needle in [
        "Llama-3.1-8B-Instruct",
        "--llama",
        "multiple of 16",
        "generate",
        "edit",
        "encode",
        "Exit status",
        "130 or 143 interrupted",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let gen_help = stdout(&hidream(&["generate", "--help"]));
    for needle in [
        "full",
        "dev",
        "fast",
        "50 steps",
        "28 steps",
        "16 steps",
        "shift 6.0",
        "--offload",
    ] {
        assert!(
            gen_help.contains(needle),
            "generate --help lacks {needle:?}"
        );
    }
    let edit_help = stdout(&hidream(&["edit", "--help"]));
    for needle in [
        "e1-full",
        "e1.1",
        "--lora",
        "--refine-model",
        "image guidance 4.0",
        "Llama-3.1-8B-Instruct",
    ] {
        assert!(edit_help.contains(needle), "edit --help lacks {needle:?}");
    }
}

fn dry_run_json(tree: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--dry-run", "--json"];
    args.extend_from_slice(extra);
    let o = generate(tree, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("--json prints one JSON object")
}

#[test]
fn dry_run_reports_the_size_actually_used_and_the_variant_defaults() {
    let tree = model_tree();
    let small = dry_run_json(tree.path(), &["--width", "512", "--height", "512"]);
    assert_eq!(small["size"], serde_json::json!([1024, 1024]));
    assert_eq!(small["requested_size"], serde_json::json!([512, 512]));
    assert_eq!(small["steps"], 50);
    assert_eq!(small["guidance"], 5.0);
    assert_eq!(small["classifier_free_guidance"], true);
    let tall = dry_run_json(
        tree.path(),
        &["--width", "768", "--height", "1360", "--variant", "dev"],
    );
    assert_eq!(tall["size"], serde_json::json!([768, 1360]));
    assert_eq!(
        (tall["steps"].clone(), tall["shift"].clone()),
        (28.into(), 6.0.into())
    );
    assert_eq!(tall["classifier_free_guidance"], false);
    let fast = dry_run_json(tree.path(), &["--variant", "fast", "--steps", "3"]);
    assert_eq!(
        (fast["steps"].clone(), fast["shift"].clone()),
        (3.into(), 3.0.into())
    );
    // The plain report goes to stderr and names the rescaling.
    let o = generate(
        tree.path(),
        &["--dry-run", "--width", "1000", "--height", "600"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("requested 1000x600, rescaled to the model's area"),
        "{}",
        stderr(&o)
    );
    // So is the memory estimate, made before anything loads.
    assert!(stderr(&o).contains("memory estimate"), "{}", stderr(&o));
}

#[test]
fn dtype_sets_every_model_in_the_memory_estimate() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tiny = pipelines::hidream::tiny_random::write_tiny_random_model(tmp.path(), 3)
        .expect("tiny model");
    let estimate = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--model",
            path(&tiny.model_dir),
            "--llama",
            path(&tiny.llama_dir),
            "--prompt",
            "a cat",
            "--dry-run",
        ];
        args.extend_from_slice(extra);
        let o = hidream(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let default = estimate(&[]);
    assert!(
        default.contains("memory estimate (BF16 denoiser, BF16 encoders"),
        "{default}"
    );
    let f32_run = estimate(&["--dtype", "f32"]);
    assert!(
        f32_run.contains("memory estimate (F32 denoiser, F32 encoders"),
        "{f32_run}"
    );
}

#[test]
fn generate_with_an_unreadable_scheduler_config_exits_2_before_loading_encoders() {
    let tree = model_tree();
    let out = tree.path().join("out.png");
    let o = generate(tree.path(), &["--output", path(&out)]);
    assert_bad_input(&o, "scheduler_config.json");
    assert!(!stderr(&o).contains("CLIP-L"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn generate_runs_end_to_end_on_a_tiny_random_model() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tiny = pipelines::hidream::tiny_random::write_tiny_random_model(tmp.path(), 7)
        .expect("tiny model");
    let out = tmp.path().join("cat.png");
    let latents = tmp.path().join("latents.safetensors");
    let o = hidream(&[
        "generate",
        "--model",
        path(&tiny.model_dir),
        "--llama",
        path(&tiny.llama_dir),
        "--prompt",
        "a cat",
        "--variant",
        "dev",
        "--steps",
        "2",
        "--width",
        "2048",
        "--height",
        "512",
        "--json",
        "--save-latents",
        path(&latents),
        "--output",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(&stdout(&o)).expect("json");
    // 2048x512 keeps its 4:1 ratio at the model's 1024x1024 area.
    assert_eq!(summary["size"], serde_json::json!([2048, 512]));
    // --dtype's default: every model in bf16, as HiDream is published.
    assert_eq!(summary["dtype"], "bf16");
    let rgb = png_rgb(&out);
    assert_eq!(rgb.len(), 2048 * 512 * 3);
    assert!(latents.is_file());
    assert!(stderr(&o).contains("size: 2048x512"), "{}", stderr(&o));
    // A1111's infotext: the prompt, no negative line, then the settings.
    let parameters = png_text(&out, "parameters");
    let (prompt, settings) = parameters.split_once('\n').expect("two lines");
    assert_eq!(prompt, "a cat");
    for pair in [
        "Steps: 2",
        "Sampler: Euler",
        "CFG scale: 0.0",
        "Seed: 0",
        "Size: 2048x512",
        "Scheduler: FlowMatchEulerDiscreteScheduler",
        "Shift: 6.0",
        "Variant: dev",
        "Dtype: bf16",
    ] {
        assert!(
            settings.split(", ").any(|p| p == pair),
            "{pair} not in {settings}"
        );
    }
    let json: Value =
        serde_json::from_str(&png_text(&out, "diffusion-npu-toolkit")).expect("JSON chunk");
    assert_eq!(json["extra"]["Variant"], "dev");
}

/// The text of the PNG's `keyword` chunk (tEXt or iTXt).
fn png_text(p: &Path, keyword: &str) -> String {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(p).expect("open png"),
    ));
    let reader = decoder.read_info().expect("png header");
    let info = reader.info();
    let latin1 = info
        .uncompressed_latin1_text
        .iter()
        .find(|t| t.keyword == keyword);
    match latin1 {
        Some(t) => t.text.clone(),
        None => info
            .utf8_text
            .iter()
            .find(|t| t.keyword == keyword)
            .unwrap_or_else(|| panic!("no {keyword} chunk"))
            .get_text()
            .expect("utf8"),
    }
}

#[test]
fn bad_generate_flags_exit_2_naming_the_flag() {
    let tree = model_tree();
    let t = tree.path();
    assert_bad_input(&generate(t, &["--steps", "0"]), "--steps");
    assert_bad_input(&generate(t, &["--width", "0"]), "--width 0");
    assert_bad_input(
        &generate(t, &["--width", "16", "--height", "100000"]),
        "aspect ratio",
    );
    // clap reads --dtype: its message names the value and the flag, and lists the choices.
    assert_bad_input(&generate(t, &["--dtype", "f64"]), "'f64' for '--dtype");
    // No CANN here: the message names the library and every place it looked.
    assert_bad_input(
        &generate(t, &["--device", "npu:0"]),
        "libascendcl.so not found",
    );
    assert_bad_input(&generate(t, &["--guidance=-1"]), "--guidance");
    assert_bad_input(&generate(t, &["--shift", "0"]), "--shift");
    assert_bad_input(&generate(t, &["--variant", "turbo"]), "turbo");
    assert_bad_input(
        &generate(t, &["--latents", "/nonexistent/l.safetensors"]),
        "--latents",
    );
    assert_bad_input(
        &generate(t, &["--output", "/nonexistent-dir/x.png"]),
        "does not exist",
    );
    std::fs::remove_dir_all(t.join("model/vae")).expect("rm");
    assert_bad_input(&generate(t, &["--dry-run"]), "no vae/ folder");
}

#[test]
fn a_missing_llama_folder_exits_2_saying_it_is_supplied_separately() {
    let tree = model_tree();
    std::fs::remove_dir_all(tree.path().join("llama")).expect("rm");
    let o = generate(tree.path(), &["--dry-run"]);
    assert_bad_input(&o, "Llama-3.1-8B-Instruct");
    assert!(stderr(&o).contains("--llama"), "{}", stderr(&o));
}

fn edit(tree: &Path, extra: &[&str]) -> Output {
    let model = tree.join("model");
    let llama = tree.join("llama");
    let mut args = vec![
        "edit",
        "--model",
        path(&model),
        "--llama",
        path(&llama),
        "--instruction",
        "make the sky purple",
    ];
    args.extend_from_slice(extra);
    hidream(&args)
}

#[test]
fn edit_checks_its_inputs_and_reports_its_prompt() {
    let tree = model_tree();
    let t = tree.path();
    let png = t.join("in.png");
    let file = std::fs::File::create(&png).expect("create");
    let mut encoder = png::Encoder::new(file, 16, 16);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&[128; 16 * 16 * 3]).expect("data");
    writer.finish().expect("finish");
    let text = t.join("in.txt");
    std::fs::write(&text, "not an image").expect("write");

    let o = edit(t, &["--image", path(&png), "--dry-run", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(summary["variant"], "e1.1");
    assert_eq!(
        (
            summary["guidance"].clone(),
            summary["image_guidance"].clone()
        ),
        (3.0.into(), 1.5.into())
    );
    assert!(
        summary["prompt"]
            .as_str()
            .expect("prompt")
            .contains("make the sky purple")
    );
    assert_eq!(summary["negative_prompt"], "low quality, blurry, distorted");
    assert_eq!(summary["refine_strength"], 0.3);

    assert_bad_input(
        &edit(t, &["--image", path(&text)]),
        "not a PNG, JPEG or WebP",
    );
    let jpeg = t.join("照片.jpg");
    std::fs::copy(fixtures_folder("input-images").join("photo.jpg"), &jpeg).expect("copy");
    let o = edit(t, &["--image", path(&jpeg), "--dry-run", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_bad_input(&edit(t, &["--image", "/nonexistent.png"]), "--image");
    assert_bad_input(
        &edit(t, &["--image", path(&png), "--variant", "e1-full"]),
        "--lora",
    );
    assert_bad_input(
        &edit(t, &["--image", path(&png), "--refine-strength", "1.5"]),
        "--refine-strength",
    );
    assert_bad_input(
        &edit(
            t,
            &[
                "--image",
                path(&png),
                "--refine-model",
                path(&t.join("llama")),
            ],
        ),
        "no transformer/ folder",
    );
    // The prompt fixture has no scheduler config: refused before any encoder loads.
    let o = edit(
        t,
        &["--image", path(&png), "--output", path(&t.join("e.png"))],
    );
    assert_bad_input(&o, "scheduler_config.json");
    assert!(!stderr(&o).contains("CLIP-L"), "{}", stderr(&o));
    assert!(!t.join("e.png").exists());
}

#[test]
fn encode_writes_diffusers_embeddings() {
    let tree = model_tree();
    let out = tree.path().join("embeds.safetensors");
    let o = hidream(&[
        "encode",
        "--model",
        path(&tree.path().join("model")),
        "--llama",
        path(&tree.path().join("llama")),
        "--prompt",
        "a photo of a cat",
        "--dtype",
        "f32",
        "--json",
        "--output",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(
        summary["tensors"]["llama"],
        serde_json::json!([2, 1, 128, 16])
    );
    let ours = candle_core::safetensors::load(&out, &candle_core::Device::Cpu).expect("output");
    let theirs = candle_core::safetensors::load(
        fixture().join("reference.safetensors"),
        &candle_core::Device::Cpu,
    )
    .expect("reference");
    for name in [
        "t5",
        "llama",
        "pooled",
        "negative.t5",
        "negative.llama",
        "negative.pooled",
    ] {
        assert_close(
            &format!("encode {name}"),
            &ours[name],
            &theirs[&format!("short.{name}")],
            2e-5,
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(tree.path())
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn encode_with_a_broken_tokenizer_exits_2_and_writes_nothing() {
    let tree = model_tree();
    std::fs::remove_file(tree.path().join("model/tokenizer_3/tokenizer.json")).expect("rm");
    let out = tree.path().join("embeds.safetensors");
    let o = hidream(&[
        "encode",
        "--model",
        path(&tree.path().join("model")),
        "--llama",
        path(&tree.path().join("llama")),
        "--prompt",
        "a cat",
        "--output",
        path(&out),
    ]);
    assert_bad_input(&o, "tokenizer_3");
    assert!(stderr(&o).contains("tokenizer.json"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// `hub/models--ORG--NAME` whose `main` snapshot is `folder` (a folder symlink: only the
/// refs/snapshots lookup matters here; tests/it/sd_hub.rs covers blob links).
fn cache_entry(hub: &Path, id: &str, commit: &str, folder: &Path) {
    let repo = hub.join(format!("models--{}", id.replace('/', "--")));
    std::fs::create_dir_all(repo.join("snapshots")).expect("snapshots");
    std::fs::create_dir_all(repo.join("refs")).expect("refs");
    std::os::unix::fs::symlink(folder, repo.join("snapshots").join(commit)).expect("link");
    std::fs::write(repo.join("refs/main"), commit).expect("ref");
}

#[test]
fn model_and_llama_ids_resolve_from_the_hub_cache_and_show_in_json() {
    let tree = model_tree();
    let home = tempfile::tempdir().expect("tempdir");
    let hub = home.path().join("hub");
    let (model_commit, llama_commit) = (
        "1111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222",
    );
    cache_entry(
        &hub,
        "HiDream-ai/HiDream-I1-Dev",
        model_commit,
        &tree.path().join("model"),
    );
    cache_entry(
        &hub,
        "meta-llama/Llama-3.1-8B-Instruct",
        llama_commit,
        &tree.path().join("llama"),
    );
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hidream"))
            .args([
                "generate",
                "--model",
                "HiDream-ai/HiDream-I1-Dev",
                "--variant",
                "dev",
            ])
            .args([
                "--llama",
                "meta-llama/Llama-3.1-8B-Instruct",
                "--prompt",
                "一只猫",
            ])
            .args(["--dry-run", "--json"])
            .args(extra)
            .env_remove("HF_HUB_CACHE")
            .env_remove("HUGGINGFACE_HUB_CACHE")
            .env("HF_HOME", home.path())
            .output()
            .expect("run hidream")
    };
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let models = &doc["models"];
    assert_eq!(
        models["--model"]["id"], "HiDream-ai/HiDream-I1-Dev",
        "{doc}"
    );
    assert_eq!(models["--model"]["revision"], "main");
    assert_eq!(models["--model"]["commit"], model_commit);
    assert_eq!(models["--llama"]["commit"], llama_commit, "{doc}");
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "--llama meta-llama/Llama-3.1-8B-Instruct: revision main (commit {llama_commit})"
        )),
        "{err}"
    );

    // --revision applies to --model alone: a branch --model lacks is an error naming it.
    let o = run(&["--revision", "fp16"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--model HiDream-ai/HiDream-I1-Dev") && err.contains("refs/fp16"),
        "{err}"
    );
}

#[test]
fn a_refine_model_id_not_in_the_cache_is_bad_input_with_the_download_command() {
    let tree = model_tree();
    let hub = tempfile::tempdir().expect("tempdir");
    let model = tree.path().join("model");
    let llama = tree.path().join("llama");
    let o = Command::new(env!("CARGO_BIN_EXE_hidream"))
        .args(["edit", "--model", path(&model), "--llama", path(&llama)])
        .args(["--image", "in.png", "--instruction", "把天空变成紫色"])
        .args(["--refine-model", "HiDream-ai/HiDream-I1-Full", "--dry-run"])
        .env("HF_HUB_CACHE", hub.path())
        .output()
        .expect("run hidream");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--refine-model HiDream-ai/HiDream-I1-Full"),
        "{err}"
    );
    assert!(
        err.contains("hf download HiDream-ai/HiDream-I1-Full"),
        "{err}"
    );
}
