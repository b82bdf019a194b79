//! The tiny random-weight model the demo and CLI tests run on: every component loads
//! through the loaders a real download goes through, and runs to finite outputs.

use crate::common::{h, m};
use candle_core::{DType, Device, Tensor};
use pipelines::encoders::clip::ClipTextConfig;
use pipelines::encoders::clip::ClipTextModelWithProjection;
use pipelines::encoders::clip::ClipTokenizer;
use pipelines::encoders::{LlamaModel, T5EncoderModel};
use pipelines::hidream::tiny_random::{TINY_MAX_TOKENS, write_tiny_random_model};
use pipelines::hidream::transformer::{HiDreamTransformer, TransformerInputs};
use pipelines::layers::Kernels;
use pipelines::models::autoencoders::AutoencoderKL;
use pipelines::models::autoencoders::VaeConfig;
use pipelines::weights::component_vars;
use std::path::Path;

fn all_finite(what: &str, t: &Tensor) {
    let values = t
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("values");
    assert!(!values.is_empty(), "{what} is empty");
    assert!(
        values.iter().all(|v| v.is_finite()),
        "{what} has non-finite values"
    );
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("parse")
}

#[test]
fn every_component_loads_and_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 7).expect("write tiny model");
    let dev = Device::Cpu;
    let tokens = TINY_MAX_TOKENS;

    let mut pooled = Vec::new();
    for (encoder, tokenizer) in [
        ("text_encoder", "tokenizer"),
        ("text_encoder_2", "tokenizer_2"),
    ] {
        let dir = model.model_dir.join(encoder);
        let config: ClipTextConfig = read_json(&dir.join("config.json"));
        let clip = ClipTextModelWithProjection::new(
            component_vars(&dir, DType::F32, &dev)
                .expect("clip weights")
                .into(),
            &config,
        )
        .expect("clip");
        let tok = ClipTokenizer::from_dir(&model.model_dir.join(tokenizer)).expect("tokenizer");
        let mut ids = tok.encode("a red fox").expect("encode").ids;
        ids.resize(tokens, tok.pad_id());
        let ids = Tensor::new(&ids[..tokens], &dev)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let (_, embeds) = clip.forward(&m(&ids)).expect("clip forward");
        all_finite(encoder, &h(&embeds));
        pooled.push(h(&embeds));
    }
    let pooled = Tensor::cat(&pooled, 1).unwrap();

    let ids = Tensor::zeros((1, tokens), DType::U32, &dev).unwrap();
    let mask = Tensor::ones((1, tokens), DType::U32, &dev).unwrap();
    let t5 = T5EncoderModel::load(&model.model_dir.join("text_encoder_3"), DType::F32, &dev)
        .expect("t5")
        .forward(&m(&ids), Some(&m(&mask)))
        .expect("t5 forward");
    all_finite("t5", &h(&t5));
    let llama = LlamaModel::load(&model.llama_dir, DType::F32, &dev)
        .expect("llama")
        .forward(&m(&ids), Some(&m(&mask)))
        .expect("llama forward");
    let llama = Tensor::stack(&llama[1..].iter().map(h).collect::<Vec<_>>(), 0).unwrap();
    all_finite("llama", &llama);

    let transformer = HiDreamTransformer::load(
        &model.model_dir.join("transformer"),
        &dev,
        Kernels::default(),
    )
    .expect("transformer");
    let latents = Tensor::randn(0f32, 1., (1, 16, 8, 12), &dev).unwrap();
    let timesteps = Tensor::new(&[500f32], &dev).unwrap();
    let out = transformer
        .forward(&TransformerInputs {
            latents: &m(&latents),
            timesteps: &timesteps,
            t5: &t5,
            llama: &m(&llama),
            pooled: &m(&pooled),
        })
        .expect("transformer forward");
    assert_eq!(out.dims(), latents.dims());
    all_finite("transformer", &h(&out));

    let vae_dir = model.model_dir.join("vae");
    let config: VaeConfig = read_json(&vae_dir.join("config.json"));
    let vae = AutoencoderKL::new(
        component_vars(&vae_dir, DType::F32, &dev)
            .expect("vae weights")
            .into(),
        &config,
    )
    .expect("vae");
    let image = vae.decode(&m(&latents)).expect("decode");
    assert_eq!(image.dims(), &[1, 3, 64, 96]);
    all_finite("vae decode", &h(&image));
}

#[test]
fn the_same_seed_writes_the_same_weights_and_another_seed_does_not() {
    let read = |seed: u64| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let model = write_tiny_random_model(tmp.path(), seed).expect("write");
        std::fs::read(
            model
                .model_dir
                .join("transformer/diffusion_pytorch_model.safetensors"),
        )
        .expect("read weights")
    };
    let first = read(3);
    assert_eq!(first, read(3));
    assert_ne!(first, read(4));
}

#[test]
fn the_tiny_lora_merges_into_the_tiny_transformer_and_changes_it() {
    use pipelines::hidream::lora::{E1_FULL_LORA_ALPHA, LoraParts, load_transformer_with_lora};
    use pipelines::hidream::tiny_random::write_tiny_lora;
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 7).expect("write tiny model");
    let lora = tmp.path().join("lora.safetensors");
    let adapted = write_tiny_lora(&model, &lora, 8).expect("write lora");
    // One double block (q/k/v/out for image and text, three experts' and the shared
    // expert's and the text FFN's w1/w2/w3), one single block, the final layer.
    assert!(adapted > 20, "only {adapted} modules adapted");
    let dev = Device::Cpu;
    let dir = model.model_dir.join("transformer");
    let plain = HiDreamTransformer::load(&dir, &dev, Kernels::default()).expect("plain");
    let merged = load_transformer_with_lora(
        &dir,
        &lora,
        E1_FULL_LORA_ALPHA,
        LoraParts::All,
        &dev.clone().into(),
        candle_core::DType::F32,
        Kernels::default(),
    )
    .expect("every LoRA key names a transformer weight");
    let latents = Tensor::randn(0f32, 1., (1, 16, 8, 8), &dev).unwrap();
    let timesteps = Tensor::new(&[300f32], &dev).unwrap();
    let t5 = Tensor::randn(0f32, 1., (1, 4, 32), &dev).unwrap();
    let llama = Tensor::randn(0f32, 1., (2, 1, 4, 32), &dev).unwrap();
    let pooled = Tensor::randn(0f32, 1., (1, 64), &dev).unwrap();
    let inputs = TransformerInputs {
        latents: &m(&latents),
        timesteps: &timesteps,
        t5: &m(&t5),
        llama: &m(&llama),
        pooled: &m(&pooled),
    };
    let a = plain.forward(&inputs).expect("plain forward");
    let b = merged.forward(&inputs).expect("merged forward");
    all_finite("merged", &h(&b));
    let diff = (h(&a) - h(&b))
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff > 1e-3, "the LoRA changed nothing ({diff:e})");
}

/// The refine transformer loads only when refining starts, so a broken refine folder must be
/// refused before anything loads, not after the editing steps.
#[test]
fn an_edit_job_checks_the_refine_folder_before_loading_anything() {
    use pipelines::hidream::edit::{EditVariant, editing_prompt};
    use pipelines::hidream::edit_job::{EditEvent, EditJob, run_edit_job};
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 5).expect("write tiny model");
    let image = tmp.path().join("source.png");
    pipelines::image::write_png(
        &image,
        32,
        32,
        &[100; 32 * 32 * 3],
        &[("parameters", "test")],
    )
    .expect("png");
    let refine = tmp.path().join("refine");
    std::fs::create_dir_all(refine.join("transformer")).expect("mkdir");
    let job = EditJob {
        model: model.model_dir.clone(),
        llama: model.llama_dir.clone(),
        image,
        prompt: editing_prompt("make it snow", "a snowy field"),
        settings: EditVariant::E1_1.defaults(),
        lora: None,
        refine_model: Some(refine.clone()),
        seed: 0,
        dtype: DType::F32,
        device: Device::Cpu.into(),
    };
    let mut stages = Vec::new();
    let err = run_edit_job(&job, &mut |event| {
        if let EditEvent::Stage(stage) = event {
            stages.push(stage.to_string());
        }
    })
    .expect_err("an empty refine transformer folder");
    assert!(err.is_bad_input(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(
            &refine
                .join("transformer")
                .join("config.json")
                .display()
                .to_string()
        ),
        "{msg}"
    );
    assert!(stages.is_empty(), "loaded before failing: {stages:?}");
}

/// A phone photo as the edit source: a JPEG stored sideways with EXIF orientation 6 is
/// edited upright (as diffusers' load_image hands it on), and the job says so.
#[test]
fn an_edit_job_edits_a_rotated_jpeg_upright_and_says_so() {
    use pipelines::hidream::edit::{EditVariant, editing_prompt};
    use pipelines::hidream::edit_image::SourceSizing;
    use pipelines::hidream::edit_job::{EditEvent, EditJob, run_edit_job};
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = write_tiny_random_model(tmp.path(), 5).expect("write tiny model");
    let image = tmp.path().join("手机照片.jpg");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/input-images/exif6.jpg");
    std::fs::copy(fixture, &image).expect("copy");
    let mut settings = EditVariant::E1_1.defaults();
    settings.steps = 2;
    settings.sizing = SourceSizing::Square(32);
    settings.max_seq = 2 * (32 / 16) * (32 / 16);
    let job = EditJob {
        model: model.model_dir.clone(),
        llama: model.llama_dir.clone(),
        image,
        prompt: editing_prompt("make it snow", "a snowy field"),
        settings,
        lora: None,
        refine_model: None,
        seed: 0,
        dtype: DType::F32,
        device: Device::Cpu.into(),
    };
    let mut notes = Vec::new();
    let edited = run_edit_job(&job, &mut |event| {
        if let EditEvent::Note(note) = event {
            notes.push(note.to_string());
        }
    })
    .expect("edit");
    assert_eq!(
        notes,
        [
            "turned upright by its EXIF orientation 6 as diffusers' load_image does \
          (PIL's exif_transpose)"
        ]
    );
    // Stored 40x24: the source the scripts scale back to is the upright 24x40.
    assert_eq!((edited.source_width, edited.source_height), (24, 40));
    assert_eq!((edited.image.width, edited.image.height), (32, 32));
}
