//! Parity of the SD 2.x components and pipelines with diffusers 0.42.1, against the
//! fixtures written by scripts/fixtures/sd_reference.py (tiny random-weight models).
//! Every comparison is at f32 within 1e-4 absolute, except final latents larger than 20
//! in magnitude (see `latent_tolerance`).

use crate::common::{Reference, assert_close, fixtures, json, reference, tensor};
use crate::common::{h, m};
use candle_core::{Device, Tensor};
use pipelines::schedulers::{self, SchedulerConfig};
use pipelines::sd::pipeline::{Generation, InitImage, StableDiffusion};
use serde_json::Value;

pub(crate) const TOL: f32 = 1e-4;

pub(crate) fn model() -> StableDiffusion {
    StableDiffusion::load(&fixtures().join("tiny-sd2"), &Device::Cpu).expect("tiny model loads")
}

pub(crate) fn latent_tolerance(reference: &Tensor) -> f32 {
    let max = reference
        .abs()
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.max(0))
        .and_then(|t| t.to_scalar::<f32>())
        .expect("max");
    TOL.max(5e-6 * max)
}

#[test]
fn tokenizer_matches_transformers() {
    let sd = model();
    let tok = &json()["tokenizer"];
    let prompts = tok["prompts"].as_array().expect("prompts");
    for (i, prompt) in prompts.iter().enumerate() {
        let prompt = prompt.as_str().expect("prompt");
        let want: Vec<u32> = serde_json::from_value(tok["ids"][i].clone()).expect("ids");
        let enc = sd.tokenizer.encode(prompt).expect("encode");
        assert_eq!(enc.ids, want, "ids for {prompt:?}");
        let untruncated = tok["untruncated_lengths"][i].as_u64().expect("length") as usize;
        assert_eq!(
            enc.truncated,
            untruncated > 77,
            "truncation flag for {prompt:?}"
        );
    }
    let empty: Vec<u32> = serde_json::from_value(tok["empty"].clone()).expect("empty");
    assert_eq!(sd.tokenizer.encode("").expect("encode").ids, empty);
    // SD 2.x pads with "!" (id 0), as the fixture tokenizer is configured.
    assert_eq!(sd.tokenizer.pad_id(), 0);
}

#[test]
fn text_embeddings_match_the_pipeline() {
    let sd = model();
    let refs = json()["tokenizer"]["prompts"].as_array().expect("prompts");
    let p0 = refs[0].as_str().expect("prompt");
    let p1 = refs[1].as_str().expect("prompt");
    assert_close(
        "cond",
        &h(&sd.encode_prompt(p0).expect("encode").0),
        &tensor("text.cond"),
        TOL,
    );
    assert_close(
        "uncond",
        &h(&sd.encode_prompt("").expect("encode").0),
        &tensor("text.uncond"),
        TOL,
    );
    assert_close(
        "cond1",
        &h(&sd.encode_prompt(p1).expect("encode").0),
        &tensor("text.cond1"),
        TOL,
    );
}

#[test]
fn unet_forward_matches() {
    let sd = model();
    let enc = tensor("unet.encoder_hidden_states");
    let sample = tensor("unet.sample");
    let out = sd.unet.forward(&m(&sample), 981.0, &m(&enc)).expect("unet");
    assert_close("unet t=981", &h(&out), &tensor("unet.out"), TOL);
    let out = sd.unet.forward(&m(&sample), 1.0, &m(&enc)).expect("unet");
    assert_close("unet t=1", &h(&out), &tensor("unet.out_t1"), TOL);
    let enc1 = enc.narrow(0, 0, 1).expect("narrow");
    let out = sd
        .unet
        .forward(&m(&tensor("unet.sample_odd")), 500.0, &m(&enc1))
        .expect("unet");
    assert_close("unet 10x14", &h(&out), &tensor("unet.out_odd"), TOL);
}

#[test]
fn vae_decode_and_encode_match() {
    let sd = model();
    let decoded = sd.vae.decode(&m(&tensor("vae.latents"))).expect("decode");
    assert_close("vae decode", &h(&decoded), &tensor("vae.decoded"), TOL);
    let dist = sd.vae.encode(&m(&tensor("vae.image"))).expect("encode");
    assert_close("vae mean", &h(&dist.mean), &tensor("vae.mean"), TOL);
    assert_close("vae std", &h(&dist.std), &tensor("vae.std"), TOL);
}

/// Runs a recorded scheduler trace: timesteps, then each step on the recorded model output.
fn check_trace(name: &str) {
    check_trace_in(reference(), &json()["schedulers"][name], name);
}

/// [`check_trace`] for the trace `trace` of any reference.
pub(crate) fn check_trace_in((tensors, _): &Reference, trace: &Value, name: &str) {
    let tensor = |key: &str| {
        tensors
            .get(key)
            .unwrap_or_else(|| panic!("fixture tensor {key}"))
            .clone()
    };
    let config = SchedulerConfig::from_value(trace["config"].clone()).expect("config");
    let class = trace["class"].as_str().expect("class");
    let steps = trace["steps"].as_u64().expect("steps") as usize;
    let mut sched =
        schedulers::build(class, &config, steps).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want: Vec<f64> = serde_json::from_value(trace["timesteps"].clone()).expect("timesteps");
    assert_eq!(
        sched.timesteps().len(),
        want.len(),
        "{name}: timestep count"
    );
    for (a, b) in sched.timesteps().iter().zip(&want) {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1.0),
            "{name}: timesteps {:?} vs {want:?}",
            sched.timesteps()
        );
    }
    let sigma = trace["init_noise_sigma"].as_f64().expect("sigma");
    assert!(
        (sched.init_noise_sigma() - sigma).abs() <= 1e-4 * sigma,
        "{name}: init_noise_sigma"
    );
    let mut rng = device::TorchRng::new(trace["noise_seed"].as_u64().expect("seed"));
    let mut sample = tensor(&format!("{name}.sample"));
    for (i, t) in want.iter().enumerate() {
        let scaled = sched.scale_model_input(&sample, *t).expect("scale");
        assert_close(
            &format!("{name} scaled {i}"),
            &scaled,
            &tensor(&format!("{name}.scaled.{i}")),
            TOL,
        );
        let out = tensor(&format!("{name}.model_output.{i}"));
        sample = sched.step(&out, *t, &sample, &mut rng).expect("step");
        assert_close(
            &format!("{name} step {i}"),
            &sample,
            &tensor(&format!("{name}.prev_sample.{i}")),
            TOL,
        );
    }
}

#[test]
fn ddim_traces_match() {
    for name in [
        "ddim_eps",
        "ddim_v",
        "ddim_trailing_offset",
        "ddim_linspace",
    ] {
        check_trace(name);
    }
}

fn run_txt2img(name: &str) -> (StableDiffusion, Tensor) {
    let run = &json()["txt2img"][name];
    let sd = model();
    let config = SchedulerConfig::from_value(run["scheduler"].clone()).expect("config");
    let class = run["scheduler_class"].as_str().expect("class");
    let steps = run["num_inference_steps"].as_u64().expect("steps") as usize;
    let mut sched = schedulers::build(class, &config, steps).expect("scheduler");
    let g = crate::common::recorded_generation(
        run,
        run["prompt"].as_str().expect("prompt"),
        run["negative_prompt"].as_str(),
    );
    let (latents, truncated) = sd
        .txt2img(&g, sched.as_mut(), &mut |_, _| {})
        .expect("txt2img");
    assert!(!truncated);
    let want = tensor(&format!("txt2img.{name}.latents"));
    assert_close(
        &format!("{name} latents"),
        &latents,
        &want,
        latent_tolerance(&want),
    );
    (sd, latents)
}

#[test]
fn txt2img_ddim_matches_latents_and_image() {
    let (sd, latents) = run_txt2img("ddim");
    let image = sd
        .decode(&latents)
        .expect("decode")
        .permute((0, 2, 3, 1))
        .expect("nhwc");
    assert_close("ddim image", &image, &tensor("txt2img.ddim.image"), TOL);
}

#[test]
fn txt2img_ddim_v_prediction_trailing_matches() {
    run_txt2img("ddim-v");
}

#[test]
fn injected_latents_are_the_seeded_noise() {
    // `--latents` with the seed's own noise must reproduce the seeded run exactly.
    let sd = model();
    let config = SchedulerConfig::from_value(json()["txt2img"]["ddim"]["scheduler"].clone())
        .expect("config");
    let mut sched = schedulers::build("ddim", &config, 4).expect("scheduler");
    let g = Generation {
        prompt: json()["txt2img"]["ddim"]["prompt"]
            .as_str()
            .expect("prompt")
            .to_string(),
        negative_prompt: None,
        guidance: 7.5,
        seed: 12345,
        width: 32,
        height: 32,
        batch: 1,
        latents: Some(tensor("txt2img.initial_noise")),
    };
    let (latents, _) = sd
        .txt2img(&g, sched.as_mut(), &mut |_, _| {})
        .expect("txt2img");
    assert_close("injected", &latents, &tensor("txt2img.ddim.latents"), TOL);
}

#[test]
fn img2img_ddim_matches() {
    let run = &json()["img2img"];
    let sd = model();
    let mut sched = schedulers::build("ddim", &sd.scheduler_config.clone(), 5).expect("scheduler");
    let g = Generation {
        prompt: run["prompt"].as_str().expect("prompt").to_string(),
        negative_prompt: None,
        guidance: run["guidance_scale"].as_f64().expect("guidance"),
        seed: run["seed"].as_u64().expect("seed"),
        width: 32,
        height: 32,
        batch: 1,
        latents: None,
    };
    let init = InitImage {
        image: tensor("img2img.init_image"),
        strength: run["strength"].as_f64().expect("strength"),
    };
    let (latents, _) = sd
        .img2img(&g, &init, sched.as_mut(), &mut |_, _| {})
        .expect("img2img");
    assert_close("img2img latents", &latents, &tensor("img2img.latents"), TOL);
}

#[test]
fn pndm_traces_match() {
    for name in ["pndm_eps", "pndm_v"] {
        check_trace(name);
    }
}

#[test]
fn euler_traces_match() {
    for name in ["euler_eps", "euler_v_trailing"] {
        check_trace(name);
    }
}

#[test]
fn euler_ancestral_traces_match() {
    for name in ["euler_a_eps", "euler_a_v"] {
        check_trace(name);
    }
}

#[test]
fn dpm_solver_traces_match() {
    for name in ["dpm_eps", "dpm_v"] {
        check_trace(name);
    }
}

#[test]
fn txt2img_other_schedulers_match() {
    for name in ["pndm", "euler", "euler-a", "dpm++2m"] {
        run_txt2img(name);
    }
}

#[test]
fn txt2img_negative_prompt_and_no_guidance_match() {
    for name in ["ddim-negative", "ddim-no-cfg"] {
        run_txt2img(name);
    }
}
