//! `hidream generate` on the tiny random model when something is wrong: each failure
//! comes before the work it would waste, with the status that says whose fault it is,
//! and leaves no output or temporary file behind.

use crate::common::{path, stderr, stdout};
use candle_core::{DType, Device, Tensor};
use pipelines::hidream::tiny_random::{TinyRandomModel, write_tiny_random_model};
use std::path::Path;
use std::process::{Command, Output};

fn generate(tiny: &TinyRandomModel, extra: &[&str]) -> Output {
    let mut args = vec![
        "generate",
        "--model",
        path(&tiny.model_dir),
        "--llama",
        path(&tiny.llama_dir),
        // Chinese: the prompt reaches the tokenizers and the PNG's text chunk.
        "--prompt",
        "一只猫",
        "--variant",
        "dev",
        "--steps",
        "2",
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_hidream"))
        .args(&args)
        .output()
        .expect("run hidream")
}

/// Everything in `dir` but the model's own folders.
fn files_left(dir: &Path, tiny: &TinyRandomModel) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .filter(|p| *p != tiny.model_dir && *p != tiny.llama_dir)
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn a_truncated_vae_is_refused_naming_it_before_encoding() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tiny = write_tiny_random_model(tmp.path(), 5).expect("tiny model");
    let vae = std::fs::read_dir(tiny.model_dir.join("vae"))
        .expect("ls vae")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .expect("vae weights");
    let bytes = std::fs::read(&vae).expect("read");
    std::fs::write(&vae, &bytes[..bytes.len() / 2]).expect("truncate");
    let out = tmp.path().join("猫.png");
    let o = generate(&tiny, &["--output", path(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let name = vae
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(err.contains(&format!("error: {}", vae.display())), "{err}");
    assert!(err.contains(&name), "{err}");
    for stage in [
        "encoding the prompt",
        "loading the transformer",
        "memory estimate",
    ] {
        assert!(!err.contains(stage), "got as far as {stage:?}: {err}");
    }
    assert_eq!(files_left(tmp.path(), &tiny), Vec::<String>::new());
}

#[test]
fn latents_that_turn_to_nan_stop_the_run_at_that_step_with_status_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tiny = write_tiny_random_model(tmp.path(), 6).expect("tiny model");
    // Finite, but past what the transformer's arithmetic survives: its first step makes
    // NaN or inf of them.
    // [batch, channels, 2 * (1024 / 16), ...]: the tiny model at the default 1024x1024.
    let huge = Tensor::full(3e38f32, (1, 16, 128, 128), &Device::Cpu).expect("latents");
    let latents = tmp.path().join("huge.safetensors");
    candle_core::safetensors::save(
        &std::collections::HashMap::from([("latents", huge.to_dtype(DType::F32).expect("f32"))]),
        &latents,
    )
    .expect("save");
    let out = tmp.path().join("out.png");
    let saved = tmp.path().join("final.safetensors");
    let o = generate(
        &tiny,
        &[
            "--latents",
            path(&latents),
            "--save-latents",
            path(&saved),
            "--output",
            path(&out),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("step 1 of 2 produced NaN/inf latents"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(&latents).expect("rm");
    assert_eq!(files_left(tmp.path(), &tiny), Vec::<String>::new());
}

#[test]
fn step_counts_past_the_bound_exit_2_naming_the_flag_before_any_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tiny = write_tiny_random_model(tmp.path(), 7).expect("tiny model");
    for steps in ["18446744073709551615", "4294967295", "10001"] {
        let mut args = vec![
            "generate",
            "--model",
            path(&tiny.model_dir),
            "--llama",
            path(&tiny.llama_dir),
            "--prompt",
            "a cat",
            "--steps",
            steps,
            "--output",
        ];
        let out = tmp.path().join("out.png");
        args.push(path(&out));
        let o = Command::new(env!("CARGO_BIN_EXE_hidream"))
            .args(&args)
            .output()
            .expect("run hidream");
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("--steps {steps}")),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty());
    }
    assert_eq!(files_left(tmp.path(), &tiny), Vec::<String>::new());
}
