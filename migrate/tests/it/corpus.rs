//! The runnable corpus (`migrate/tests/corpus/`, one small program per rule and per edit that
//! was once wrong): here every program migrates, still compiles and settles in one run. Running
//! the programs before and after needs torch and is `scripts/migrate/run_corpus.sh VENV`.

use super::common::{copy_tree, have, run, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("main.py").is_file())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_corpus_program_migrates_compiles_and_settles() {
    let cases = cases();
    assert!(cases.len() >= 20, "the corpus has {} programs", cases.len());
    let dir = tempfile::tempdir().expect("temp dir");
    for case in &cases {
        let name = case.file_name().expect("case name");
        let tree = dir.path().join(name);
        copy_tree(case, &tree);
        let out = run(&["--apply", "--quiet", "."], &tree);
        assert!(out.status.success(), "{}: {}", tree.display(), stderr(&out));
        let again = run(&["--check", "."], &tree);
        assert!(
            again.status.success(),
            "{}: a second run would change it",
            tree.display()
        );
    }
    if have("python3") {
        let compiled = Command::new("python3")
            .args(["-m", "compileall", "-q"])
            .arg(dir.path())
            .output()
            .expect("python3 runs");
        assert!(
            compiled.status.success(),
            "{}",
            String::from_utf8_lossy(&compiled.stdout)
        );
    }
}
