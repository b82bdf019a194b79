//! The CI recipes users copy: each `migrate` command of the GitHub Actions workflow in
//! docs/migrate.md and of `.pre-commit-hooks.yaml` runs on a small tree, so a renamed or
//! dropped flag breaks this test instead of a user's pipeline.

use crate::common::*;

/// `migrate ...` commands in the workflow between the docs' `ci-workflow` markers.
fn workflow_commands() -> Vec<String> {
    let docs = std::fs::read_to_string(repo_root().join("docs/migrate.md")).unwrap();
    let start = docs
        .find("<!-- ci-workflow:start -->")
        .expect("start marker");
    let end = docs.find("<!-- ci-workflow:end -->").expect("end marker");
    docs[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("run: "))
        .filter(|cmd| cmd.starts_with("migrate "))
        .map(|cmd| cmd.trim_end_matches(" || true").to_string())
        .collect()
}

/// `entry` plus `args` of each hook, read line by line (the file is flat YAML).
fn hook_commands() -> Vec<String> {
    let hooks = std::fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    let mut out = Vec::new();
    let mut entry = None;
    for line in hooks.lines().map(str::trim) {
        if let Some(e) = line.strip_prefix("entry: ") {
            entry = Some(e.to_string());
        } else if let Some(args) = line.strip_prefix("args: ") {
            let args: Vec<String> = serde_json::from_str(args).expect("args as a flow list");
            out.push(format!(
                "{} {}",
                entry.take().expect("entry first"),
                args.join(" ")
            ));
        }
    }
    out
}

fn run_command(command: &str, dir: &std::path::Path) -> std::process::Output {
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    run(&words, dir)
}

#[test]
fn the_documented_workflow_and_hooks_run_and_gate() {
    let workflow = workflow_commands();
    assert_eq!(workflow.len(), 2, "{workflow:?}");
    let hooks = hook_commands();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    for command in workflow.iter().chain(&hooks) {
        let clean = tempfile::tempdir().unwrap();
        write(&clean.path().join("a.py"), "import torch\n");
        let out = run_command(command, clean.path());
        assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));

        let blocked = tempfile::tempdir().unwrap();
        write(
            &blocked.path().join("a.py"),
            "from sageattention import sageattn\n",
        );
        let out = run_command(command, blocked.path());
        let expected = if command.contains("--fail-on error") {
            1
        } else {
            0
        };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{command}: {}",
            stderr(&out)
        );
    }
}
