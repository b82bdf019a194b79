//! The real SD 2.1-base (and SD 1.5 UNet / text encoder) components expect exactly the parameter names and shapes diffusers
//! (and transformers) create for their configs, recorded on the meta device by
//! scripts/fixtures/sd_reference.py; and loading failures name what is wrong.

use crate::common::h;
use pipelines::encoders::clip::ClipTextConfig;
use pipelines::encoders::clip::ClipTextModel;
use pipelines::models::autoencoders::AutoencoderKL;
use pipelines::models::autoencoders::VaeConfig;
use pipelines::sd::config::UNetConfig;
use pipelines::sd::pipeline::StableDiffusion;
use pipelines::sd::unet::UNet2DConditionModel;
use pipelines::weights::ShapeRecorder;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sd2")
}

fn sd21() -> Value {
    let text =
        std::fs::read_to_string(fixtures().join("real_model_params.json")).expect("params json");
    serde_json::from_str(&text).expect("params json")
}

type Shapes = BTreeMap<String, Vec<usize>>;

fn expected(component: &Value) -> Shapes {
    serde_json::from_value(component["params"].clone()).expect("params")
}

fn recorded(rec: &ShapeRecorder) -> Shapes {
    let mut out = Shapes::new();
    for (name, shape) in rec.names_and_shapes() {
        assert!(
            out.insert(name.clone(), shape).is_none(),
            "{name} requested twice"
        );
    }
    out
}

fn assert_same(component: &str, ours: &Shapes, theirs: &Shapes) {
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{component}: not loaded {missing:?}; not in diffusers {extra:?}"
    );
    for (name, shape) in theirs {
        assert_eq!(&ours[name], shape, "{component}: shape of {name}");
    }
}

#[test]
fn sd21_base_unet_parameters_match_diffusers() {
    let all = sd21();
    let config: UNetConfig =
        serde_json::from_value(all["unet"]["config"].clone()).expect("unet config");
    let rec = ShapeRecorder::default();
    UNet2DConditionModel::new(rec.var_builder().into(), &config).expect("unet builds");
    assert_same("unet", &recorded(&rec), &expected(&all["unet"]));
}

#[test]
fn sd21_base_vae_parameters_match_diffusers() {
    let all = sd21();
    let config: VaeConfig =
        serde_json::from_value(all["vae"]["config"].clone()).expect("vae config");
    let rec = ShapeRecorder::default();
    AutoencoderKL::new(rec.var_builder().into(), &config).expect("vae builds");
    assert_same("vae", &recorded(&rec), &expected(&all["vae"]));
}

#[test]
fn sd21_base_text_encoder_parameters_match_transformers() {
    let all = sd21();
    let config: ClipTextConfig =
        serde_json::from_value(all["text_encoder"]["config"].clone()).expect("clip config");
    let rec = ShapeRecorder::default();
    ClipTextModel::new(rec.var_builder().into(), &config).expect("clip builds");
    assert_same(
        "text_encoder",
        &recorded(&rec),
        &expected(&all["text_encoder"]),
    );
}

#[test]
fn sd15_unet_parameters_match_diffusers() {
    // Conv projections and CLIP ViT-L width: SD 1.5 folders use the same code paths.
    let all = sd21();
    let config: UNetConfig =
        serde_json::from_value(all["sd15_unet"]["config"].clone()).expect("unet config");
    let rec = ShapeRecorder::default();
    UNet2DConditionModel::new(rec.var_builder().into(), &config).expect("unet builds");
    assert_same("sd15 unet", &recorded(&rec), &expected(&all["sd15_unet"]));
}

#[test]
fn sd15_text_encoder_parameters_match_transformers() {
    let all = sd21();
    let config: ClipTextConfig =
        serde_json::from_value(all["sd15_text_encoder"]["config"].clone()).expect("clip config");
    let rec = ShapeRecorder::default();
    ClipTextModel::new(rec.var_builder().into(), &config).expect("clip builds");
    assert_same(
        "sd15 text_encoder",
        &recorded(&rec),
        &expected(&all["sd15_text_encoder"]),
    );
}

#[test]
fn text_encoders_saved_with_the_text_model_prefix_load_the_same() {
    // transformers 4.x (most hub folders) writes `text_model.` before every name.
    let dir = tiny_copy();
    let file = dir.path().join("text_encoder/model.fp16.safetensors");
    let tensors = candle_core::safetensors::load(&file, &candle_core::Device::Cpu).expect("load");
    let renamed: std::collections::HashMap<String, candle_core::Tensor> = tensors
        .into_iter()
        .map(|(k, v)| (format!("text_model.{k}"), v))
        .collect();
    candle_core::safetensors::save(&renamed, &file).expect("save");
    let prefixed = StableDiffusion::load(dir.path(), &candle_core::Device::Cpu).expect("loads");
    let plain = StableDiffusion::load(&fixtures().join("tiny-sd2"), &candle_core::Device::Cpu)
        .expect("loads");
    let a = prefixed.encode_prompt("a red fox").expect("encode").0;
    let b = plain.encode_prompt("a red fox").expect("encode").0;
    let diff = (h(&a) - h(&b))
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("diff");
    assert_eq!(diff, 0.0);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn tiny_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixtures().join("tiny-sd2"), dir.path());
    dir
}

fn load_err(root: &Path) -> String {
    let err = StableDiffusion::load(root, &candle_core::Device::Cpu).expect_err("load must fail");
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(" / ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[test]
fn a_config_weight_mismatch_names_the_tensor_and_both_shapes() {
    let dir = tiny_copy();
    let path = dir.path().join("unet/config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    config["cross_attention_dim"] = Value::from(48);
    std::fs::write(&path, config.to_string()).expect("write");
    let err = load_err(dir.path());
    assert!(err.contains("unet"), "{err}");
    assert!(err.contains("attn2.to_k.weight"), "{err}");
    assert!(
        err.contains("[64, 48]") && err.contains("[64, 32]"),
        "{err}"
    );
}

#[test]
fn a_missing_component_is_named() {
    let dir = tiny_copy();
    std::fs::remove_dir_all(dir.path().join("vae")).expect("rm");
    let err = load_err(dir.path());
    assert!(err.contains("vae") && err.contains("missing"), "{err}");
}

#[test]
fn corrupt_safetensors_are_reported() {
    let dir = tiny_copy();
    std::fs::write(
        dir.path().join("text_encoder/model.fp16.safetensors"),
        b"not a safetensors file",
    )
    .expect("write");
    let err = load_err(dir.path());
    assert!(err.contains("text_encoder"), "{err}");
}

#[test]
fn unsupported_block_types_are_rejected() {
    let dir = tiny_copy();
    let path = dir.path().join("unet/config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    config["down_block_types"][0] = Value::from("AttnDownBlock2D");
    std::fs::write(&path, config.to_string()).expect("write");
    let err = load_err(dir.path());
    assert!(err.contains("AttnDownBlock2D"), "{err}");
}
