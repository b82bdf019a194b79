//! LoRA files on the tiny SD model against diffusers 0.42.1's `load_lora_weights` +
//! `fuse_lora(lora_scale=0.7)` (scripts/fixtures/sd_lora_reference.py): the same random
//! adapter in diffusers/PEFT and in kohya layout, on the UNet (attention, projections,
//! 3x3 convolutions) and the text encoder.

use crate::common::h;
use crate::common::{
    Reference, assert_close, fixtures, load_reference, max_abs, recorded_generation,
    reference_tensor, txt2img_with_folder_scheduler,
};
use candle_core::{Device, Tensor};
use pipelines::lora::{LoraFile, LoraSpec};
use pipelines::sd::pipeline::{LoadOptions, StableDiffusion};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const TOL: f32 = 1e-4;

fn folder() -> PathBuf {
    fixtures().join("../sd-lora")
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| load_reference(&folder()))
}

fn tensor(name: &str) -> Tensor {
    reference_tensor(reference(), name)
}

fn with_loras(specs: &[LoraSpec]) -> Result<StableDiffusion, pipelines::error::ModelError> {
    let loras = specs
        .iter()
        .map(LoraFile::read)
        .collect::<Result<Vec<_>, _>>()?;
    let options = LoadOptions {
        loras: loras.into(),
        ..LoadOptions::default()
    };
    StableDiffusion::load_with(&fixtures().join("tiny-sd2"), &Device::Cpu, options)
}

fn spec(path: &Path, weight: f64) -> LoraSpec {
    LoraSpec {
        path: path.to_path_buf(),
        weight,
    }
}

fn run(sd: &StableDiffusion) -> Tensor {
    let record = &reference().1;
    let prompt = record["prompt"].as_str().expect("prompt");
    let g = recorded_generation(&record["run"], prompt, None);
    txt2img_with_folder_scheduler(sd, &g, &record["run"])
}

#[test]
fn both_layouts_match_diffusers_fused_lora() {
    let scale = reference().1["scale"].as_f64().expect("scale");
    let prompt = reference().1["prompt"].as_str().expect("prompt");
    for (name, file) in [
        (
            "peft",
            folder().join("peft/pytorch_lora_weights.safetensors"),
        ),
        ("kohya", folder().join("kohya.safetensors")),
    ] {
        let sd = with_loras(&[spec(&file, scale)]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (embeds, _) = sd.encode_prompt(prompt).expect("encode");
        assert_close(
            &format!("{name} embeds"),
            &h(&embeds),
            &tensor(&format!("{name}.embeds")),
            TOL,
        );
        let latents = run(&sd);
        assert_close(
            &format!("{name} latents"),
            &latents,
            &tensor(&format!("{name}.latents")),
            TOL,
        );
    }
    // The adapter changes the result far beyond the bound, so the match means something.
    let moved = (tensor("peft.latents") - tensor("plain.latents")).expect("sub");
    assert!(max_abs(&moved) > 0.1);
}

#[test]
fn two_halves_stack_to_the_whole() {
    // Updates add: the same file twice at half weight is the file once at full weight.
    let file = folder().join("kohya.safetensors");
    let scale = reference().1["scale"].as_f64().expect("scale");
    let sd = with_loras(&[spec(&file, scale / 2.0), spec(&file, scale / 2.0)]).expect("loads");
    assert_close("stacked", &run(&sd), &tensor("kohya.latents"), TOL);
}

/// A copy of the kohya file with `edit` applied to its tensors.
fn edited(edit: impl Fn(&mut std::collections::HashMap<String, Tensor>)) -> tempfile::TempDir {
    let mut tensors =
        candle_core::safetensors::load(folder().join("kohya.safetensors"), &Device::Cpu)
            .expect("kohya");
    edit(&mut tensors);
    let dir = tempfile::tempdir().expect("tempdir");
    candle_core::safetensors::save(&tensors, dir.path().join("lora.safetensors")).expect("save");
    dir
}

fn load_error(dir: &tempfile::TempDir) -> String {
    with_loras(&[spec(&dir.path().join("lora.safetensors"), 1.0)])
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn keys_that_match_no_weight_are_listed_with_the_file() {
    let dir = edited(|t| {
        for part in ["lora_down.weight", "lora_up.weight", "alpha"] {
            let old = format!("lora_unet_mid_block_attentions_0_proj_in.{part}");
            let value = t.remove(&old).expect("key");
            t.insert(
                format!("lora_unet_mid_block_attentions_0_proj_inn.{part}"),
                value,
            );
        }
    });
    let err = load_error(&dir);
    assert!(
        err.contains("lora.safetensors")
            && err.contains("1 keys match no weight of the unet")
            && err.contains("proj_inn"),
        "{err}"
    );
}

#[test]
fn extensions_and_orphans_are_refused_by_key() {
    let dir = edited(|t| {
        t.insert(
            "lora_unet_x.dora_scale".into(),
            Tensor::ones(1, candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
    });
    assert!(load_error(&dir).contains("DoRA"), "{}", load_error(&dir));
    let dir = edited(|t| {
        t.remove("lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight");
    });
    let err = load_error(&dir);
    assert!(
        err.contains("without their down/up partner") && err.contains("layers_0_mlp_fc1"),
        "{err}"
    );
    let dir = edited(|t| {
        let up = t["lora_unet_mid_block_attentions_0_proj_in.lora_up.weight"].clone();
        t.insert(
            "lora_unet_mid_block_attentions_0_proj_in.lora_up.weight".into(),
            Tensor::cat(&[&up, &up], 0).unwrap(),
        );
    });
    let err = load_error(&dir);
    assert!(
        err.contains("do not fit") && err.contains("proj_in"),
        "{err}"
    );
}
