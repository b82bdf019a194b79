//! Stable Diffusion 2.x on the strict Ascend test double, against the same run on the CPU
//! at the same dtype: every model (CLIP, UNet, VAE) on the NPU, schedulers and guidance on
//! the host. Bounds are in rounding units of the dtype as in sd_variants.rs (measured: 3-8
//! units for a whole run); a wrongly computed layer is off by hundreds. The double's maths
//! come from the op docs, so this checks our use of aclnn, not the vendor kernels.

use crate::common::{assert_within_rounding, fixtures, json, tensor};
use crate::npu_support::{FakeAscend, Npu, open};
use candle_core::{DType, Device, Tensor};
use pipelines::model_tensor::ModelDevice;
use pipelines::schedulers;
use pipelines::sd::pipeline::{Generation, InitImage, LoadOptions, StableDiffusion};

fn load(device: impl Into<ModelDevice>, dtype: DType) -> StableDiffusion {
    let options = LoadOptions {
        dtype,
        ..LoadOptions::default()
    };
    StableDiffusion::load_with(&fixtures().join("tiny-sd2"), device, options).expect("loads")
}

fn generation() -> Generation {
    let run = &json()["txt2img"]["ddim"];
    Generation {
        prompt: run["prompt"].as_str().expect("prompt").to_string(),
        negative_prompt: None,
        guidance: 7.5,
        seed: 0,
        width: 32,
        height: 32,
        batch: 1,
        latents: None,
    }
}

/// txt2img's final latents with `sampler`, and the device's synchronisations at each step.
fn txt2img(sd: &StableDiffusion, sampler: &str, steps: usize, npu: &Npu) -> (Tensor, Vec<u64>) {
    let mut sched = schedulers::build(sampler, &sd.scheduler_config, steps).expect("sampler");
    let mut marks = vec![npu.syncs()];
    let (latents, _) = sd
        .txt2img(&generation(), sched.as_mut(), &mut |_, _| {
            marks.push(npu.syncs())
        })
        .expect("txt2img");
    (latents, marks)
}

#[test]
fn txt2img_on_the_npu_matches_the_cpu_at_f16_and_bf16_with_one_sync_per_step() {
    let npu = open(FakeAscend::new());
    for dtype in [DType::F16, DType::BF16] {
        let cpu = load(&Device::Cpu, dtype);
        let ours = load(npu.device(), dtype);
        let (want, _) = txt2img(&cpu, "ddim", 4, &npu);
        npu.settle();
        let before = npu.syncs();
        for prompt in [generation().prompt.as_str(), ""] {
            ours.encode_prompt(prompt).expect("encode");
        }
        let encoding = npu.syncs() - before;
        npu.settle();
        let (got, marks) = txt2img(&ours, "ddim", 4, &npu);
        assert_within_rounding(&format!("{dtype:?} txt2img"), &got, &want, dtype, 16.0, 4.0);
        // The one synchronisation per step is the prediction's download: the prompt's
        // embeddings stay on the device and the step's upload waits for nothing. The first
        // step's count also holds the prompts' encoding, and its upload waits once for the
        // launches that encoded them (uploads are synchronous copies).
        let mut per_step: Vec<u64> = marks.windows(2).map(|w| w[1] - w[0]).collect();
        per_step[0] -= encoding;
        assert_eq!(
            per_step,
            [2, 1, 1, 1],
            "{dtype:?}: synchronisations per step"
        );
        eprintln!("{dtype:?}: {encoding} synchronisations to encode both prompts");
        let image = |sd: &StableDiffusion| sd.decode(&want).expect("decode");
        assert_within_rounding(
            &format!("{dtype:?} VAE decode"),
            &image(&ours),
            &image(&cpu),
            dtype,
            24.0,
            4.0,
        );
    }
    assert_eq!(
        npu.counter("fake_live_descriptors"),
        0,
        "leaked aclnn descriptors"
    );
}

#[test]
fn img2img_and_other_samplers_on_the_npu_match_the_cpu() {
    let npu = open(FakeAscend::new());
    let dtype = DType::F16;
    let (cpu, ours) = (load(&Device::Cpu, dtype), load(npu.device(), dtype));
    for sampler in ["euler-a", "dpm++2m", "lms", "heun"] {
        let (want, _) = txt2img(&cpu, sampler, 3, &npu);
        let (got, _) = txt2img(&ours, sampler, 3, &npu);
        assert_within_rounding(&format!("{sampler} txt2img"), &got, &want, dtype, 16.0, 4.0);
    }
    let init = InitImage {
        image: tensor("img2img.init_image"),
        strength: 0.75,
    };
    let img2img = |sd: &StableDiffusion| {
        let mut sched = schedulers::build("ddim", &sd.scheduler_config, 4).expect("ddim");
        sd.img2img(&generation(), &init, sched.as_mut(), &mut |_, _| {})
            .expect("img2img")
            .0
    };
    assert_within_rounding("img2img", &img2img(&ours), &img2img(&cpu), dtype, 16.0, 4.0);
}

#[test]
fn an_npu_run_leaves_no_device_memory_or_descriptors_behind() {
    let Npu { root, context } = open(FakeAscend::new());
    let npu = Npu {
        root: root.clone(),
        context,
    };
    let sd = load(npu.device(), DType::F16);
    let (latents, _) = txt2img(&sd, "ddim", 2, &npu);
    sd.decode(&latents).expect("decode");
    let probe = |symbol: &str| crate::npu_support::counter(&root, symbol);
    assert!(
        probe("fake_live_bytes") > 0,
        "the weights are on the device"
    );
    drop(sd);
    drop(npu);
    // The last tensor gone, the stream is dropped and its cache given back.
    assert_eq!(probe("fake_live_bytes"), 0, "device memory left allocated");
    assert_eq!(
        probe("fake_live_descriptors"),
        0,
        "leaked aclnn descriptors"
    );
}

#[test]
fn the_npu_refuses_a_mixed_device_operation_by_name() {
    let npu = open(FakeAscend::new());
    let on_npu =
        pipelines::model_tensor::Tensor::zeros((2, 2), DType::F16, npu.device()).expect("zeros");
    let on_cpu =
        pipelines::model_tensor::Tensor::zeros((2, 2), DType::F16, &Device::Cpu).expect("zeros");
    let err = on_npu
        .add(&on_cpu)
        .expect_err("mixing devices must fail")
        .to_string();
    assert!(err.contains("npu:0") && err.contains("cpu"), "{err}");
}
