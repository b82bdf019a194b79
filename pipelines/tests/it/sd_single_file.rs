//! A single-file checkpoint in the original (LDM) layout, against diffusers 0.42.1's
//! `StableDiffusionPipeline.from_single_file` (scripts/fixtures/sd_single_file_reference.py
//! wrote the tiny model in that layout and checked diffusers reads every weight back).

use crate::common::{
    Reference, assert_close, fixtures, load_reference, recorded_generation, reference_tensor,
    txt2img_with_folder_scheduler,
};
use candle_core::{Device, Tensor};
use pipelines::sd::pipeline::{LoadOptions, StableDiffusion};
use pipelines::sd::single_file::Checkpoint;
use std::path::PathBuf;
use std::sync::OnceLock;

fn folder() -> PathBuf {
    fixtures().join("../sd-single-file")
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| load_reference(&folder()))
}

fn run(sd: &StableDiffusion) -> Tensor {
    let record = &reference().1;
    let g = recorded_generation(
        &record["run"],
        record["prompt"].as_str().expect("prompt"),
        None,
    );
    txt2img_with_folder_scheduler(sd, &g, &record["run"])
}

fn from_checkpoint(
    path: &std::path::Path,
) -> Result<StableDiffusion, pipelines::error::ModelError> {
    let options = LoadOptions {
        checkpoint: Some(Checkpoint::open(path)?),
        ..LoadOptions::default()
    };
    StableDiffusion::load_with(&fixtures().join("tiny-sd2"), &Device::Cpu, options)
}

#[test]
fn the_checkpoint_runs_as_diffusers_from_single_file_and_as_the_folder() {
    let sd = from_checkpoint(&folder().join("tiny-sd2.safetensors")).expect("loads");
    let latents = run(&sd);
    assert_close(
        "single-file latents",
        &latents,
        &reference_tensor(reference(), "single_file.latents"),
        1e-4,
    );
    // The same fp16 weights under other names: bit for bit the folder's run.
    let folder_run =
        run(&StableDiffusion::load(&fixtures().join("tiny-sd2"), &Device::Cpu).expect("folder"));
    assert_close("folder vs file", &latents, &folder_run, 0.0);
}

#[test]
fn pickles_other_files_and_incomplete_checkpoints_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pickle = dir.path().join("模型.ckpt");
    std::fs::write(&pickle, b"\x80\x02}q\x00.").expect("write");
    let err = from_checkpoint(&pickle).unwrap_err().to_string();
    assert!(
        err.contains("模型.ckpt") && err.contains("pickled"),
        "{err}"
    );

    // A diffusers component file is not an original-layout checkpoint.
    let unet = fixtures().join("tiny-sd2/unet/diffusion_pytorch_model.fp16.safetensors");
    let err = from_checkpoint(&unet).unwrap_err().to_string();
    assert!(err.contains("original layout"), "{err}");

    // A checkpoint missing one weight names the key and the model's name for it.
    let mut tensors =
        candle_core::safetensors::load(folder().join("tiny-sd2.safetensors"), &Device::Cpu)
            .expect("load");
    tensors.remove("first_stage_model.decoder.up.0.block.0.conv1.weight");
    let cut = dir.path().join("cut.safetensors");
    candle_core::safetensors::save(&tensors, &cut).expect("save");
    let err = from_checkpoint(&cut).unwrap_err().to_string();
    assert!(
        err.contains("first_stage_model.decoder.up.0.block.0.conv1.weight")
            && err.contains("decoder.up_blocks.1.resnets.0.conv1.weight"),
        "{err}"
    );
}
