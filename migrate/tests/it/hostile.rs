//! A bounded, seeded sweep of hostile trees: Python, requirements, shell, Cargo.toml and
//! notebooks with odd bytes, line breaks, nesting and file names, plus the kept inputs in
//! tests/fixtures/hostile/. Every run must finish (no panic, no hang), every file must be
//! migrated or reported with a reason, and the patch must apply with git.

use crate::common::*;
use migrate::file_result::FileStatus;
use migrate::run::{RunConfig, migrate_paths};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

const TREES: usize = 100;

struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next(from.len())]
    }
}

const PYTHON_LINES: &[&str] = &[
    "import torch",
    "x = y.cuda()",
    "torch.cuda.synchronize()",
    "d = torch.device('cuda:1')",
    "g = torch.Generator('cuda').manual_seed(0)",
    "s = '模型 cuda 中文'",
    "def f(device='cuda'):\n\treturn x.to(device)",
    "from flash_attn import flash_attn_func",
    "with torch.cuda.amp.autocast():\n    pass",
    "os.environ['CUDA_VISIBLE_DEVICES'] = '0'",
    "x = (((((y.cuda())))))",
    "def broken(:",
    "\"\"\"unterminated",
    "x = f'{y.cuda()}'",
];
const REQUIREMENT_LINES: &[&str] = &[
    "torch==2.1.0",
    "flash-attn>=2",
    "--extra-index-url https://download.pytorch.org/whl/cu118",
    "nvidia-cublas-cu12",
    "xformers ; python_version > '3.8'",
    "# 注释 cuda",
    "-r other.txt",
];
const SHELL_LINES: &[&str] = &[
    "export CUDA_VISIBLE_DEVICES=0,1",
    "nvidia-smi",
    "CUDA_VISIBLE_DEVICES=1 python train.py",
    "echo \"$(nvidia-smi -L)\"",
    "export NCCL_DEBUG=INFO",
];
const MANIFEST_LINES: &[&str] = &[
    "[package]\nname = \"app\"\nversion = \"0.1.0\"",
    "[dependencies]\ncandle-core = { version = \"0.8\", features = [\"cuda\"] }",
    "cudarc = \"0.11\"",
    "[features]\ncuda = [\"candle-core/cuda\"]",
    "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]",
    "[dependencies\nbroken",
];
const STEMS: &[&str] = &[
    "main",
    "模型",
    "a b",
    "new\nline",
    "tab\tname",
    "quo\"te",
    "back\\slash",
    "-dash",
    "sub/深/层",
];
const BREAKS: &[&str] = &["\n", "\r\n", "\r"];

fn text(rng: &mut Rng, lines: &[&str]) -> Vec<u8> {
    let newline = rng.pick(BREAKS);
    let mut out: Vec<u8> = Vec::new();
    if rng.next(8) == 0 {
        out.extend("\u{feff}".as_bytes());
    }
    for _ in 0..1 + rng.next(8) {
        out.extend(rng.pick(lines).replace('\n', newline).as_bytes());
        out.extend(newline.as_bytes());
    }
    match rng.next(10) {
        0 => out.extend(b"\xff\xfe cuda"),
        1 => out.extend(b"\0cuda"),
        2 => {
            let depth = 150 + rng.next(100);
            out.extend(format!("z = {}1{}", "(".repeat(depth), ")".repeat(depth)).bytes());
        }
        3 => out.extend(format!("z = {}", vec!["a"; 3_000 + rng.next(4_000)].join("+")).bytes()),
        4 => out.truncate(out.len() / 2),
        _ => {}
    }
    out
}

/// Writes one generated tree; returns the paths written, relative to the root.
fn generate(rng: &mut Rng, root: &Path) -> Vec<PathBuf> {
    let mut written = Vec::new();
    for _ in 0..2 + rng.next(5) {
        let stem = rng.pick(STEMS);
        let (name, content) = match rng.next(5) {
            0 => (format!("{stem}.py"), text(rng, PYTHON_LINES)),
            1 => (
                format!("{stem}-requirements.txt"),
                text(rng, REQUIREMENT_LINES),
            ),
            2 => (format!("{stem}.sh"), text(rng, SHELL_LINES)),
            3 => (format!("{stem}/Cargo.toml"), text(rng, MANIFEST_LINES)),
            _ => {
                let cell = String::from_utf8_lossy(&text(rng, PYTHON_LINES)).into_owned();
                let json = serde_json::json!({"cells": [{"cell_type": "code", "source": [cell]}]});
                (format!("{stem}.ipynb"), json.to_string().into_bytes())
            }
        };
        let path = root.join(&name);
        if std::fs::create_dir_all(path.parent().unwrap()).is_ok()
            && std::fs::write(&path, content).is_ok()
        {
            written.push(PathBuf::from(name));
        }
    }
    written
}

/// Runs a whole migration of `root` with a time limit, then checks every property.
fn migrate_and_check(root: &Path, written: &[PathBuf], label: &str) {
    let (send, receive) = mpsc::channel();
    let start = root.to_path_buf();
    std::thread::spawn(move || {
        let _ =
            send.send(migrate_paths(&[start], &RunConfig::default()).map_err(|e| e.to_string()));
    });
    let run = receive
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{label}: no result within 20 s (hang or panic)"))
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    for path in written {
        let relative = path.to_string_lossy().replace('\\', "/");
        let relative = if cfg!(windows) {
            relative
        } else {
            path.to_string_lossy().into_owned()
        };
        let Some(file) = run.files.iter().find(|f| f.relative == relative) else {
            panic!("{label}: {relative:?} is neither migrated nor reported");
        };
        if matches!(file.status, FileStatus::Skipped | FileStatus::Failed) {
            assert!(
                file.reason.is_some(),
                "{label}: {relative:?} refused without a reason"
            );
        }
    }
    let patch = migrate::patch::for_migration(&run);
    if patch.is_empty() || !have("git") {
        return;
    }
    let patch_file = root.join(".npu.patch");
    std::fs::write(&patch_file, &patch).unwrap();
    let check = std::process::Command::new("git")
        .args(["apply", "--check", ".npu.patch"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{label}: git apply --check: {}\n{patch}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn generated_hostile_trees_migrate_or_are_reported_and_patches_apply() {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    for tree in 0..TREES {
        let dir = tempfile::tempdir().unwrap();
        let written = generate(&mut rng, dir.path());
        migrate_and_check(dir.path(), &written, &format!("tree {tree}"));
    }
}

#[test]
fn kept_hostile_inputs_migrate_or_are_reported() {
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for entry in std::fs::read_dir(&kept).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let name = PathBuf::from(path.file_name().unwrap());
        std::fs::copy(&path, dir.path().join(&name)).unwrap();
        written.push(name);
    }
    assert!(written.len() >= 5, "kept inputs in {}", kept.display());
    migrate_and_check(dir.path(), &written, "kept inputs");
}
