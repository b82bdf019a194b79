//! Token Merging, DeepCache and CFG-parallel against the references written by
//! scripts/fixtures/sd_accel_reference.py (tomesd 0.1.3 and DeepCache 0.1.1 on diffusers
//! 0.42.1), on tiny-sd2 with the `accel-unet` UNet, whose highest-resolution blocks have
//! attention so that tomesd's default max_downsample=1 merges tokens.
//!
//! Tolerance: final latents within 1e-4 absolute or 5e-6 of the largest value, as
//! sd_parity.rs; the runs here move latents by 0.26-1.5 from the baseline, so a wrong skip
//! point, merge set or destination draw fails by orders of magnitude.

use crate::common::{copy_dir, fixtures, max_abs_diff};
use crate::common::{h, m};
use candle_core::{Device, Tensor};
use pipelines::error::ModelError;
use pipelines::schedulers::{self, Scheduler};
use pipelines::sd::accel::{Accelerations, CfgParallel, DeepCacheOptions, TomeOptions, deviation};
use pipelines::sd::pipeline::{Generation, InitImage, StableDiffusion};
use std::sync::{Arc, OnceLock};

fn reference() -> &'static crate::common::Reference {
    static REF: OnceLock<crate::common::Reference> = OnceLock::new();
    REF.get_or_init(|| crate::common::load_reference(&fixtures().join("accel")))
}

fn reference_latents(run: &str) -> Tensor {
    reference()
        .0
        .get(&format!("{run}.latents"))
        .unwrap_or_else(|| panic!("fixture run {run}"))
        .clone()
}

/// tiny-sd2 with accel-unet as its UNet, assembled in a temporary folder.
fn model() -> StableDiffusion {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = fixtures().join("tiny-sd2");
    std::fs::copy(
        tiny.join("model_index.json"),
        dir.path().join("model_index.json"),
    )
    .expect("copy");
    for part in ["tokenizer", "text_encoder", "vae", "scheduler"] {
        copy_dir(&tiny.join(part), &dir.path().join(part));
    }
    copy_dir(
        &fixtures().join("accel/accel-unet"),
        &dir.path().join("unet"),
    );
    StableDiffusion::load(dir.path(), &Device::Cpu).expect("accel model loads")
}

fn generation() -> Generation {
    let r = &reference().1;
    Generation {
        prompt: r["prompt"].as_str().expect("prompt").to_string(),
        negative_prompt: None,
        guidance: r["guidance"].as_f64().expect("guidance"),
        seed: r["seed"].as_u64().expect("seed"),
        width: r["width"].as_u64().expect("width") as usize,
        height: r["height"].as_u64().expect("height") as usize,
        latents: None,
        batch: 1,
    }
}

fn scheduler(sd: &StableDiffusion, steps: usize) -> Box<dyn Scheduler> {
    schedulers::build("DDIMScheduler", &sd.scheduler_config, steps).expect("scheduler")
}

fn steps(run: &str) -> usize {
    reference().1["runs"][run]["steps"].as_u64().expect("steps") as usize
}

fn run(sd: &StableDiffusion, accel: &Accelerations, steps: usize) -> Tensor {
    sd.txt2img_with(
        &generation(),
        accel,
        scheduler(sd, steps).as_mut(),
        &mut |_, _| {},
    )
    .expect("txt2img")
    .0
}

fn tolerance(reference: &Tensor) -> f32 {
    let max = reference
        .abs()
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.max(0))
        .and_then(|t| t.to_scalar::<f32>())
        .expect("max");
    1e-4f32.max(5e-6 * max)
}

fn assert_matches(sd: &StableDiffusion, name: &str, accel: &Accelerations) {
    let want = reference_latents(name);
    let got = run(sd, accel, steps(name));
    let diff = max_abs_diff(&got, &want);
    assert!(
        diff <= tolerance(&want),
        "{name}: max abs diff {diff} from the reference"
    );
}

fn tome(ratio: f64, use_rand: bool, seed: u64) -> Accelerations {
    let mut options = TomeOptions::new(ratio).expect("ratio");
    options.use_rand = use_rand;
    options.seed = seed;
    Accelerations {
        tome: Some(options),
        ..Default::default()
    }
}

fn deepcache(interval: usize, branch: usize) -> Accelerations {
    Accelerations {
        deepcache: Some(DeepCacheOptions::new(interval, branch).expect("options")),
        ..Default::default()
    }
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("values")
        .into_iter()
        .map(f32::to_bits)
        .collect()
}

#[test]
fn baseline_with_accel_unet_matches_diffusers() {
    assert_matches(&model(), "baseline", &Accelerations::default());
}

#[test]
fn token_merging_matches_tomesd() {
    let sd = model();
    assert_matches(&sd, "tome_0.5", &tome(0.5, false, 0));
    assert_matches(&sd, "tome_0.75", &tome(0.75, false, 0));
    let seed = reference().1["runs"]["tome_0.5_rand"]["tome"]["generator_seed"]
        .as_u64()
        .expect("generator seed");
    assert_matches(&sd, "tome_0.5_rand", &tome(0.5, true, seed));
}

#[test]
fn deepcache_matches_reference_helper() {
    let sd = model();
    for (interval, branch) in [(3, 0), (2, 1), (3, 2), (2, 3)] {
        assert_matches(
            &sd,
            &format!("deepcache_{interval}_{branch}"),
            &deepcache(interval, branch),
        );
    }
}

#[test]
fn token_merging_with_deepcache_matches() {
    let mut accel = tome(0.5, false, 0);
    accel.deepcache = deepcache(3, 0).deepcache;
    assert_matches(&model(), "tome_0.5_deepcache_3_0", &accel);
}

/// DeepCache counts img2img steps from the first timestep run (position 3 of 8 here, odd,
/// so counting from the schedule's start would put a shallow step first and fail).
#[test]
fn img2img_with_token_merging_and_deepcache_matches() {
    let sd = model();
    let name = "img2img_tome_0.5_deepcache_2_0";
    let run = &reference().1["runs"][name];
    let init = InitImage {
        image: reference()
            .0
            .get("img2img.init_image")
            .expect("init image")
            .clone(),
        strength: run["strength"].as_f64().expect("strength"),
    };
    let mut accel = tome(0.5, false, 0);
    accel.deepcache = deepcache(2, 0).deepcache;
    let mut sched = scheduler(&sd, run["steps"].as_u64().expect("steps") as usize);
    let (got, _) = sd
        .img2img_with(&generation(), &init, &accel, sched.as_mut(), &mut |_, _| {})
        .expect("img2img");
    let want = reference_latents(name);
    let diff = max_abs_diff(&got, &want);
    assert!(diff <= tolerance(&want), "{name}: max abs diff {diff}");
}

fn sd_scheduler(sd: &StableDiffusion) -> impl Fn() -> Result<Box<dyn Scheduler>, ModelError> + '_ {
    move || Ok(scheduler(sd, 6))
}

#[test]
fn deviation_is_zero_for_no_op_settings() {
    let sd = model();
    for accel in [tome(0.0, false, 0), deepcache(1, 0), deepcache(1, 5)] {
        let (report, base, fast) =
            deviation(&sd, &generation(), &accel, &sd_scheduler(&sd)).expect("deviation");
        assert_eq!(report.max_abs_latents, 0.0, "{}", accel.name());
        assert!(report.psnr_db.is_infinite(), "{}", accel.name());
        assert_eq!(bits(&base), bits(&fast));
    }
}

#[test]
fn deviation_matches_the_references_own_deviation() {
    let sd = model();
    let base = reference_latents("baseline");
    for (name, accel) in [
        ("tome_0.5", tome(0.5, false, 0)),
        ("deepcache_3_0", deepcache(3, 0)),
    ] {
        let (report, _, _) =
            deviation(&sd, &generation(), &accel, &sd_scheduler(&sd)).expect("deviation");
        let want = f64::from(max_abs_diff(&reference_latents(name), &base));
        assert!(
            (report.max_abs_latents - want).abs() < 1e-3,
            "{name}: deviation {} but the reference deviates by {want}",
            report.max_abs_latents
        );
        // A real change that still resembles the baseline image.
        assert!(
            report.psnr_db.is_finite() && report.psnr_db > 30.0,
            "{name}: PSNR {} dB",
            report.psnr_db
        );
    }
}

/// The sequential reference for CFG-parallel is the ordinary batch-2 call, because with
/// candle's CPU kernels it equals two batch-1 calls bit for bit.
#[test]
fn batch_of_two_equals_two_batches_of_one_bitwise() {
    let sd = model();
    let sample = m(&Tensor::randn(0f32, 1.0, (2, 4, 16, 20), &Device::Cpu).expect("sample"));
    let context = m(&Tensor::randn(0f32, 1.0, (2, 77, 32), &Device::Cpu).expect("context"));
    let both = sd.unet.forward(&sample, 501.0, &context).expect("batch 2");
    for i in 0..2 {
        let one = sd
            .unet
            .forward(
                &sample.narrow(0, i, 1).expect("half"),
                501.0,
                &context.narrow(0, i, 1).expect("half"),
            )
            .expect("batch 1");
        assert_eq!(
            bits(&h(&both.narrow(0, i, 1).expect("half"))),
            bits(&h(&one)),
            "half {i}"
        );
    }
}

#[test]
fn cfg_parallel_is_bit_identical_to_sequential() {
    let sd = model();
    let parallel = Arc::new(CfgParallel::on_cpu(&sd.unet).expect("workers"));
    assert!(parallel.threads_per_worker() >= 1);
    for base in [
        Accelerations::default(),
        tome(0.5, true, 5),
        deepcache(3, 0),
    ] {
        let sequential = run(&sd, &base, 4);
        let split = Accelerations {
            cfg_parallel: Some(parallel.clone()),
            ..base.clone()
        };
        assert_eq!(
            bits(&sequential),
            bits(&run(&sd, &split, 4)),
            "{} with CFG-parallel",
            base.name()
        );
    }
}

/// With several images per prompt each worker takes the whole uncond (or cond) half,
/// and ToMe's random destinations must still be drawn as for the full UNet batch.
#[test]
fn cfg_parallel_with_two_images_per_prompt_is_bit_identical() {
    let sd = model();
    let parallel = Arc::new(CfgParallel::on_cpu(&sd.unet).expect("workers"));
    let g = Generation {
        batch: 2,
        ..generation()
    };
    let run_batch = |accel: &Accelerations| {
        sd.txt2img_with(&g, accel, scheduler(&sd, 3).as_mut(), &mut |_, _| {})
            .expect("txt2img")
            .0
    };
    for base in [Accelerations::default(), tome(0.5, true, 5)] {
        let sequential = run_batch(&base);
        assert_eq!(sequential.dims()[0], 2);
        let split = Accelerations {
            cfg_parallel: Some(parallel.clone()),
            ..base.clone()
        };
        assert_eq!(
            bits(&sequential),
            bits(&run_batch(&split)),
            "{} with CFG-parallel and two images per prompt",
            base.name()
        );
    }
}

#[test]
fn option_errors_name_the_problem() {
    assert!(
        TomeOptions::new(0.8)
            .unwrap_err()
            .to_string()
            .contains("0.8")
    );
    assert!(TomeOptions::new(-0.1).is_err());
    assert!(
        DeepCacheOptions::parse("0")
            .unwrap_err()
            .to_string()
            .contains("at least 1")
    );
    assert!(
        DeepCacheOptions::parse("3:x")
            .unwrap_err()
            .to_string()
            .contains("branch")
    );
    assert_eq!(
        DeepCacheOptions::parse("3:2").expect("parse"),
        DeepCacheOptions::new(3, 2).expect("new")
    );
    assert!(
        Accelerations::from_name("fast")
            .unwrap_err()
            .to_string()
            .contains("fast")
    );
    assert_eq!(
        Accelerations::from_name("baseline").expect("name").name(),
        "baseline"
    );
}
