//! File names a patch has to quote (newline, tab, quote, backslash) or cannot express at all
//! (not UTF-8): the first are C-quoted as git does, the second reported as skipped.

use crate::common::*;
use std::process::Command;

const NAMES: &[&str] = &[
    "a\nb.py",
    "tab\there.py",
    "quote\"d.py",
    "back\\slash.py",
    "中文 名字.py",
    "dir with space/模型.py",
];

#[test]
fn quoted_names_make_a_patch_git_applies() {
    let dir = tempfile::tempdir().unwrap();
    for name in NAMES {
        write(&dir.path().join(name), "x = y.cuda()  # 注释\n");
    }
    let out = run(&["."], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patch = stdout(&out);
    assert!(
        patch.contains("diff --git \"a/a\\nb.py\" \"b/a\\nb.py\"\n"),
        "{patch}"
    );
    assert!(patch.contains("+++ b/中文 名字.py\n"), "{patch}");
    std::fs::write(dir.path().join("npu.patch"), &patch).unwrap();
    if !have("git") {
        return;
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let check = git(&["apply", "--check", "npu.patch"]);
    assert!(
        check.status.success(),
        "git apply --check: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(git(&["apply", "npu.patch"]).status.success());
    for name in NAMES {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(text.contains("device_utils.DEVICE"), "{name:?}: {text}");
    }
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_reported_not_silently_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
    if std::fs::write(dir.path().join(name), "x = y.cuda()\n").is_err() {
        return; // a file system that only takes UTF-8 names
    }
    write(&dir.path().join("好.py"), "x = y.cuda()\n");
    let out = run(&["."], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("caf\u{fffd}.py: skipped: file name is not UTF-8"),
        "{err}"
    );
    assert!(err.contains("1 skipped"), "{err}");
    assert!(stdout(&out).contains("+++ b/好.py"));
}
