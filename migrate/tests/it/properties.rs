//! Properties that must hold for every Python file the repository ships as sample or
//! fixture, in both styles: the output parses, comments survive verbatim, a second run
//! changes nothing, and (with python3 present) the output byte-compiles.

use crate::common::*;
use migrate::python;
use migrate::text::SourceText;
use migrate::{RuleOptions, Style};
use ruff_python_parser::parse_module;
use ruff_text_size::Ranged;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for root in [
        sample(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
    ] {
        collect(&root, &mut files);
    }
    assert!(
        files.len() >= 12,
        "expected the sample and fixture files, found {}",
        files.len()
    );
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable fixture dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            if !path.ends_with("python-invalid") && !path.ends_with("hostile") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

fn comments(source: &str) -> Vec<String> {
    let parsed = parse_module(source).expect("parses");
    parsed
        .tokens()
        .iter()
        .filter(|t| t.kind() == ruff_python_ast::token::TokenKind::Comment)
        .map(|t| source[t.range().start().to_usize()..t.range().end().to_usize()].to_string())
        .collect()
}

#[test]
fn every_fixture_rewrites_to_parsing_stable_comment_preserving_python() {
    let outputs = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for style in [Style::Portable, Style::Npu] {
        let options = RuleOptions {
            style,
            ..RuleOptions::default()
        };
        for path in python_files() {
            let text = std::fs::read_to_string(&path).unwrap();
            let input = SourceText::new(&text);
            let first = python::migrate(&input, &options)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let result = first.text(&input);
            let output = result.to_file_text();
            let body = &result.body;
            assert!(
                parse_module(body).is_ok(),
                "{} ({style:?}): output does not parse",
                path.display()
            );
            assert_eq!(
                comments(&input.body),
                comments(body),
                "{} ({style:?}): comments changed",
                path.display()
            );
            assert_eq!(
                input.bom,
                result.bom,
                "{}: BOM state changed",
                path.display()
            );
            assert_eq!(
                text.ends_with('\n'),
                output.ends_with('\n'),
                "{}: final newline changed",
                path.display()
            );
            if text.contains("\r\n") {
                assert_eq!(
                    output.matches('\n').count(),
                    output.matches("\r\n").count(),
                    "{}: mixed line endings",
                    path.display()
                );
            }
            let second = python::migrate(result, &options).unwrap();
            assert_eq!(
                second.text(result).to_file_text(),
                output,
                "{} ({style:?}): second run changed the file",
                path.display()
            );
            assert!(second.edits.is_empty());

            let name = format!("{style:?}_{}", path.file_name().unwrap().to_string_lossy());
            let target = outputs.path().join(name);
            std::fs::write(&target, &output).unwrap();
            written.push(target);
        }
    }
    if have("python3") {
        let script =
            "import sys\nfor p in sys.argv[1:]:\n    compile(open(p, 'rb').read(), p, 'exec')\n";
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(&written)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rewritten Python does not compile:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn hidream_e1_project_ports_like_the_seed_guide() {
    // The HiDream-E1 NPU guide's port by hand: pipe.to(device, dtype), a device-independent
    // generator, memory reporting through the device module, LoRA loaded to the selected
    // device, flash-attn dropped from requirements. migrate must get there on its own.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hidream-e1-project");
    let out = run(&["."], &root);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patch = stdout(&out);
    for expected in [
        "+    pipe = pipe.to(device_utils.DEVICE, torch.bfloat16)",
        "+        generator=device_utils.generator(args.seed),",
        "+    print(device_utils.DEVICE_MODULE.memory_summary(device=device_utils.DEVICE, abbreviated=True))",
        "+        pipe.transformer.load_state_dict(load_file(lora_path, device=device_utils.DEVICE), strict=False)",
        "+    generator = device_utils.generator(int(seed))",
        "+    free, total = device_utils.DEVICE_MODULE.mem_get_info()",
        "+# flash-attn  # migrate RQ001: CUDA-only, no Ascend build",
        "+torch-npu",
        "+++ b/device_utils.py",
    ] {
        assert!(
            patch.contains(expected),
            "missing `{expected}` in:\n{patch}"
        );
    }
    let user_files: String = patch
        .split("diff --git ")
        .filter(|section| !section.starts_with("a/device_utils.py"))
        .collect();
    assert!(
        !user_files
            .lines()
            .any(|l| l.starts_with('+') && l.contains("\"cuda\"")),
        "a cuda device string survived:\n{user_files}"
    );
    assert!(stderr(&out).contains("RQ101"), "unpinned torch is reported");
}

#[test]
fn a_file_that_does_not_parse_is_left_alone_and_reported() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python-invalid");
    let out = run(&["."], &root);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("syntax_error.py: error: syntax error at 1:12"),
        "{}",
        stderr(&out)
    );
}
