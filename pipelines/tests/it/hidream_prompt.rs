//! HiDream prompt encoding against diffusers 0.42.1's `HiDreamImagePipeline.encode_prompt`
//! (scripts/fixtures/hidream_prompt_reference.py): every tokenizer's ids and masks exactly,
//! the T5 / Llama / pooled embeddings at f32, and the errors for incomplete folders.

use candle_core::Device;
use pipelines::hidream::prompt_encoding::{EncodeOptions, EncoderFolders, Prompts, encode_prompts};
use pipelines::hidream::tokenize::{self, SentenceTokenizer, Tokens};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{assert_close, copy_dir};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hidream/prompt")
}

fn folders(root: &Path) -> EncoderFolders {
    EncoderFolders {
        model: root.join("model"),
        llama: root.join("llama"),
    }
}

fn record() -> &'static Value {
    static RECORD: OnceLock<Value> = OnceLock::new();
    RECORD.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("reference.json")).expect("reference.json");
        serde_json::from_str(&text).expect("reference.json parses")
    })
}

fn reference() -> &'static HashMap<String, candle_core::Tensor> {
    static TENSORS: OnceLock<HashMap<String, candle_core::Tensor>> = OnceLock::new();
    TENSORS.get_or_init(|| {
        candle_core::safetensors::load(root().join("reference.safetensors"), &Device::Cpu)
            .expect("reference.safetensors")
    })
}

fn as_u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("list")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

fn check_tokens(what: &str, text: &str, ours: &Tokens, theirs: &Value) {
    assert_eq!(ours.ids, as_u32s(&theirs["ids"]), "{what} ids for {text:?}");
    assert_eq!(
        ours.mask,
        as_u32s(&theirs["mask"]),
        "{what} mask for {text:?}"
    );
    assert_eq!(
        ours.truncated.is_some(),
        theirs["truncated"].as_bool().expect("truncated"),
        "{what} truncation for {text:?}"
    );
    if let Some(t) = &ours.truncated {
        assert_eq!(
            t.needed as u64,
            theirs["untruncated_length"].as_u64().expect("length"),
            "{what} untruncated length for {text:?}"
        );
    }
}

#[test]
fn tokenizers_match_the_pipeline_ids_and_masks() {
    let model = root().join("model");
    let clip_l = tokenize::clip(&model.join("tokenizer"), 128).expect("tokenizer");
    let clip_g = tokenize::clip(&model.join("tokenizer_2"), 128).expect("tokenizer_2");
    let t5 = SentenceTokenizer::t5(&model.join("tokenizer_3"), 128).expect("tokenizer_3");
    let llama = SentenceTokenizer::llama(&root().join("llama"), 128).expect("llama");
    let entries = record()["tokenizers"].as_array().expect("tokenizers");
    assert!(entries.len() >= 10, "the fixture covers a dozen texts");
    let mut truncated = 0;
    for entry in entries {
        let text = entry["text"].as_str().expect("text");
        let l = tokenize::encode_clip(&clip_l, text).expect("encode");
        check_tokens("CLIP-L", text, &l, &entry["clip_l"]);
        check_tokens(
            "CLIP-G",
            text,
            &tokenize::encode_clip(&clip_g, text).expect("encode"),
            &entry["clip_g"],
        );
        check_tokens("T5", text, &t5.encode(text).expect("t5"), &entry["t5"]);
        check_tokens(
            "Llama",
            text,
            &llama.encode(text).expect("llama"),
            &entry["llama"],
        );
        truncated += usize::from(l.truncated.is_some());
    }
    assert!(truncated > 0, "one fixture prompt is long enough to be cut");
}

#[test]
fn clip_g_pads_with_its_own_pad_token_and_clip_l_with_end_of_text() {
    let model = root().join("model");
    let clip_l = tokenize::clip(&model.join("tokenizer"), 128).expect("tokenizer");
    let clip_g = tokenize::clip(&model.join("tokenizer_2"), 128).expect("tokenizer_2");
    let l = tokenize::encode_clip(&clip_l, "a cat").expect("encode");
    let g = tokenize::encode_clip(&clip_g, "a cat").expect("encode");
    assert_eq!(
        l.ids.len(),
        128,
        "HiDream asks for 128 tokens, not model_max_length 77"
    );
    let end = l.ids[3];
    assert_eq!(l.ids[127], end, "CLIP-L pads with <|endoftext|>");
    assert_eq!(g.ids[127], clip_g.pad_id());
    assert_ne!(clip_g.pad_id(), end, "CLIP-G pads with \"!\"");
}

#[test]
fn truncation_warning_names_the_encoder_and_the_cut_text() {
    let t5 = SentenceTokenizer::t5(&root().join("model/tokenizer_3"), 8).expect("tokenizer_3");
    let tokens = t5
        .encode("a photo of a cat on a red sofa at dawn")
        .expect("encode");
    let warning = tokens.truncation_warning("T5").expect("truncated");
    assert!(
        warning.contains("T5") && warning.contains("8 tokens"),
        "{warning}"
    );
    assert!(warning.contains("dawn"), "{warning}");
    assert!(
        t5.encode("cat")
            .expect("encode")
            .truncation_warning("T5")
            .is_none()
    );
}

fn case_prompts(args: &Value) -> Prompts {
    let get = |key: &str| args.get(key).and_then(Value::as_str).map(str::to_string);
    Prompts {
        prompt: get("prompt").expect("prompt"),
        prompt_2: get("prompt_2"),
        prompt_3: get("prompt_3"),
        prompt_4: get("prompt_4"),
        negative_prompt: get("negative_prompt"),
        negative_prompt_2: get("negative_prompt_2"),
        negative_prompt_3: get("negative_prompt_3"),
        negative_prompt_4: get("negative_prompt_4"),
    }
}

#[test]
fn encode_prompt_matches_diffusers_for_every_case() {
    let cases = record()["cases"].as_object().expect("cases");
    assert!(cases.len() >= 4);
    let options = EncodeOptions::default();
    for (case, args) in cases {
        let mut stages = Vec::new();
        let out = encode_prompts(&folders(&root()), &case_prompts(args), &options, |s| {
            stages.push(s.to_string())
        })
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(stages, ["CLIP-L", "CLIP-G", "T5", "Llama"]);
        let negative = out.negative.expect("negative embeddings with guidance");
        for (side, embeds) in [("", &out.positive), ("negative.", &negative)] {
            for (name, ours) in [
                ("t5", &embeds.t5),
                ("llama", &embeds.llama),
                ("pooled", &embeds.pooled),
            ] {
                let key = format!("{case}.{side}{name}");
                // f32 through a few tiny layers with a different summation order: a few
                // units in the last place of O(1) values.
                assert_close(&key, ours, &reference()[&key], 2e-5);
            }
        }
        if case == "long" {
            // CLIP-L, CLIP-G, T5 and Llama each cut the long prompt.
            assert_eq!(out.warnings.len(), 4, "{:?}", out.warnings);
        } else {
            assert!(out.warnings.is_empty(), "{case}: {:?}", out.warnings);
        }
    }
}

#[test]
fn without_guidance_no_negative_is_encoded() {
    let options = EncodeOptions {
        with_negative: false,
        ..EncodeOptions::default()
    };
    let out = encode_prompts(
        &folders(&root()),
        &Prompts::new("a photo of a cat"),
        &options,
        |_| {},
    )
    .expect("encode");
    assert!(out.negative.is_none());
    assert_close("short.t5", &out.positive.t5, &reference()["short.t5"], 2e-5);
}

#[test]
fn secondary_prompts_fall_back_like_diffusers() {
    let prompts = Prompts {
        prompt: "p".into(),
        prompt_3: Some("three".into()),
        prompt_4: Some(String::new()),
        negative_prompt_2: Some("n2".into()),
        ..Prompts::default()
    };
    assert_eq!(prompts.positive(), ["p", "p", "three", "p"]);
    assert_eq!(prompts.negative(), ["", "n2", "", ""]);
}

fn copy_fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for sub in [
        "llama",
        "model/tokenizer",
        "model/tokenizer_2",
        "model/tokenizer_3",
        "model/text_encoder",
        "model/text_encoder_2",
        "model/text_encoder_3",
    ] {
        copy_dir(&root().join(sub), &tmp.path().join(sub));
    }
    tmp
}

fn encode_error(root: &Path) -> String {
    encode_prompts(
        &folders(root),
        &Prompts::new("a cat"),
        &EncodeOptions::default(),
        |_| {},
    )
    .expect_err("incomplete folders must fail")
    .to_string()
}

#[test]
fn a_missing_llama_folder_says_llama_must_be_supplied_separately() {
    let tmp = copy_fixture();
    std::fs::remove_dir_all(tmp.path().join("llama")).expect("rm");
    let err = encode_error(tmp.path());
    assert!(err.contains("Llama-3.1-8B-Instruct"), "{err}");
    assert!(err.contains("--llama"), "{err}");
    assert!(err.contains("not a folder"), "{err}");
}

#[test]
fn an_incomplete_llama_folder_names_the_missing_file() {
    let tmp = copy_fixture();
    std::fs::remove_file(tmp.path().join("llama/tokenizer.json")).expect("rm");
    let err = encode_error(tmp.path());
    assert!(
        err.contains("Llama-3.1-8B-Instruct") && err.contains("no tokenizer.json"),
        "{err}"
    );
    let tmp = copy_fixture();
    std::fs::remove_file(tmp.path().join("llama/model.safetensors")).expect("rm");
    let err = encode_error(tmp.path());
    assert!(err.contains("safetensors"), "{err}");
}

#[test]
fn clip_folders_saved_by_transformers_5_encode_the_same() {
    // transformers 5.x saves a CLIP tokenizer as tokenizer.json alone (the files under
    // clip-tokenizer/ were written by its save_pretrained from these very folders).
    let tmp = copy_fixture();
    let saved = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clip-tokenizer");
    for (folder, source) in [("tokenizer", "hidream_1"), ("tokenizer_2", "hidream_2")] {
        let dir = tmp.path().join("model").join(folder);
        for name in ["vocab.json", "merges.txt"] {
            std::fs::remove_file(dir.join(name)).expect("rm");
        }
        std::fs::copy(
            saved.join(source).join("tokenizer.json"),
            dir.join("tokenizer.json"),
        )
        .expect("copy");
    }
    let prompts = Prompts::new("一只戴帽子的猫, a cat wearing a hat");
    let options = EncodeOptions::default();
    let ours = encode_prompts(&folders(tmp.path()), &prompts, &options, |_| {}).expect("encodes");
    let before = encode_prompts(&folders(&root()), &prompts, &options, |_| {}).expect("encodes");
    assert_close(
        "pooled",
        &ours.positive.pooled,
        &before.positive.pooled,
        0.0,
    );
    // Neither layout present: the folder and both layouts are named before anything loads.
    std::fs::remove_file(tmp.path().join("model/tokenizer_2/tokenizer.json")).expect("rm");
    let err = encode_error(tmp.path());
    assert!(
        err.contains("tokenizer_2") && err.contains("tokenizer.json") && err.contains("vocab.json"),
        "{err}"
    );
}

#[test]
fn a_t5_tokenizer_without_tokenizer_json_names_the_folder_and_the_file() {
    let tmp = copy_fixture();
    let dir = tmp.path().join("model/tokenizer_3");
    std::fs::remove_file(dir.join("tokenizer.json")).expect("rm");
    std::fs::write(dir.join("spiece.model"), b"not read").expect("write");
    let err = encode_error(tmp.path());
    assert!(
        err.contains("tokenizer_3") && err.contains("no tokenizer.json"),
        "{err}"
    );
    let direct = SentenceTokenizer::t5(&dir, 128)
        .expect_err("no tokenizer.json")
        .to_string();
    assert!(
        direct.contains("tokenizer_3") && direct.contains("tokenizer.json"),
        "{direct}"
    );
}

#[test]
fn a_corrupt_tokenizer_json_is_an_error_naming_it() {
    let tmp = copy_fixture();
    std::fs::write(tmp.path().join("llama/tokenizer.json"), b"{\"model\": 3}").expect("write");
    let err = SentenceTokenizer::llama(&tmp.path().join("llama"), 128)
        .expect_err("corrupt")
        .to_string();
    assert!(err.contains("llama/tokenizer.json"), "{err}");
}

#[test]
fn a_missing_encoder_weight_file_names_the_component() {
    let tmp = copy_fixture();
    std::fs::remove_file(tmp.path().join("model/text_encoder_2/model.safetensors")).expect("rm");
    let err = encode_error(tmp.path());
    assert!(
        err.contains("text_encoder_2") && err.contains("safetensors"),
        "{err}"
    );
}
