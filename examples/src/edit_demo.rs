//! The `--demo` of `hidream-edit`: a tiny HiDream with random weights, an E1-Full-style LoRA
//! for it and a synthetic source picture, written to a scratch folder, so the whole edit
//! path (loaders, tokenizers, four text encoders, LoRA merge, three-way guidance, refine
//! stage, VAE) runs end to end with no download. The picture it produces is noise: it shows
//! that the path works, not what HiDream can do.

use pipelines::hidream::HiDreamError;
use pipelines::hidream::edit::{EditVariant, editing_prompt};
use pipelines::hidream::edit_image::SourceSizing;
use pipelines::hidream::edit_job::EditJob;
use pipelines::hidream::tiny_random::{write_tiny_lora, write_tiny_random_model};
use std::path::Path;

/// Seeds for the demo's weights and LoRA: fixed, so every run builds the same model.
const WEIGHT_SEED: u64 = 0;
const LORA_SEED: u64 = 1;
/// The synthetic source picture's size (wider than tall, to show the scaling back).
pub const SOURCE_WIDTH: usize = 96;
pub const SOURCE_HEIGHT: usize = 64;
/// Edit size and steps, small so the demo takes seconds on a CPU.
pub const DEMO_SIDE: usize = 128;
pub const DEMO_STEPS: usize = 4;

/// Writes the demo's model, LoRA and source picture under `scratch` and returns the job
/// that edits it (E1-Full with its LoRA and the refine stage), for `instruction`.
pub fn prepare(
    scratch: &Path,
    instruction: &str,
    description: &str,
) -> Result<EditJob, HiDreamError> {
    let model = write_tiny_random_model(scratch, WEIGHT_SEED)?;
    let lora = scratch.join("tiny-e1-lora.safetensors");
    write_tiny_lora(&model, &lora, LORA_SEED)?;
    let image = scratch.join("source.png");
    write_source_picture(&image)?;
    let mut settings = EditVariant::E1Full.defaults();
    settings.steps = DEMO_STEPS;
    settings.sizing = SourceSizing::Square(DEMO_SIDE);
    // Patches of the edit plus the source beside it: no padding needed at this size.
    settings.max_seq = (DEMO_SIDE / 16) * (2 * DEMO_SIDE / 16);
    Ok(EditJob {
        model: model.model_dir,
        llama: model.llama_dir,
        image,
        prompt: editing_prompt(instruction, description),
        settings,
        lora: Some(lora),
        refine_model: None,
        seed: crate::edit_recipes::SEED,
        dtype: candle_core::DType::F32,
        device: candle_core::Device::Cpu.into(),
    })
}

/// A small landscape: sky gradient, a sun, green ground.
fn write_source_picture(path: &Path) -> Result<(), HiDreamError> {
    let (w, h) = (SOURCE_WIDTH, SOURCE_HEIGHT);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f64 - 0.7 * w as f64, y as f64 - 0.3 * h as f64);
            let pixel = if dx * dx + dy * dy < 64.0 {
                [250, 210, 60]
            } else if y > 2 * h / 3 {
                [40, 140 + (x % 16) as u8, 50]
            } else {
                let t = y as f64 / h as f64;
                [(90.0 + 100.0 * t) as u8, (150.0 + 60.0 * t) as u8, 240]
            };
            rgb.extend_from_slice(&pixel);
        }
    }
    pipelines::image::write_png(
        path,
        w as u32,
        h as u32,
        &rgb,
        &[("parameters", "synthetic demo source")],
    )
    .map_err(|e| HiDreamError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
