//! HiDream's pooled CLIP embeddings against transformers' CLIPTextModelWithProjection on
//! tiny random-weight models (scripts/fixtures/hidream_clip_reference.py), for both of
//! transformers' end-of-text rules.

use crate::common::{h, m};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use pipelines::encoders::clip::ClipTextConfig;
use pipelines::encoders::clip::{ClipTextModelWithProjection, pooled_positions};
use std::path::PathBuf;

use crate::common::assert_close;

fn case_dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hidream/clip")
        .join(case)
}

fn check(case: &str) {
    let dir = case_dir(case);
    let config: ClipTextConfig = serde_json::from_str(
        &std::fs::read_to_string(dir.join("config.json")).expect("config.json"),
    )
    .expect("parse config.json");
    let device = Device::Cpu;
    // SAFETY: the fixture file is not modified while mapped.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(&[dir.join("model.safetensors")], DType::F32, &device)
    }
    .expect("weights");
    let model = ClipTextModelWithProjection::new(vb.into(), &config).expect("model");
    let reference =
        candle_core::safetensors::load(dir.join("reference.safetensors"), &device).expect("ref");
    let ids = reference["input_ids"].to_dtype(DType::U32).expect("ids");
    let (hidden, embeds) = model.forward(&m(&ids)).expect("forward");
    // f32 through 5 layers of width 32: summation order differs from torch's, so allow a
    // few units in the last place of O(1) values.
    let hidden_name = format!("{case} last_hidden_state");
    assert_close(
        &hidden_name,
        &h(&hidden),
        &reference["last_hidden_state"],
        1e-5,
    );
    assert_close(
        &format!("{case} text_embeds"),
        &h(&embeds),
        &reference["text_embeds"],
        1e-5,
    );
}

#[test]
fn legacy_eos_id_pools_the_largest_id_like_transformers() {
    check("legacy_eos");
}

#[test]
fn other_eos_ids_pool_their_first_occurrence_like_transformers() {
    check("first_eos");
}

#[test]
fn pooled_positions_follow_torch_argmax_ties() {
    // Equal maxima: torch's argmax takes the first; no eos at all: position 0.
    assert_eq!(pooled_positions(&[vec![0, 7, 3, 7]], 2).unwrap(), vec![1]);
    assert_eq!(pooled_positions(&[vec![0, 5, 9, 9]], 9).unwrap(), vec![2]);
    assert_eq!(pooled_positions(&[vec![0, 5, 6]], 9).unwrap(), vec![0]);
    assert!(pooled_positions(&[vec![]], 9).is_err());
}

#[test]
fn a_projection_of_the_wrong_width_names_the_tensor() {
    let dir = case_dir("first_eos");
    let mut config: ClipTextConfig = serde_json::from_str(
        &std::fs::read_to_string(dir.join("config.json")).expect("config.json"),
    )
    .expect("parse config.json");
    config.projection_dim = 48;
    // SAFETY: the fixture file is not modified while mapped.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
    }
    .expect("weights");
    let err = ClipTextModelWithProjection::new(vb.into(), &config)
        .expect_err("a 48-wide projection must not load from 32-wide weights")
        .to_string();
    assert!(err.contains("text_projection"), "{err}");
}
