//! README.md promises two commands; these tests hold it to that: the main job runs on the
//! bundled sample, and CI runs exactly the documented test command.

use end_to_end_tests::{workspace_binary, workspace_root};
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md")
}

/// The first `cargo ...` line of each fenced block in the "two commands" section.
fn two_commands() -> Vec<String> {
    let text = readme();
    let section = text
        .split("## The two commands")
        .nth(1)
        .expect("README has a 'The two commands' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo "))
        .map(String::from)
        .collect()
}

#[test]
fn readme_names_the_main_job_and_the_test_command() {
    let commands = two_commands();
    assert_eq!(
        commands,
        vec![
            "cargo run --release --bin migrate -- examples/cuda-project".to_string(),
            "cargo nextest run --workspace --locked".to_string(),
        ]
    );
}

#[test]
fn ci_runs_exactly_the_readme_test_command() {
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).expect(".ci/run");
    let test_command = &two_commands()[1];
    assert!(
        ci.lines().any(|l| l.trim() == test_command),
        ".ci/run does not run `{test_command}`"
    );
    for gate in [
        "cargo fmt --all --check",
        "cargo clippy --workspace --all-targets",
    ] {
        assert!(ci.contains(gate), ".ci/run lacks `{gate}`");
    }
}

#[test]
fn the_main_job_prints_a_patch_for_the_sample() {
    // The README runs it with --release; the test uses the binary this build produced.
    let Some(migrate) = workspace_binary("migrate") else {
        panic!("the migrate binary was not built next to the tests");
    };
    let out = Command::new(migrate)
        .arg("examples/cuda-project")
        .current_dir(workspace_root())
        .output()
        .expect("migrate runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patch = String::from_utf8(out.stdout).expect("UTF-8 patch");
    assert!(
        patch.starts_with("diff --git a/device_utils.py b/device_utils.py\nnew file mode 100644\n")
    );
    assert!(patch.contains("+    pipe = pipe.to(device_utils.DEVICE, torch.bfloat16)"));
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("files scanned"), "{summary}");
}

/// The Quick start's `cargo run --release --bin NAME -- ARGS` lines (comments and shell
/// redirections dropped, backslash continuations joined).
fn quick_start_commands() -> Vec<(String, Vec<String>)> {
    let text = readme();
    let section = text
        .split("## Quick start")
        .nth(1)
        .expect("README has a 'Quick start' section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let joined = section.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("cargo run --release --bin "))
        .map(|rest| {
            let rest = rest.split(" #").next().unwrap_or(rest);
            let rest = rest.split(" > ").next().unwrap_or(rest);
            let mut words = rest.split_whitespace();
            let name = words.next().unwrap_or_default().to_string();
            let args = words.skip_while(|w| *w == "--").map(String::from).collect();
            (name, args)
        })
        .collect()
}

/// Whether a Quick start command needs something a fresh checkout does not have: a model
/// folder, a project of the reader's own.
fn needs_the_readers_files(args: &[String]) -> bool {
    args.iter()
        .any(|a| a.starts_with("./") || a.starts_with("path/") || a.contains("-2-1"))
}

#[test]
fn the_quick_start_commands_that_need_no_weights_work_as_written() {
    let commands = quick_start_commands();
    let runnable: Vec<_> = commands
        .iter()
        .filter(|(_, args)| !needs_the_readers_files(args))
        .collect();
    // migrate explain and the hidream-edit demo, at least; a README edit that drops them
    // should be a conscious one.
    assert!(runnable.len() >= 2, "{commands:?}");
    let scratch = tempfile::tempdir().expect("tempdir");
    for (name, args) in runnable {
        let Some(binary) = workspace_binary(name) else {
            panic!("the {name} binary was not built next to the tests");
        };
        let out = Command::new(binary)
            .args(args)
            .current_dir(scratch.path())
            .env_remove("PREFERRED_DEVICE")
            .env_remove("PREFERRED_DTYPE")
            .output()
            .expect("the command runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "`{name} {}` as the README writes it: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
