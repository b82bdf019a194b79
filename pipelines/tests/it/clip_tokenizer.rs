//! CLIP token ids against transformers 5.x's CLIPTokenizer, in every folder layout a user's
//! model can have (vocab.json + merges.txt, tokenizer.json alone, both), on prompts that
//! stress the tokenizer: CJK, emoji, right-to-left text, decomposed accents, typed special
//! tokens, SD 2.x's pad character and prompts longer than the window. Expected ids, lengths
//! and decoded text: scripts/fixtures/clip_tokenizer_reference.py.

use pipelines::encoders::clip::ClipTokenizer;
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(fixtures().join("clip-tokenizer/reference.json"))
        .expect("reference.json");
    serde_json::from_str(&text).expect("json")
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string").to_string())
        .collect()
}

/// A folder holding only the layout's files, as a user's folder would.
fn folder_with(files: &Value, names: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in names {
        let source = fixtures().join(files[name].as_str().expect("path"));
        std::fs::copy(&source, dir.path().join(name)).expect("copy");
    }
    dir
}

#[test]
fn every_layout_gives_transformers_ids_lengths_and_text() {
    let reference = reference();
    let prompts = strings(&reference["prompts"]);
    let layouts = reference["layouts"].as_object().expect("layouts");
    let mut checked = 0;
    for (folder, entry) in reference["folders"].as_object().expect("folders") {
        let max_length = entry["max_length"].as_u64().expect("max_length") as usize;
        for (layout, names) in layouts {
            let dir = folder_with(&entry["files"], &strings(names));
            let tokenizer = ClipTokenizer::from_dir(dir.path())
                .unwrap_or_else(|e| panic!("{folder}/{layout}: {e}"))
                .with_max_length(max_length);
            let want = &entry["layouts"][layout];
            assert_eq!(
                u64::from(tokenizer.pad_id()),
                want["pad_id"].as_u64().expect("pad"),
                "{folder}/{layout}: pad id"
            );
            for (i, prompt) in prompts.iter().enumerate() {
                let ids: Vec<u32> = serde_json::from_value(want["ids"][i].clone()).expect("ids");
                let full = want["untruncated_lengths"][i].as_u64().expect("length") as usize;
                let got = tokenizer.encode(prompt).expect("encode");
                let at = format!("{folder}/{layout}, prompt {prompt:?}");
                assert_eq!(got.ids, ids, "{at}: ids");
                assert_eq!(got.truncated, full > max_length, "{at}: truncation");
                assert_eq!(got.length + got.removed.len(), full, "{at}: length");
                assert_eq!(
                    tokenizer.decode(&got.ids),
                    want["decoded"][i].as_str().expect("text"),
                    "{at}: decoded"
                );
                checked += 1;
            }
        }
    }
    // Three folders, three layouts, every prompt.
    assert_eq!(checked, 9 * prompts.len());
}

#[test]
fn a_folder_without_either_layout_names_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tokenizer_config.json"), "{}").expect("write");
    let err = ClipTokenizer::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.json") && err.contains("vocab.json"),
        "{err}"
    );
    // vocab.json without merges.txt names the missing file.
    std::fs::write(dir.path().join("vocab.json"), r#"{"a</w>": 0}"#).expect("write");
    let err = ClipTokenizer::from_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("merges.txt"), "{err}");
}

#[test]
fn a_special_token_missing_from_the_vocabulary_is_named() {
    let source = fixtures().join("sd2/tiny-sd2/tokenizer");
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["vocab.json", "merges.txt"] {
        std::fs::copy(source.join(name), dir.path().join(name)).expect("copy");
    }
    std::fs::write(
        dir.path().join("tokenizer_config.json"),
        r#"{"pad_token": {"content": "<|padding|>"}}"#,
    )
    .expect("write");
    let err = ClipTokenizer::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("pad_token") && err.contains("<|padding|>"),
        "{err}"
    );
}

#[test]
fn a_broken_tokenizer_json_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("tokenizer.json"), "{\"model\": 3}").expect("write");
    let err = ClipTokenizer::from_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.json") && err.contains(&*dir.path().to_string_lossy()),
        "{err}"
    );
}
