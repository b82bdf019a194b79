//! The bundled CUDA-only sample is the migrator's first customer, so it must keep every
//! CUDA-ism the migration rules are written for, and the look-alikes that must stay untouched.
//! These checks stop an edit to the sample from silently dropping a case the docs rely on.

use end_to_end_tests::cuda_project;
use std::path::Path;
use std::process::Command;

fn read(relative: &str) -> String {
    let path = cuda_project().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read sample file {}: {e}", path.display()))
}

fn assert_contains(file: &str, text: &str, needle: &str, why: &str) {
    assert!(
        text.contains(needle),
        "sample file {file} no longer contains `{needle}` ({why})"
    );
}

#[test]
fn inference_script_has_the_hidream_e1_patterns() {
    let file = "inference.py";
    let src = read(file);
    for (needle, why) in [
        (
            r#"pipe.to("cuda", torch.bfloat16)"#,
            "pipeline move with dtype",
        ),
        (r#"torch.Generator("cuda")"#, "device generator"),
        (
            r#"load_file(LORA_PATH, device="cuda")"#,
            "safetensors device argument",
        ),
        ("torch.cuda.memory_summary(", "memory report"),
        ("torch.cuda.synchronize()", "device module function"),
        (r#"device="cpu""#, "negative case: explicit CPU stays CPU"),
        (
            r#"logger.info("loading models onto cuda")"#,
            "negative case: log text",
        ),
        (
            "checkpoints/cuda_run/",
            "negative case: a path containing cuda",
        ),
    ] {
        assert_contains(file, &src, needle, why);
    }
    // The continuation-line case: `.to("cuda", ...)` closes a call spanning several lines.
    let lines: Vec<&str> = src.lines().collect();
    let continuation = lines.iter().enumerate().any(|(i, line)| {
        line.trim_start().starts_with(").to(\"cuda\"") && i > 0 && !lines[i - 1].contains('(')
    });
    assert!(
        continuation,
        "inference.py lost its multi-line `.to(\"cuda\", ...)` call"
    );
    // A docstring that mentions cuda must be present for the negative case.
    let docstring_end = src.find("\"\"\"\n\nimport").expect("module docstring");
    assert!(src[..docstring_end].contains("cuda"));
}

#[test]
fn training_script_has_the_amp_distributed_and_attention_patterns() {
    let file = "train.py";
    let src = read(file);
    for (needle, why) in [
        (
            "from torch.cuda.amp import GradScaler, autocast",
            "legacy amp import",
        ),
        ("with autocast(dtype=torch.bfloat16)", "autocast use"),
        ("GradScaler()", "grad scaler"),
        (r#"init_process_group("nccl")"#, "nccl backend"),
        (".cuda(local_rank)", ".cuda() with a device index"),
        (".cuda(non_blocking=True)", ".cuda() with keyword arguments"),
        (".to(local_rank)", "integer device index"),
        ("device_ids=[local_rank]", "DDP device ids"),
        ("torch.cuda.set_device(local_rank)", "set_device"),
        ("torch.backends.cuda.matmul.allow_tf32 = True", "tf32 flag"),
        ("torch.backends.cudnn.allow_tf32 = True", "cudnn tf32 flag"),
        ("import xformers.ops", "xformers import"),
    ] {
        assert_contains(file, &src, needle, why);
    }
    let guarded = src
        .find("try:\n    from flash_attn import flash_attn_func")
        .expect("train.py lost its guarded flash_attn import");
    assert!(src[guarded..].contains("except ImportError:"));
}

#[test]
fn unguarded_flash_attention_and_float64_cases_exist() {
    let file = "edit_utils/attention.py";
    let src = read(file);
    assert_contains(
        file,
        &src,
        "\nfrom flash_attn import flash_attn_func\n",
        "unguarded import",
    );
    assert_contains(file, &src, "flash_attn_func(q, k, v", "flash_attn call");
    assert_contains(file, &src, "x.is_cuda", "is_cuda decision");
    let file = "edit_utils/pipeline.py";
    let src = read(file);
    assert_contains(
        file,
        &src,
        "dtype=torch.float64, device=\"cuda\"",
        "float64 on device",
    );
    assert_contains(
        file,
        &src,
        "/usr/share/fonts/cuda-sans/",
        "negative case: path",
    );
}

#[test]
fn demo_requirements_and_shell_script_cover_the_rest() {
    let demo = read("gradio_demo.py");
    assert_contains(
        "gradio_demo.py",
        &demo,
        "import gradio as gr",
        "gradio-style demo",
    );
    assert_contains(
        "gradio_demo.py",
        &demo,
        "enable_xformers_memory_efficient_attention()",
        "xformers in diffusers",
    );
    assert_contains(
        "gradio_demo.py",
        &demo,
        "torch.cuda.empty_cache()",
        "cache emptying",
    );

    let reqs = read("requirements.txt");
    for needle in [
        "torch==",
        "diffusers",
        "flash-attn",
        "xformers",
        "/whl/cu121",
    ] {
        assert_contains("requirements.txt", &reqs, needle, "requirement to migrate");
    }

    let run = read("run.sh");
    assert_contains(
        "run.sh",
        &run,
        "export CUDA_VISIBLE_DEVICES=0,1",
        "visible devices",
    );
    assert_contains("run.sh", &run, "nvidia-smi", "GPU status tool");
    assert_contains(
        "run.sh",
        &run,
        "# Fine-tune on the first two GPUs",
        "comment stays",
    );
}

#[test]
fn every_python_file_in_the_sample_compiles() {
    let python = Command::new("python3").arg("--version").output();
    if python.map(|o| !o.status.success()).unwrap_or(true) {
        eprintln!("python3 is not available; skipping the byte-compile check");
        return;
    }
    let mut files = Vec::new();
    collect_python(&cuda_project(), &mut files);
    assert!(
        files.len() >= 5,
        "expected the sample's Python files, found {files:?}"
    );
    // Compile in memory only, so no __pycache__ is written into the source tree.
    let script =
        "import sys\nfor p in sys.argv[1:]:\n    compile(open(p, 'rb').read(), p, 'exec')\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "sample Python does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn collect_python(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("sample directory is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_python(&path, out);
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}
