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

/// The tiny SD 2.x pipeline the parity tests run (every component real, so `sd` loads
/// it), read from the pipelines crate's fixtures whichever crate compiles this file.
const TINY_SD2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../pipelines/tests/fixtures/sd2/tiny-sd2"
);

/// A tiny HiDream transformer folder (config.json and weights).
const TINY_HIDREAM_TRANSFORMER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../pipelines/tests/fixtures/hidream/generate/transformer"
);

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// An SD 2.x folder `sd` loads: the tiny pipeline, with a plain copy of the UNet beside
/// its fp16 variant (the variant must not be counted twice).
pub fn sd2(root: &Path) {
    copy_tree(Path::new(TINY_SD2), root);
    std::fs::copy(
        root.join("unet/diffusion_pytorch_model.fp16.safetensors"),
        root.join("unet/diffusion_pytorch_model.safetensors"),
    )
    .unwrap();
}

/// The weight files of `sd2` that load, per component: (component, file).
pub const SD2_WEIGHTS: [(&str, &str); 3] = [
    ("unet", "diffusion_pytorch_model.safetensors"),
    ("vae", "diffusion_pytorch_model.fp16.safetensors"),
    ("text_encoder", "model.fp16.safetensors"),
];

/// A HiDream-I1 folder holding only its (tiny, real) transformer.
pub fn hidream_transformer_only(root: &Path) {
    write(
        &root.join("model_index.json"),
        r#"{"_class_name":"HiDreamImagePipeline",
            "transformer":["diffusers","HiDreamImageTransformer2DModel"]}"#,
    );
    copy_tree(
        Path::new(TINY_HIDREAM_TRANSFORMER),
        &root.join("transformer"),
    );
}
