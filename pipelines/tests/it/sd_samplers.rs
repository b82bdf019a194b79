//! The samplers `sd --scheduler` takes under AUTOMATIC1111's names (Karras and exponential
//! sigmas for Euler, DPM++ 2M, Heun and LMS, DPM++ 2M SDE, Heun, LMS) against diffusers 0.42.1, from the fixtures
//! of scripts/fixtures/sd_samplers_reference.py: schedules, scheduler traces and whole
//! txt2img runs on the tiny SD 2.x model, each sampler built from the model's own scheduler
//! config as diffusers' `from_config(config, **overrides)` builds it.

use crate::common::{Reference, assert_close, fixtures, load_reference, recorded_generation};
use crate::sd_parity::{TOL, check_trace_in, latent_tolerance, model};
use pipelines::schedulers::{SchedulerConfig, sampler};
use pipelines::sd::pipeline::{Generation, InitImage};
use serde_json::Value;
use std::sync::OnceLock;

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| load_reference(&fixtures().join("samplers")))
}

fn json() -> &'static Value {
    &reference().1
}

/// Every recorded schedule: the sampler's name built over the recorded config. The configs
/// include one that asks for Karras sigmas, which a name's own schedule type replaces and
/// ancestral Euler (no such option in diffusers) ignores.
#[test]
fn schedules_match_diffusers() {
    let records = json()["schedules"].as_array().expect("schedules");
    assert!(records.len() >= 200, "{} schedules", records.len());
    let (mut worst_t, mut worst_sigma) = (0f64, 0f64);
    for r in records {
        let name = r["sampler"].as_str().expect("sampler");
        let what = format!("{name} {} {} steps", r["variant"], r["steps"]);
        let config = SchedulerConfig::from_value(r["config"].clone()).expect("config");
        let steps = r["steps"].as_u64().expect("steps") as usize;
        let sched = sampler::parse(name)
            .expect("listed")
            .build(&config, steps)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let want_t: Vec<f64> = serde_json::from_value(r["timesteps"].clone()).expect("t");
        let want_s: Vec<f64> = serde_json::from_value(r["sigmas"].clone()).expect("sigmas");
        assert_eq!(sched.timesteps().len(), want_t.len(), "{what}: timesteps");
        assert_eq!(sched.sigmas().len(), want_s.len(), "{what}: sigmas");
        for (a, b) in sched.timesteps().iter().zip(&want_t) {
            let d = (a - b).abs() / b.abs().max(1.0);
            assert!(
                d <= 1e-6,
                "{what}: timesteps {:?} vs {want_t:?}",
                sched.timesteps()
            );
            worst_t = worst_t.max(d);
        }
        for (a, b) in sched.sigmas().iter().zip(&want_s) {
            let d = (f64::from(*a) - b).abs() / b.abs().max(1e-3);
            assert!(
                d <= 1e-6,
                "{what}: sigmas {:?} vs {want_s:?}",
                sched.sigmas()
            );
            worst_sigma = worst_sigma.max(d);
        }
        let sigma = r["init_noise_sigma"].as_f64().expect("init sigma");
        assert!(
            (sched.init_noise_sigma() - sigma).abs() <= 1e-6 * sigma,
            "{what}: init_noise_sigma {} vs {sigma}",
            sched.init_noise_sigma()
        );
    }
    // Shown with --no-capture: the measured figures in docs/stable-diffusion.md.
    eprintln!("schedules: relative difference timesteps {worst_t:e}, sigmas {worst_sigma:e}");
}

#[test]
fn traces_match_diffusers() {
    let traces = json()["traces"].as_object().expect("traces");
    assert_eq!(traces.len(), 10);
    for (name, trace) in traces {
        check_trace_in(reference(), trace, name);
    }
}

/// The whole pipeline, with each sampler built from the tiny model's own (DDIM) config by
/// its name, as `sd --scheduler NAME` builds it.
#[test]
fn txt2img_runs_match_diffusers() {
    let sd = model();
    let runs = json()["txt2img"].as_object().expect("runs");
    assert_eq!(runs.len(), 10);
    for (name, run) in runs {
        let steps = run["num_inference_steps"].as_u64().expect("steps") as usize;
        let mut sched = sampler::parse(name)
            .expect("listed")
            .build(&sd.scheduler_config, steps)
            .expect("scheduler");
        let g = recorded_generation(run, run["prompt"].as_str().expect("prompt"), None);
        let (latents, _) = sd
            .txt2img(&g, sched.as_mut(), &mut |_, _| {})
            .expect("txt2img");
        let want = reference()
            .0
            .get(&format!("txt2img.{name}.latents"))
            .expect("fixture latents");
        assert_close(
            &format!("{name} latents"),
            &latents,
            want,
            latent_tolerance(want).max(TOL),
        );
    }
}

/// img2img cuts the schedule at a multiple of the sampler's order (Heun's corrector steps)
/// and starts the sampler at the cut, also where the cut's timestep is listed twice.
#[test]
fn img2img_runs_match_diffusers() {
    let sd = model();
    let runs = json()["img2img"].as_object().expect("runs");
    assert_eq!(runs.len(), 6);
    let tensor = |key: &str| {
        reference()
            .0
            .get(key)
            .unwrap_or_else(|| panic!("fixture tensor {key}"))
            .clone()
    };
    for (name, run) in runs {
        let steps = run["num_inference_steps"].as_u64().expect("steps") as usize;
        let mut sched = sampler::parse(run["sampler"].as_str().expect("sampler"))
            .expect("listed")
            .build(&sd.scheduler_config, steps)
            .expect("scheduler");
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
        let want = tensor(&format!("img2img.{name}.latents"));
        assert_close(
            &format!("{name} img2img latents"),
            &latents,
            &want,
            latent_tolerance(&want).max(TOL),
        );
    }
}
