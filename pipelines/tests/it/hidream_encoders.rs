//! HiDream's T5 and Llama text encoders against transformers 5.23 on tiny random-weight
//! models (fixtures from scripts/fixtures/hidream_encoders_reference.py): every output
//! position, padded ones included, at f32 on the CPU.

use crate::common::{h, m};
use candle_core::{DType, Device, Tensor};
use pipelines::encoders::{LlamaModel, T5EncoderModel};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Max abs difference allowed, relative to the reference's largest magnitude (floored at 1):
/// f32 with a different summation order than torch's GEMM and softmax over two layers.
const TOLERANCE: f32 = 1e-5;

fn case(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hidream/encoders")
        .join(name)
}

fn io(dir: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(dir.join("io.safetensors"), &Device::Cpu)
        .unwrap_or_else(|e| panic!("{}/io.safetensors: {e}", dir.display()))
}

fn get<'a>(io: &'a HashMap<String, Tensor>, name: &str) -> &'a Tensor {
    io.get(name)
        .unwrap_or_else(|| panic!("fixture tensor {name} is missing"))
}

fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.max(0))
        .and_then(|t| t.to_scalar::<f32>())
        .expect("max abs")
}

fn assert_close(what: &str, got: &Tensor, want: &Tensor) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    let diff = max_abs(&(got - want).expect("difference"));
    let scale = max_abs(want).max(1.0);
    println!("{what}: max abs diff {diff:e} (reference max abs {scale})");
    assert!(
        diff <= TOLERANCE * scale,
        "{what}: max abs diff {diff:e} exceeds {:e}",
        TOLERANCE * scale
    );
}

fn check_t5(name: &str) {
    let dir = case(name);
    let io = io(&dir);
    let model = T5EncoderModel::load(&dir, DType::F32, &Device::Cpu).expect("load T5");
    let got = model
        .forward(
            &m(get(&io, "input_ids")),
            Some(&m(get(&io, "attention_mask"))),
        )
        .expect("T5 forward");
    assert_close(name, &h(&got), get(&io, "last_hidden_state"));
}

#[test]
fn t5_gated_gelu_matches_transformers() {
    check_t5("t5_gated");
}

#[test]
fn t5_relu_matches_transformers() {
    check_t5("t5_relu");
}

/// gated-silu: the gated path for an activation the GEGLU kernel does not cover.
#[test]
fn t5_gated_silu_matches_transformers() {
    check_t5("t5_gated_silu");
}

#[test]
fn llama_all_hidden_states_match_transformers() {
    let dir = case("llama");
    let io = io(&dir);
    let model = LlamaModel::load(&dir, DType::F32, &Device::Cpu).expect("load Llama");
    let states = model
        .forward(
            &m(get(&io, "input_ids")),
            Some(&m(get(&io, "attention_mask"))),
        )
        .expect("Llama forward");
    let layers = model.config().num_hidden_layers;
    assert_eq!(
        states.len(),
        layers + 1,
        "embeddings plus one entry per layer"
    );
    for (i, got) in states.iter().enumerate() {
        assert_close(
            &format!("llama hidden_states.{i}"),
            &h(got),
            get(&io, &format!("hidden_states.{i}")),
        );
    }
}

/// The padding mask is applied: without it the padded row's real tokens would see the pad
/// keys and move away from the reference.
#[test]
fn t5_padding_mask_changes_the_padded_row() {
    let dir = case("t5_gated");
    let io = io(&dir);
    let model = T5EncoderModel::load(&dir, DType::F32, &Device::Cpu).expect("load T5");
    let unmasked = model
        .forward(&m(get(&io, "input_ids")), None)
        .expect("T5 forward");
    let want = get(&io, "last_hidden_state");
    let first_row = |t: &Tensor| t.narrow(0, 0, 1).and_then(|t| t.narrow(1, 0, 11));
    let diff = max_abs(&(first_row(&h(&unmasked)).unwrap() - first_row(want).unwrap()).unwrap());
    assert!(
        diff > 1e-3,
        "unmasked padded row matched the masked reference ({diff:e})"
    );
    // The unpadded second row does not depend on the mask.
    let second = |t: &Tensor| t.narrow(0, 1, 1);
    assert_close(
        "t5_gated unpadded row without mask",
        &second(&h(&unmasked)).unwrap(),
        &second(want).unwrap(),
    );
}

/// Copies a fixture folder with one tensor replaced by `replacement`.
fn folder_with(name: &str, tensor: &str, replacement: Tensor) -> tempfile::TempDir {
    let src = case(name);
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(src.join("config.json"), tmp.path().join("config.json")).expect("copy config");
    let mut weights = candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu)
        .expect("fixture weights");
    assert!(weights.contains_key(tensor), "fixture has no {tensor}");
    weights.insert(tensor.to_string(), replacement);
    candle_core::safetensors::save(&weights, tmp.path().join("model.safetensors"))
        .expect("save weights");
    tmp
}

#[test]
fn llama_weight_shape_mismatch_names_the_tensor() {
    let name = "model.layers.1.self_attn.k_proj.weight";
    let wrong = Tensor::zeros((32, 32), DType::F32, &Device::Cpu).unwrap();
    let dir = folder_with("llama", name, wrong);
    let err = LlamaModel::load(dir.path(), DType::F32, &Device::Cpu)
        .expect_err("a [32, 32] k_proj with 2 kv heads of 8 must be rejected")
        .to_string();
    assert!(err.contains(name), "error does not name {name}: {err}");
}

#[test]
fn t5_weight_shape_mismatch_names_the_tensor() {
    let name = "encoder.block.1.layer.1.DenseReluDense.wi_0.weight";
    let wrong = Tensor::zeros((47, 32), DType::F32, &Device::Cpu).unwrap();
    let dir = folder_with("t5_gated", name, wrong);
    let err = T5EncoderModel::load(dir.path(), DType::F32, &Device::Cpu)
        .expect_err("a [47, 32] wi_0 must be rejected")
        .to_string();
    assert!(err.contains(name), "error does not name {name}: {err}");
}

#[test]
fn unsupported_rope_type_names_the_config_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(case("llama").join("config.json")).expect("config");
    let text = text.replace("\"llama3\"", "\"yarn\"");
    let path = tmp.path().join("config.json");
    std::fs::write(&path, text).expect("write config");
    let err = pipelines::encoders::LlamaConfig::from_file(&path)
        .expect_err("yarn is not implemented")
        .to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("yarn"), "{err}");
}
