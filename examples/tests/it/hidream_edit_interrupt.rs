//! `hidream-edit --demo` stopped by SIGINT or SIGTERM while it edits: it exits with
//! 128 + the signal's number, its scratch model folder is gone from TMPDIR, and no
//! output or temporary file is left beside where the output would have gone.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Waits for the child; one that ignores the signal is killed and the test fails rather
/// than hanging (a bound on a hang, not a timing assertion).
fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hidream-edit did not stop after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn interrupt_mid_edit(signal: libc::c_int) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let scratch_root = tmp.path().join("tmp");
    let out_dir = tmp.path().join("输出");
    std::fs::create_dir_all(&scratch_root).expect("mkdir");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let out = out_dir.join("编辑.png");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hidream-edit"))
        .args(["--demo", "--steps", "10000", "--output"])
        .arg(&out)
        .env("TMPDIR", &scratch_root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hidream-edit");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("read stderr") == 0 {
            panic!("hidream-edit ended before editing: {seen}");
        }
        seen.push_str(&line);
        // The stage line printed as the denoising loop starts.
        if line.trim_end() == "editing" {
            break;
        }
    }
    assert!(
        !entries(&scratch_root).is_empty(),
        "the demo's scratch folder"
    );
    // SAFETY: sends a signal to the child this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let status = wait_bounded(&mut child);
    stderr.read_to_string(&mut seen).expect("rest of stderr");
    assert_eq!(status.code(), Some(128 + signal), "{status:?}: {seen}");
    assert!(seen.contains("interrupted"), "{seen}");
    assert_eq!(entries(&scratch_root), Vec::<String>::new(), "scratch left");
    assert_eq!(entries(&out_dir), Vec::<String>::new(), "output left");
}

#[test]
fn sigint_mid_edit_exits_130_leaving_no_scratch_or_output() {
    interrupt_mid_edit(libc::SIGINT);
}

#[test]
fn sigterm_mid_edit_exits_143_leaving_no_scratch_or_output() {
    interrupt_mid_edit(libc::SIGTERM);
}
