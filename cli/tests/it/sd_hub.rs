//! `sd --model ORG/NAME` against a Hugging Face cache built in a temporary folder the way
//! the hub lays it out (real files in blobs/, symlinks in snapshots/HASH/, refs/main
//! holding the hash): the id resolves offline to the snapshot, and a missing or malformed
//! id exits 2 saying where it looked and how to fetch it. The cache variables are set on
//! the child process only.

use crate::common::{fixtures, png_rgb, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAIN: &str = "5f3c1a9e0b7d2468ace13579bdf02468ace13579";
const OLD: &str = "aaaabbbbccccddddeeeeffff0000111122223333";

/// Every regular file under `dir`, relative to it.
fn files(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir.join(rel)).expect("read_dir") {
        let entry = entry.expect("entry");
        let rel = rel.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            files(dir, &rel, out);
        } else {
            out.push(rel);
        }
    }
}

/// `hub/models--ORG--NAME` with the tiny SD model as snapshot `commit` of `refs/REF`.
fn add_snapshot(hub: &Path, repo: &str, reference: &str, commit: &str) {
    let repo = hub.join(repo);
    let model = fixtures().join("tiny-sd2");
    let mut all = Vec::new();
    files(&model, Path::new(""), &mut all);
    for (i, rel) in all.iter().enumerate() {
        let blob = format!("{commit}-{i:04}");
        std::fs::create_dir_all(repo.join("blobs")).expect("blobs");
        std::fs::copy(model.join(rel), repo.join("blobs").join(&blob)).expect("blob");
        let link = repo.join("snapshots").join(commit).join(rel);
        std::fs::create_dir_all(link.parent().expect("parent")).expect("snapshot dir");
        // Relative, like the hub's: up out of snapshots/HASH/<subfolders>.
        let up = "../".repeat(rel.components().count() + 1);
        std::os::unix::fs::symlink(format!("{up}blobs/{blob}"), &link).expect("symlink");
    }
    std::fs::create_dir_all(repo.join("refs")).expect("refs");
    std::fs::write(repo.join("refs").join(reference), commit).expect("ref");
}

/// sd with no cache variable inherited from the test's own environment.
fn sd(model: &str, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sd"));
    for var in [
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
    ] {
        c.env_remove(var);
    }
    c.args(["--model", model, "--prompt", "一只戴着宇航员头盔的猫"])
        .args([
            "--steps", "2", "--seed", "3", "--width", "32", "--height", "32",
        ])
        .arg("--output")
        .arg(out);
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run sd")
}

#[test]
fn an_id_in_the_cache_runs_the_snapshot_main_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = dir.path().join("hub");
    add_snapshot(&hub, "models--tiny-org--tiny-sd2", "main", MAIN);
    let (by_id, by_folder) = (dir.path().join("id.png"), dir.path().join("folder.png"));
    let o = run(sd("tiny-org/tiny-sd2", &by_id).env("HF_HUB_CACHE", &hub));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let snapshot = hub.join("models--tiny-org--tiny-sd2/snapshots").join(MAIN);
    let line = err
        .lines()
        .find(|l| l.starts_with("--model tiny-org/tiny-sd2"))
        .unwrap_or_else(|| panic!("no resolution line in {err}"));
    assert!(
        line.contains("revision main") && line.contains(MAIN),
        "{line}"
    );
    assert!(line.contains(&snapshot.display().to_string()), "{line}");
    let folder = fixtures().join("tiny-sd2");
    let o = run(&mut sd(folder.to_str().expect("utf8"), &by_folder));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(png_rgb(&by_id), png_rgb(&by_folder));
}

#[test]
fn hf_home_and_a_revision_by_tag_or_hash_pick_that_snapshot() {
    let home = tempfile::tempdir().expect("tempdir");
    let hub = home.path().join("hub");
    add_snapshot(&hub, "models--org--sd", "main", MAIN);
    add_snapshot(&hub, "models--org--sd", "v1", OLD);
    for revision in ["v1", OLD, &OLD[..8]] {
        let out = home.path().join("out.png");
        let o = run(sd("org/sd", &out)
            .args(["--revision", revision])
            .env("HF_HOME", home.path()));
        let err = stderr(&o);
        assert!(o.status.success(), "{revision}: {err}");
        assert!(
            err.contains(&format!("revision {revision} (commit {OLD})")),
            "{revision}: {err}"
        );
    }
}

#[test]
fn a_model_not_in_the_cache_exits_2_with_the_places_and_the_download_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = dir.path().join("缓存");
    add_snapshot(&hub, "models--org--sd", "main", MAIN);
    let out = dir.path().join("out.png");
    let o = run(sd("stabilityai/stable-diffusion-2-1-base", &out).env("HF_HUB_CACHE", &hub));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let repo = hub.join("models--stabilityai--stable-diffusion-2-1-base");
    assert!(
        err.contains(&format!("{}: no such folder", repo.display())),
        "{err}"
    );
    assert!(
        err.contains(&repo.join("refs/main").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("hf download stabilityai/stable-diffusion-2-1-base"),
        "{err}"
    );
    assert!(!out.exists());
    // A branch that is not there: the refs file looked for, and the command with it.
    let o = run(sd("org/sd", &out)
        .args(["--revision", "fp16"])
        .env("HF_HUB_CACHE", &hub));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("refs/fp16: no such file"), "{err}");
    assert!(err.contains("hf download org/sd --revision fp16"), "{err}");
}

#[test]
fn malformed_ids_exit_2_before_the_cache_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.png");
    for (id, says) in [("稳定/扩散", "'稳'"), ("org/a..b", "'..'")] {
        // The cache root is a file: reading it would fail differently.
        let o = run(sd(id, &out).env("HF_HUB_CACHE", "/dev/null"));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{id}: {err}");
        assert!(
            err.contains("not a Hugging Face model id") && err.contains(says),
            "{err}"
        );
    }
    assert!(!out.exists());
}

#[test]
fn an_existing_folder_named_like_an_id_wins_and_takes_no_revision() {
    let cwd = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(cwd.path().join("org")).expect("org");
    std::os::unix::fs::symlink(fixtures().join("tiny-sd2"), cwd.path().join("org/sd"))
        .expect("symlink");
    let hub = cwd.path().join("hub");
    add_snapshot(&hub, "models--org--sd", "main", MAIN);
    std::fs::remove_dir_all(hub.join("models--org--sd/snapshots")).expect("rm snapshots");
    let out = cwd.path().join("out.png");
    let o = run(sd("org/sd", &out)
        .current_dir(cwd.path())
        .env("HF_HUB_CACHE", &hub));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("Hugging Face cache"), "{err}");
    let o = run(sd("org/sd", &out)
        .args(["--revision", "main"])
        .current_dir(cwd.path())
        .env("HF_HUB_CACHE", &hub));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--revision applies to a Hugging Face model id"),
        "{err}"
    );
}
