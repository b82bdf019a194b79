//! What the report's figures count: tests and fixtures apart from the project's code, and a
//! file reaching CUDA through a name no rule follows is never "fully converted".

use super::common::{run, stderr, write};

fn report(dir: &std::path::Path) -> serde_json::Value {
    let out = run(&["--report", "report.json", "proj"], dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report written");
    serde_json::from_str(&text).expect("report is JSON")
}

#[test]
fn tests_and_fixtures_are_counted_apart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let unknown = "y = x.cuda(where)\n";
    write(&dir.path().join("proj/train.py"), unknown);
    write(&dir.path().join("proj/tests/test_训练.py"), unknown);
    write(&dir.path().join("proj/fixtures/case.py"), unknown);
    let report = report(dir.path());
    let totals = &report["totals"];
    assert_eq!(totals["unconverted"], 1, "{totals}");
    assert_eq!(totals["tests"]["files"], 2, "{totals}");
    assert_eq!(totals["tests"]["unconverted"], 2, "{totals}");
    assert_eq!(totals["diagnostics_by_severity"]["warning"], 1, "{totals}");
}

#[test]
fn an_aliased_torch_is_never_zero_of_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A name bound to torch.cuda that no rule rewrites: reported, so 0 of 1, not 0 of 0.
    write(
        &dir.path().join("proj/dist_util.py"),
        "import torch.cuda as tc\nbackend_module = tc\n",
    );
    let report = report(dir.path());
    assert_eq!(
        report["totals"]["cuda_references"], 1,
        "{}",
        report["totals"]
    );
    assert_eq!(report["totals"]["converted"], 0);
}
