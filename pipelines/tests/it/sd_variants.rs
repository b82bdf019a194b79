//! The SD 2.x pipeline under its build options, against the same diffusers fixtures as
//! sd_parity.rs (scripts/fixtures/sd_reference.py, f32 reference from fp16-exact weights):
//! both kernel choices at the f32 tolerance, images per prompt, and reduced dtypes at
//! tolerances derived from their rounding (see `reduced_precision_tolerance`).

use crate::common::{assert_close, fixtures, json, max_abs, rounding_bound, tensor};
use crate::common::{h, m};
use candle_core::{DType, Device, Tensor};
use pipelines::layers::Kernels;
use pipelines::schedulers::{self, SchedulerConfig};
use pipelines::sd::pipeline::{Generation, InitImage, LoadOptions, StableDiffusion};
use serde_json::Value;

/// The f32 bound of sd_parity.rs: both kernel choices must meet it.
const TOL: f32 = 1e-4;

fn model(dtype: DType, kernels: Kernels) -> StableDiffusion {
    StableDiffusion::load_with(
        &fixtures().join("tiny-sd2"),
        &Device::Cpu,
        LoadOptions {
            dtype,
            kernels,
            ..LoadOptions::default()
        },
    )
    .expect("tiny model loads")
}

/// Reduced-precision bound, relative to the reference's own scale: `k` units of the
/// dtype's rounding (2^-11 for f16, 2^-8 for bf16) times the largest reference value.
/// Measured errors are 3-8 such units for every output here (text encoder, one UNet or
/// VAE pass, a whole 4-step pipeline, either kernel choice: run with --no-capture), so
/// k = 16 (24 for the VAE's deeper decoder) leaves a 2-4x margin; a wrongly computed layer
/// is off by the output's own scale, hundreds of units.
fn reduced_precision_tolerance(dtype: DType, reference: &Tensor, k: f32) -> f32 {
    rounding_bound(dtype, reference, k).max(TOL)
}

fn ddim(run: &Value) -> Box<dyn schedulers::Scheduler> {
    let config = SchedulerConfig::from_value(run["scheduler"].clone()).expect("config");
    let class = run["scheduler_class"].as_str().expect("class");
    let steps = run["num_inference_steps"].as_u64().expect("steps") as usize;
    schedulers::build(class, &config, steps).expect("scheduler")
}

fn generation(run: &Value) -> Generation {
    Generation {
        prompt: run["prompt"].as_str().expect("prompt").to_string(),
        negative_prompt: run["negative_prompt"].as_str().map(str::to_string),
        guidance: run["guidance_scale"].as_f64().expect("guidance"),
        seed: run["seed"].as_u64().expect("seed"),
        width: run["width"].as_u64().expect("width") as usize,
        height: run["height"].as_u64().expect("height") as usize,
        batch: run["num_images_per_prompt"].as_u64().unwrap_or(1) as usize,
        latents: None,
    }
}

fn txt2img(sd: &StableDiffusion, name: &str) -> Tensor {
    let run = &json()["txt2img"][name];
    let mut sched = ddim(run);
    sd.txt2img(&generation(run), sched.as_mut(), &mut |_, _| {})
        .expect("txt2img")
        .0
}

fn unet_out(sd: &StableDiffusion, dtype: DType) -> Tensor {
    let enc = tensor("unet.encoder_hidden_states")
        .to_dtype(dtype)
        .expect("dtype");
    let sample = tensor("unet.sample").to_dtype(dtype).expect("dtype");
    h(&sd.unet.forward(&m(&sample), 981.0, &m(&enc)).expect("unet"))
}

#[test]
fn naive_and_fused_kernels_both_match_diffusers_at_f32() {
    for kernels in [Kernels::Fused, Kernels::Naive] {
        let sd = model(DType::F32, kernels);
        let prompt = json()["tokenizer"]["prompts"][0].as_str().expect("prompt");
        let cond = sd.encode_prompt(prompt).expect("encode").0;
        assert_close(
            &format!("{kernels} text"),
            &h(&cond),
            &tensor("text.cond"),
            TOL,
        );
        let out = unet_out(&sd, DType::F32);
        assert_close(&format!("{kernels} unet"), &out, &tensor("unet.out"), TOL);
        let decoded = sd.vae.decode(&m(&tensor("vae.latents"))).expect("decode");
        assert_close(
            &format!("{kernels} vae decode"),
            &h(&decoded),
            &tensor("vae.decoded"),
            TOL,
        );
        let dist = sd.vae.encode(&m(&tensor("vae.image"))).expect("encode");
        assert_close(
            &format!("{kernels} vae mean"),
            &h(&dist.mean),
            &tensor("vae.mean"),
            TOL,
        );
        let latents = txt2img(&sd, "ddim");
        let want = tensor("txt2img.ddim.latents");
        assert_close(&format!("{kernels} txt2img ddim"), &latents, &want, TOL);
    }
}

#[test]
fn two_images_per_prompt_match_diffusers() {
    let sd = model(DType::F32, Kernels::Fused);
    let latents = txt2img(&sd, "ddim-batch2");
    assert_eq!(latents.dim(0).expect("batch"), 2);
    assert_close(
        "txt2img batch 2",
        &latents,
        &tensor("txt2img.ddim-batch2.latents"),
        TOL,
    );
    // One randn over both images: the second image has its own noise.
    let first = latents.narrow(0, 0, 1).expect("first");
    let second = latents.narrow(0, 1, 1).expect("second");
    assert!(max_abs(&(first - second).expect("diff")) > 1e-2);
    let image = sd
        .decode(&latents)
        .expect("decode")
        .permute((0, 2, 3, 1))
        .expect("nhwc");
    assert_close(
        "txt2img batch 2 image",
        &image,
        &tensor("txt2img.ddim-batch2.image"),
        TOL,
    );

    let run = &json()["img2img"];
    let mut sched = schedulers::build("ddim", &sd.scheduler_config.clone(), 5).expect("ddim");
    let mut g = generation(&serde_json::json!({
        "prompt": run["prompt"], "guidance_scale": run["guidance_scale"], "seed": run["seed"],
        "width": 32, "height": 32, "num_images_per_prompt": 2,
    }));
    g.negative_prompt = None;
    let init = InitImage {
        image: tensor("img2img.init_image"),
        strength: run["strength"].as_f64().expect("strength"),
    };
    let (latents, _) = sd
        .img2img(&g, &init, sched.as_mut(), &mut |_, _| {})
        .expect("img2img");
    assert_close(
        "img2img batch 2",
        &latents,
        &tensor("img2img.batch2.latents"),
        TOL,
    );
}

#[test]
fn a_zero_batch_is_rejected() {
    let sd = model(DType::F32, Kernels::Fused);
    let mut g = generation(&json()["txt2img"]["ddim"]);
    g.batch = 0;
    let mut sched = ddim(&json()["txt2img"]["ddim"]);
    let err = sd
        .txt2img(&g, sched.as_mut(), &mut |_, _| {})
        .expect_err("batch 0 must fail");
    assert!(err.to_string().contains("batch"), "{err}");
}

#[test]
fn reduced_precision_runs_stay_within_their_rounding_bounds() {
    for dtype in [DType::F16, DType::BF16] {
        for kernels in [Kernels::Fused, Kernels::Naive] {
            let sd = model(dtype, kernels);
            assert_eq!(sd.dtype(), dtype);
            let name = format!("{dtype:?} {kernels}");
            let prompt = json()["tokenizer"]["prompts"][0].as_str().expect("prompt");
            let cond = sd.encode_prompt(prompt).expect("encode").0;
            assert_eq!(cond.dtype(), dtype);
            let want = tensor("text.cond");
            let tol = reduced_precision_tolerance(dtype, &want, 16.0);
            assert_close(&format!("{name} text"), &h(&cond), &want, tol);

            let out = unet_out(&sd, dtype);
            let want = tensor("unet.out");
            let tol = reduced_precision_tolerance(dtype, &want, 16.0);
            assert_close(&format!("{name} unet"), &out, &want, tol);

            let decoded = sd
                .vae
                .decode(&m(&tensor("vae.latents").to_dtype(dtype).expect("dtype")))
                .expect("decode");
            let want = tensor("vae.decoded");
            let tol = reduced_precision_tolerance(dtype, &want, 24.0);
            assert_close(&format!("{name} vae decode"), &h(&decoded), &want, tol);

            // Latents come back f32 whatever the model dtype.
            let latents = txt2img(&sd, "ddim");
            assert_eq!(latents.dtype(), DType::F32);
            let want = tensor("txt2img.ddim.latents");
            let tol = reduced_precision_tolerance(dtype, &want, 16.0);
            assert_close(&format!("{name} txt2img ddim"), &latents, &want, tol);
        }
    }
}

/// Scheduler configs as diffusers' own `save_config` writes them (Python's json:
/// DPMSolverMultistepScheduler's `lambda_min_clipped` is the bare word `-Infinity`), made
/// by scripts/fixtures/saved_configs_reference.py: each reads and builds its scheduler.
#[test]
fn scheduler_configs_saved_by_diffusers_load_and_build() {
    let saved = fixtures()
        .parent()
        .expect("fixtures")
        .join("saved-by-diffusers");
    let mut classes = Vec::new();
    for entry in std::fs::read_dir(&saved).expect("saved configs") {
        let path = entry.expect("entry").path().join("scheduler_config.json");
        let config: SchedulerConfig =
            pipelines::config::read_config(&path).unwrap_or_else(|e| panic!("{e}"));
        let class = config.class_name().expect("_class_name").to_string();
        let built = schedulers::build(&class, &config, 25);
        if class == "PNDMScheduler" {
            // The fixture config leaves skip_prk_steps out, so diffusers saves its default
            // (false, the PRK warm-up), which this port refuses by name rather than run.
            let err = built.map(drop).unwrap_err().to_string();
            assert!(err.contains("skip_prk_steps"), "{err}");
        } else {
            built.unwrap_or_else(|e| panic!("{class}: {e}"));
        }
        if class == "DPMSolverMultistepScheduler" {
            assert_eq!(config.lambda_min_clipped, f64::NEG_INFINITY);
        }
        classes.push(class);
    }
    classes.sort();
    assert_eq!(
        classes,
        [
            "DDIMScheduler",
            "DPMSolverMultistepScheduler",
            "EulerAncestralDiscreteScheduler",
            "EulerDiscreteScheduler",
            "PNDMScheduler"
        ]
    );
}
