//! Small synthetic model folders for `doctor --model`, written byte by byte. Shared with
//! the cli crate's doctor test through `#[path]`, so the library's checks and the binary's
//! report are tried on the same folders.

#![allow(dead_code)]

use std::path::Path;

/// A safetensors file with one F32 tensor of `numel` elements, written byte by byte.
pub fn tensors_file(path: &Path, numel: usize) {
    let header = format!(
        r#"{{"w":{{"dtype":"F32","shape":[{numel}],"data_offsets":[0,{}]}}}}"#,
        numel * 4
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + numel * 4, 0);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An SD 2.x folder: unet 1000 floats (plus an fp16 variant that must not be counted
/// twice), vae 100, text encoder 200: 5200 bytes as f32.
pub fn sd2(root: &Path) {
    write(
        &root.join("model_index.json"),
        r#"{"_class_name":"StableDiffusionPipeline","_diffusers_version":"0.32.0",
            "unet":["diffusers","UNet2DConditionModel"],"vae":["diffusers","AutoencoderKL"],
            "text_encoder":["transformers","CLIPTextModel"],
            "tokenizer":["transformers","CLIPTokenizer"],
            "scheduler":["diffusers","DDIMScheduler"],
            "safety_checker":[null,null],"feature_extractor":[null,null]}"#,
    );
    write(
        &root.join("unet/config.json"),
        r#"{"cross_attention_dim":1024}"#,
    );
    tensors_file(&root.join("unet/diffusion_pytorch_model.safetensors"), 1000);
    tensors_file(
        &root.join("unet/diffusion_pytorch_model.fp16.safetensors"),
        1000,
    );
    write(&root.join("vae/config.json"), "{}");
    tensors_file(&root.join("vae/diffusion_pytorch_model.safetensors"), 100);
    write(&root.join("text_encoder/config.json"), "{}");
    tensors_file(&root.join("text_encoder/model.safetensors"), 200);
    write(&root.join("tokenizer/tokenizer_config.json"), "{}");
    write(&root.join("scheduler/scheduler_config.json"), "{}");
}
