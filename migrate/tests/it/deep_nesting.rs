//! Files nested deep enough to exhaust a parser's stack: refused at that file with the
//! reason, while the rest of the tree still migrates and the report is written.

use crate::common::*;
use migrate::file_result::FileStatus;
use migrate::nesting::{MAX_BRACKET_DEPTH, MAX_DEPTH_ESTIMATE};
use migrate::run::{RunConfig, migrate_paths};

fn deep_brackets(depth: usize) -> String {
    format!(
        "x = y.cuda()\nz = {}1{}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    )
}

fn long_chain(terms: usize) -> String {
    format!("x = y.cuda()\nz = {}\n", vec!["a"; terms].join(" + "))
}

#[test]
fn one_deeply_nested_file_is_refused_and_the_rest_migrates() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("好.py"), "x = y.cuda()\n");
    write(&dir.path().join("brackets.py"), deep_brackets(100_000));
    write(&dir.path().join("chain.py"), long_chain(20_000));
    write(
        &dir.path().join("lib.rs"),
        format!(
            "// cuda\nfn f() {{ let x = {}1{}; }}\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
    );
    let report = dir.path().join("report.json");
    let out = run(&["--report", report.to_str().unwrap(), "."], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("brackets.py: error: line 2: brackets nested more than 200 deep"),
        "{err}"
    );
    assert!(
        err.contains("chain.py: error: line 2: an expression nested or chained more than"),
        "{err}"
    );
    assert!(
        err.contains("lib.rs: error: line 2: brackets nested"),
        "{err}"
    );
    assert!(err.contains("MG003"), "{err}");
    let patch = stdout(&out);
    assert!(patch.contains("+++ b/好.py") && patch.contains("+++ b/device_utils.py"));
    assert!(!patch.contains("brackets.py") && !patch.contains("chain.py"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["totals"]["files_failed"], 3);
}

#[test]
fn the_deepest_files_the_limits_allow_are_processed_on_the_worker_stack() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("brackets.py"),
        deep_brackets(MAX_BRACKET_DEPTH),
    );
    // `-` chains nest one level per token: as deep as the estimate lets a file go.
    let unary = format!(
        "x = y.cuda()\nz = {}1\n",
        "-".repeat(MAX_DEPTH_ESTIMATE - 10)
    );
    write(&dir.path().join("unary.py"), unary);
    write(
        &dir.path().join("chain.py"),
        long_chain(MAX_DEPTH_ESTIMATE / 2 - 10),
    );
    let not_chain = format!(
        "x = y.cuda()\nz = {}a\n",
        "not ".repeat(MAX_DEPTH_ESTIMATE / 2 - 10)
    );
    write(&dir.path().join("not.py"), not_chain);
    let run = migrate_paths(&[dir.path().to_path_buf()], &RunConfig::default()).unwrap();
    for name in ["brackets.py", "unary.py", "chain.py", "not.py"] {
        let file = run.files.iter().find(|f| f.relative == name).unwrap();
        assert_eq!(
            file.status,
            FileStatus::Changed,
            "{name}: {:?}",
            file.reason
        );
    }
}
