//! `hidream-edit --model/--llama/--refine-model` as Hugging Face ids from a cache built in a
//! temporary folder (variables set on the child only): each id resolves to its snapshot,
//! said on stderr, and an id not in the cache exits 2 with the command that fetches it.

use crate::hidream_edit::{assert_bad_input, path, stderr};
use pipelines::hidream::tiny_random::write_tiny_random_model;
use std::path::Path;
use std::process::{Command, Output};

const COMMIT: &str = "3333333333333333333333333333333333333333";

/// `hub/models--ORG--NAME` at `main` = COMMIT, its snapshot a link to `folder`.
fn cache_entry(hub: &Path, id: &str, folder: &Path) {
    let repo = hub.join(format!("models--{}", id.replace('/', "--")));
    std::fs::create_dir_all(repo.join("snapshots")).expect("snapshots");
    std::fs::create_dir_all(repo.join("refs")).expect("refs");
    std::os::unix::fs::symlink(folder, repo.join("snapshots").join(COMMIT)).expect("link");
    std::fs::write(repo.join("refs/main"), COMMIT).expect("ref");
}

fn edit(hub: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hidream-edit"))
        .args(args)
        .env("HF_HUB_CACHE", hub)
        .output()
        .expect("run hidream-edit")
}

#[test]
fn ids_resolve_to_their_snapshots_and_a_missing_one_names_the_download() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 1).expect("tiny model");
    let hub = tmp.path().join("hub");
    cache_entry(&hub, "HiDream-ai/HiDream-E1-1", &model.model_dir);
    cache_entry(&hub, "meta-llama/Llama-3.1-8B-Instruct", &model.llama_dir);
    // Not a picture: the run stops there, after the models were resolved.
    let image = tmp.path().join("图片.txt");
    std::fs::write(&image, "not a picture").expect("write");
    let out = tmp.path().join("out.png");
    let base = [
        "--model",
        "HiDream-ai/HiDream-E1-1",
        "--llama",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--image",
        path(&image),
        "--style",
        "sketch",
        "--output",
        path(&out),
    ];
    let o = edit(&hub, &base);
    assert_bad_input(&o, "图片.txt");
    let err = stderr(&o);
    for flag in [
        "--model HiDream-ai/HiDream-E1-1",
        "--llama meta-llama/Llama-3.1-8B-Instruct",
    ] {
        assert!(
            err.contains(&format!("{flag}: revision main (commit {COMMIT})")),
            "{flag}: {err}"
        );
    }

    let mut with_refine = base.to_vec();
    with_refine.extend(["--refine-model", "HiDream-ai/HiDream-I1-Full"]);
    let o = edit(&hub, &with_refine);
    assert_bad_input(&o, "hf download HiDream-ai/HiDream-I1-Full");
    assert!(stderr(&o).contains("models--HiDream-ai--HiDream-I1-Full"));
    assert!(!out.exists());
}

#[test]
fn demo_refuses_revision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = edit(tmp.path(), &["--demo", "--revision", "main"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--revision"), "{}", stderr(&o));
}
