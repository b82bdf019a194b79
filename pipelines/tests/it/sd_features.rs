//! The SD options users bring from A1111, against diffusers 0.42.1 on the tiny SD model
//! (scripts/fixtures/sd_features_reference.py): clip skip, VAE tiling.

use crate::common::{
    Reference, assert_close, fixtures, load_reference, max_abs, recorded_generation,
    reference_tensor, txt2img_with_folder_scheduler,
};
use crate::common::{h, m};
use candle_core::{Device, Tensor};
use pipelines::sd::pipeline::StableDiffusion;
use std::sync::OnceLock;

const TOL: f32 = 1e-4;

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| load_reference(&fixtures().join("../sd-features")))
}

fn tensor(name: &str) -> Tensor {
    reference_tensor(reference(), name)
}

fn model() -> StableDiffusion {
    StableDiffusion::load(&fixtures().join("tiny-sd2"), &Device::Cpu).expect("tiny model loads")
}

#[test]
fn clip_skip_embeddings_match_for_every_depth() {
    let prompt = reference().1["prompt"].as_str().expect("prompt");
    let mut sd = model();
    for n in 1..=4 {
        sd = sd.with_clip_skip(n).expect("clip skip");
        let (ours, _) = sd.encode_prompt(prompt).expect("encode");
        assert_close(
            &format!("clip skip {n}"),
            &h(&ours),
            &tensor(&format!("clip_skip.{n}")),
            TOL,
        );
    }
    // Each depth is a different embedding, so the comparison above can tell them apart.
    let difference = (tensor("clip_skip.1") - tensor("clip_skip.2")).expect("sub");
    assert!(max_abs(&difference) > 1e-2);
}

#[test]
fn a_clip_skip_run_matches_with_both_prompts_skipped() {
    let record = &reference().1;
    let run = &record["run"];
    let sd = model()
        .with_clip_skip(run["clip_skip"].as_u64().expect("skip") as usize + 1)
        .expect("clip skip");
    let g = recorded_generation(
        run,
        record["prompt"].as_str().expect("prompt"),
        record["negative_prompt"].as_str(),
    );
    let latents = txt2img_with_folder_scheduler(&sd, &g, run);
    assert_close(
        "clip skip 2 latents",
        &latents,
        &tensor("clip_skip.run.latents"),
        TOL,
    );
}

#[test]
fn clip_skip_outside_the_encoder_is_refused_with_the_range() {
    for n in [0, 6, usize::MAX] {
        let err = model().with_clip_skip(n).unwrap_err().to_string();
        assert!(
            err.contains(&format!("clip skip {n}")) && err.contains("1..=5"),
            "{err}"
        );
    }
}

#[test]
fn tiled_decode_and_encode_match_diffusers() {
    let mut sd = model();
    let tiling = sd.vae.enable_tiling().expect("tiling");
    let record = &reference().1;
    assert_eq!(
        (tiling.sample as u64, tiling.latent as u64),
        (
            record["tile_sample_min_size"].as_u64().expect("sample"),
            record["tile_latent_min_size"].as_u64().expect("latent")
        )
    );
    let decoded = sd
        .vae
        .decode(&m(&tensor("tiling.latents")))
        .expect("decode");
    assert_close("tiled decode", &h(&decoded), &tensor("tiling.decoded"), TOL);
    // The tiles really were blended: an untiled decode is measurably different.
    let seams = (tensor("tiling.decoded") - tensor("tiling.decoded_untiled")).expect("sub");
    assert!(max_abs(&seams) > 1e-3, "{}", max_abs(&seams));
    let encoded = sd.vae.encode(&m(&tensor("tiling.image"))).expect("encode");
    assert_close(
        "tiled mean",
        &h(&encoded.mean),
        &tensor("tiling.encoded_mean"),
        TOL,
    );
    assert_close(
        "tiled std",
        &h(&encoded.std),
        &tensor("tiling.encoded_std"),
        TOL,
    );
}
