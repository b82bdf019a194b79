//! Files migrate writes outside `--apply` (the report): what is at the named path is checked
//! before any work, and anything but a regular file is refused, never replaced.

use crate::common::*;
use std::path::Path;

fn tree_with_cuda() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("训练.py"), "x = y.cuda()\n");
    dir
}

fn refused(report: &Path, tree: &Path, what: &str) {
    let out = run(&["--report", report.to_str().unwrap(), "."], tree);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&report.display().to_string()) && err.contains(what),
        "the error names the path and what it is: {err}"
    );
    assert_eq!(stdout(&out), "", "no work is done: no patch");
}

#[cfg(unix)]
#[test]
fn a_report_path_that_is_a_symlink_is_refused_and_kept() {
    let tree = tree_with_cuda();
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("报告-真.json");
    write(&target, "the user's file\n");
    let link = out_dir.path().join("报告.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    refused(&link, tree.path(), "symbolic link");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "the user's file\n"
    );

    // A dangling link is refused the same way, and nothing is created where it points.
    let dangling = out_dir.path().join("dangling.json");
    std::os::unix::fs::symlink(out_dir.path().join("nowhere"), &dangling).unwrap();
    refused(&dangling, tree.path(), "symbolic link");
    assert!(!out_dir.path().join("nowhere").exists());
}

#[cfg(unix)]
#[test]
fn a_report_path_that_is_a_fifo_is_refused_and_kept() {
    use std::os::unix::fs::FileTypeExt;
    if !have("mkfifo") {
        return;
    }
    let tree = tree_with_cuda();
    let out_dir = tempfile::tempdir().unwrap();
    let fifo = out_dir.path().join("report.pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    refused(&fifo, tree.path(), "FIFO");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn a_report_path_that_is_a_directory_or_in_a_missing_one_is_refused() {
    let tree = tree_with_cuda();
    let out_dir = tempfile::tempdir().unwrap();
    refused(out_dir.path(), tree.path(), "a directory");
    let missing = out_dir.path().join("no-such-dir").join("r.json");
    refused(&missing, tree.path(), "does not exist");
}

#[cfg(unix)]
#[test]
fn a_device_node_is_named_as_such() {
    // Only inspected, never written: the check refuses it before anything is opened.
    let err = migrate::output_file::check(Path::new("/dev/null")).unwrap_err();
    assert!(err.to_string().contains("a character device"), "{err}");
}

#[test]
fn an_existing_regular_report_is_replaced_whole_and_keeps_its_mode() {
    let tree = tree_with_cuda();
    let out_dir = tempfile::tempdir().unwrap();
    let report = out_dir.path().join("报告.md");
    write(&report, "old ".repeat(10_000));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = run(
        &[
            "--report",
            report.to_str().unwrap(),
            "--report-format",
            "md",
            ".",
        ],
        tree.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.starts_with("## CUDA -> Ascend NPU migration") && !text.contains("old "));
    assert!(text.contains("训练.py"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&report).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let names: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}
