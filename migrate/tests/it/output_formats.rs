//! `--output-format`: SARIF validated against the official 2.1.0 schema (a committed
//! fixture), GitHub annotations in GitHub's workflow-command form, and JSON / JSON lines
//! holding the same findings.

use crate::common::*;
use std::path::Path;

/// A tree with an error (unguarded flash-attn import), a warning in a Chinese-named file,
/// a notebook that is not JSON (a failed file) and a rewrite.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("train.py"),
        "import torch\nfrom sageattention import sageattn\nx = torch.zeros(1).cuda()\n",
    );
    write(
        &dir.path().join("脚本/运行 1.sh"),
        "nvidia-smi | grep MiB\n",
    );
    write(&dir.path().join("broken.ipynb"), "{\"cells\": [x.cuda()");
    dir
}

fn output(args: &[&str], dir: &Path) -> (Option<i32>, String, String) {
    let out = run(args, dir);
    (out.status.code(), stdout(&out), stderr(&out))
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let dir = tree();
    let (code, sarif, err) = output(&["--output-format", "sarif", "."], dir.path());
    assert_eq!(code, Some(2), "the broken notebook is an error: {err}");
    let log: serde_json::Value = serde_json::from_str(&sarif).expect("stdout is one JSON document");
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the official schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{sarif}");

    let run = &log["runs"][0];
    assert_eq!(log["version"], "2.1.0");
    let results = run["results"].as_array().unwrap();
    let at = |code: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == code)
            .unwrap_or_else(|| panic!("no {code} in {results:#?}"))
    };
    let py101 = at("PY101");
    assert_eq!(py101["level"], "error");
    let location = &py101["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "train.py");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 2);
    let rule = &run["tool"]["driver"]["rules"][py101["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "PY101");
    let sh103 = at("SH103");
    assert_eq!(sh103["level"], "warning");
    assert_eq!(
        sh103["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "%E8%84%9A%E6%9C%AC/%E8%BF%90%E8%A1%8C%201.sh",
        "percent-encoded UTF-8, by hand"
    );
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let failure = &invocation["toolExecutionNotifications"][0];
    assert_eq!(
        failure["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "broken.ipynb"
    );
    assert!(
        results.iter().all(|r| r["ruleId"] != "PY002"),
        "rewrites are not results"
    );
}

#[test]
fn a_sarif_log_that_breaks_the_schema_is_caught() {
    // The schema check itself can fail: a log without the required version is refused.
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({ "runs": [{ "tool": { "driver": {} } }] });
    assert!(!validator.is_valid(&bad));
}

#[test]
fn github_annotations_are_workflow_commands() {
    let dir = tree();
    let (code, out, err) = output(&["--check", "--output-format", "github", "."], dir.path());
    assert_eq!(code, Some(2), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::error file=broken.ipynb,title=migrate::not migrated: not a notebook (invalid JSON: "
        )),
        "a file-wide finding has no line or column: {out}"
    );
    let py101 = lines
        .iter()
        .find(|l| {
            l.starts_with("::error file=train.py,line=2,col=1,title=migrate PY101 (flash-attn)::")
        })
        .unwrap_or_else(|| panic!("{out}"));
    assert!(py101.contains("%0ASuggested fix: "), "{py101}");
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::warning file=脚本/运行 1.sh,line=1,col=1,title=migrate SH103 (nvidia-smi-inline)::`nvidia-smi | grep MiB`%0ASuggested fix: "
        )),
        "{out}"
    );
    assert!(
        out.lines().all(|l| l.starts_with("::")),
        "nothing else on stdout: {out}"
    );
    assert!(
        !err.contains("[PY101]"),
        "no text diagnostics besides: {err}"
    );
}

#[test]
fn annotation_paths_are_relative_to_the_working_directory() {
    let dir = tree();
    let (_, out, _) = output(&["--output-format", "github", "sub"], &{
        let parent = dir.path().to_path_buf();
        std::fs::create_dir_all(parent.join("sub")).unwrap();
        write(&parent.join("sub/a.py"), "import sageattention\n");
        parent
    });
    assert!(
        out.starts_with("::error file=sub/a.py,line=1,col=1,"),
        "{out}"
    );
}

#[test]
fn json_and_json_lines_hold_the_same_records() {
    let dir = tree();
    let (_, json, _) = output(&["--output-format", "json", "."], dir.path());
    let (_, lines, _) = output(&["--output-format", "json-lines", "."], dir.path());
    let array: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let streamed: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(array, streamed);
    let py101 = array.iter().find(|r| r["code"] == "PY101").unwrap();
    assert_eq!(py101["path"], "train.py");
    assert_eq!(py101["line"], 2);
    assert_eq!(py101["severity"], "error");
    assert_eq!(py101["name"], "flash-attn");
    let failed = array.iter().find(|r| r["path"] == "broken.ipynb").unwrap();
    assert_eq!(failed["code"], serde_json::Value::Null);
    assert_eq!(failed["severity"], "error");
}

#[test]
fn output_file_keeps_the_patch_on_stdout() {
    let dir = tree();
    let (_, patch, err) = output(
        &[
            "--output-format",
            "sarif",
            "--output-file",
            "out.sarif",
            ".",
        ],
        dir.path(),
    );
    assert!(patch.starts_with("diff --git "), "{patch}{err}");
    let sarif = std::fs::read_to_string(dir.path().join("out.sarif")).unwrap();
    assert!(sarif.contains("\"version\": \"2.1.0\""));
}
