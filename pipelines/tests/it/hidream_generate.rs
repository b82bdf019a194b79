//! HiDream-I1 text-to-image (`pipelines::hidream::generate`) against diffusers 0.42.1's
//! HiDreamImagePipeline on tiny random-weight models with prompt embeddings passed in
//! (scripts/fixtures/hidream_generate_reference.py): final latents and decoded images for
//! flow Euler and flow UniPC, square and non-square sizes, with and without CFG, a seeded
//! re-noising (flash-style) run; and the
//! seeded starting latents.

use candle_core::{DType, Device, Tensor};
use pipelines::hidream::generate::{
    Conditioning, GenerateOptions, Variant, decode, denoise, initial_latents, to_rgb8,
};
use pipelines::hidream::prompt_embeds::PromptEmbeds;
use pipelines::hidream::size::SizeRule;
use pipelines::hidream::transformer::{HiDreamTransformer, Placement, TransformerLoadOptions};
use pipelines::hidream::vae::load_vae;
use pipelines::layers::Kernels;
use pipelines::models::autoencoders::AutoencoderKL;
use pipelines::schedulers::flow::FlowSchedulerConfig;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::common::{assert_close, assert_within_rounding};

pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hidream/generate")
}

pub(crate) fn reference() -> &'static (HashMap<String, Tensor>, Value) {
    static REF: OnceLock<(HashMap<String, Tensor>, Value)> = OnceLock::new();
    REF.get_or_init(|| crate::common::load_reference(&dir()))
}

pub(crate) fn tensor(name: &str) -> Tensor {
    reference()
        .0
        .get(name)
        .unwrap_or_else(|| panic!("fixture tensor {name}"))
        .clone()
}

pub(crate) fn embeds(case: &str, side: &str) -> PromptEmbeds {
    PromptEmbeds {
        t5: tensor(&format!("{case}.{side}.t5")),
        llama: tensor(&format!("{case}.{side}.llama")),
        pooled: tensor(&format!("{case}.{side}.pooled")),
    }
}

/// The fixture's VAE in `dtype`, through the loader `hidream generate` uses.
fn vae_in(dtype: DType) -> AutoencoderKL {
    load_vae(&dir().join("vae"), &Device::Cpu, dtype).expect("vae")
}

pub(crate) fn size_rule() -> SizeRule {
    SizeRule {
        // Two VAE levels in the fixture.
        vae_scale_factor: 2,
        default_sample_size: reference().1["default_sample_size"]
            .as_u64()
            .expect("default_sample_size") as usize,
    }
}

pub(crate) fn options(case: &Value, latents: Tensor) -> GenerateOptions {
    let n = |k: &str| case[k].as_u64().expect(k) as usize;
    GenerateOptions {
        steps: n("steps"),
        guidance: case["guidance"].as_f64().expect("guidance"),
        // The scheduler configs carry the shift the reference used.
        shift: None,
        // Seeds the re-noising schedulers' per-step draws (the latents are injected).
        seed: case["seed"].as_u64().unwrap_or(0),
        width: n("width"),
        height: n("height"),
        size_rule: size_rule(),
        latents: Some(latents),
    }
}

fn run_case(label: &str, transformer: &HiDreamTransformer) -> (Tensor, Tensor) {
    run_case_with(label, transformer, &vae_in(transformer.dtype()))
}

/// [`run_case`] with the VAE given (on the transformer's device).
pub(crate) fn run_case_with(
    label: &str,
    transformer: &HiDreamTransformer,
    vae: &AutoencoderKL,
) -> (Tensor, Tensor) {
    let case = &reference().1["cases"][label];
    let scheduler = FlowSchedulerConfig::from_file(
        &dir()
            .join(case["scheduler"].as_str().expect("scheduler"))
            .join("scheduler_config.json"),
    )
    .expect("scheduler config");
    let positive = embeds(label, "positive");
    let negative = embeds(label, "negative");
    let opts = options(case, tensor(&format!("{label}.latents")));
    let mut seen = Vec::new();
    let out = denoise(
        transformer,
        &scheduler,
        &Conditioning::new(&positive, Some(&negative)),
        &opts,
        &mut |p| seen.push((p.step, p.steps)),
    )
    .expect("denoise");
    let steps = opts.steps;
    assert_eq!(seen, (1..=steps).map(|s| (s, steps)).collect::<Vec<_>>());
    assert_eq!(
        (out.width as u64, out.height as u64),
        (
            case["output_width"].as_u64().expect("w"),
            case["output_height"].as_u64().expect("h")
        )
    );
    let image = decode(vae, &out.latents).expect("decode");
    (out.latents, image)
}

fn load_transformer(placement: Placement) -> HiDreamTransformer {
    load_transformer_in(DType::F32, placement)
}

fn load_transformer_in(dtype: DType, placement: Placement) -> HiDreamTransformer {
    let options = TransformerLoadOptions {
        dtype,
        kernels: Kernels::default(),
        placement,
    };
    HiDreamTransformer::load_with(&dir().join("transformer"), &Device::Cpu, &options)
        .expect("transformer")
}

fn check_case(label: &str) {
    let transformer = load_transformer(Placement::Resident);
    let (latents, image) = run_case(label, &transformer);
    // f32 through a few steps of a transformer with O(1)-O(10) activations and a
    // multistep solver: summation order differs from torch's.
    assert_close(
        &format!("{label} final latents"),
        &latents,
        &tensor(&format!("{label}.final_latents")),
        2e-4,
    );
    let want = tensor(&format!("{label}.image"));
    assert_close(&format!("{label} image"), &image, &want, 1e-4);
    // The PNG bytes: diffusers' numpy_to_pil rounding of the reference image.
    for i in 0..want.dim(0).expect("batch") {
        let (_, _, ours) = to_rgb8(&image, i).expect("rgb");
        let (_, _, theirs) = to_rgb8(&want, i).expect("rgb");
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        eprintln!("{label} image {i}: max u8 difference {worst}");
        assert!(worst <= 1, "{label} image {i}: u8 pixels differ by {worst}");
    }
}

#[test]
fn euler_square_with_cfg_matches_diffusers() {
    check_case("euler_square");
}

#[test]
fn unipc_non_square_matches_diffusers() {
    check_case("unipc_wide");
}

#[test]
fn guidance_one_runs_without_a_negative_batch_like_diffusers() {
    check_case("euler_nocfg_tall");
}

#[test]
fn seeded_per_step_noise_matches_diffusers_global_generator() {
    // The flash scheduler's re-noising step, drawn from a generator seeded like
    // torch.manual_seed(seed): FlowMatchEuler with stochastic_sampling in the reference.
    check_case("stochastic_seeded");
}

#[test]
fn seeded_latents_are_the_ones_diffusers_draws() {
    let seed = &reference().1["cases"]["seed"];
    let small_seed = seed["small_seed"].as_u64().expect("seed");
    let want = tensor("seed.small");
    let got = initial_latents(
        want.dims4().map(|(a, b, c, d)| [a, b, c, d]).expect("dims"),
        small_seed,
        &Device::Cpu,
    )
    .expect("latents");
    // torch's vectorised Box-Muller may differ from ours by an ULP.
    assert_close("seed small", &got, &want, 1e-6);

    let big = initial_latents([1, 16, 128, 128], 42, &Device::Cpu)
        .expect("latents")
        .flatten_all()
        .expect("flatten");
    let n = big.dim(0).expect("n");
    assert_close(
        "seed I1 head",
        &big.narrow(0, 0, 256).expect("head"),
        &tensor("seed.i1_head"),
        1e-6,
    );
    assert_close(
        "seed I1 tail",
        &big.narrow(0, n - 256, 256).expect("tail"),
        &tensor("seed.i1_tail"),
        1e-6,
    );
}

#[test]
fn bad_inputs_are_errors_naming_what_is_wrong() {
    let transformer = load_transformer(Placement::Resident);
    let label = "euler_square";
    let case = &reference().1["cases"][label];
    let scheduler =
        FlowSchedulerConfig::from_file(&dir().join("scheduler_euler/scheduler_config.json"))
            .expect("scheduler");
    let positive = embeds(label, "positive");
    let negative = embeds(label, "negative");
    let run = |cond: Conditioning<'_>, opts: &GenerateOptions| {
        denoise(&transformer, &scheduler, &cond, opts, &mut |_| {})
            .expect_err("should fail")
            .to_string()
    };
    // Latents of the wrong size name the flag.
    let wrong = Tensor::zeros((2, 16, 4, 4), DType::F32, &Device::Cpu).expect("zeros");
    let err = run(
        Conditioning::new(&positive, Some(&negative)),
        &options(case, wrong),
    );
    assert!(
        err.contains("--latents") && err.contains("[2, 16, 12, 12]"),
        "{err}"
    );
    // CFG without negative embeddings.
    let opts = options(case, tensor(&format!("{label}.latents")));
    let err = run(Conditioning::new(&positive, None), &opts);
    assert!(err.contains("negative"), "{err}");
    // A degenerate size request.
    let mut opts = options(case, tensor(&format!("{label}.latents")));
    opts.width = 0;
    let err = run(Conditioning::new(&positive, Some(&negative)), &opts);
    assert!(err.contains("--width 0"), "{err}");
    // Variant defaults build with the fixture's scheduler.
    let mut opts = GenerateOptions::for_variant(Variant::Fast);
    opts.size_rule = size_rule();
    opts.steps = 0;
    let err = run(Conditioning::new(&positive, None), &opts);
    assert!(err.contains("steps"), "{err}");
}

/// A step that leaves NaN latents stops the run there, naming the step, instead of
/// handing them to the VAE.
#[test]
fn nan_latents_stop_the_loop_at_the_step_that_made_them() {
    let transformer = load_transformer(Placement::Resident);
    let label = "euler_square";
    let case = &reference().1["cases"][label];
    let scheduler =
        FlowSchedulerConfig::from_file(&dir().join("scheduler_euler/scheduler_config.json"))
            .expect("scheduler");
    let positive = embeds(label, "positive");
    let negative = embeds(label, "negative");
    let latents = (tensor(&format!("{label}.latents")) * f64::NAN).expect("nan");
    let opts = options(case, latents);
    let mut seen = 0;
    let err = denoise(
        &transformer,
        &scheduler,
        &Conditioning::new(&positive, Some(&negative)),
        &opts,
        &mut |_| seen += 1,
    )
    .expect_err("NaN latents must not come back as a result");
    assert!(
        matches!(err, pipelines::hidream::HiDreamError::NonFinite { step: 1, total } if total == opts.steps),
        "{err}"
    );
    assert!(err.to_string().contains("likely causes"), "{err}");
    assert_eq!(seen, 0, "no step was reported done");
}

#[test]
fn offloaded_blocks_give_the_resident_result_on_cpu() {
    // On the CPU offload streams host copies through the same blocks: the result must be
    // bit-identical, and the blocks' weights must really be held apart from the model, in
    // the model's dtype.
    for dtype in [DType::F32, DType::BF16] {
        let resident = load_transformer_in(dtype, Placement::Resident);
        let offloaded = load_transformer_in(dtype, Placement::OffloadBlocks);
        assert_eq!(resident.host_bytes(), 0);
        let block_bytes = |model: &HiDreamTransformer| model.host_bytes() / dtype.size_in_bytes();
        let f32_blocks = load_transformer_in(DType::F32, Placement::OffloadBlocks);
        assert_eq!(block_bytes(&offloaded), f32_blocks.host_bytes() / 4);
        assert!(offloaded.host_bytes() > 0);
        for label in ["euler_square", "unipc_wide"] {
            let (a, _) = run_case(label, &resident);
            let (b, _) = run_case(label, &offloaded);
            assert_close(
                &format!("{label} {dtype:?} offload vs resident"),
                &b,
                &a,
                0.0,
            );
        }
    }
}

/// The whole loop with a bf16 or f16 transformer and VAE against the f32 reference, in
/// units of the dtype's rounding times the reference's largest magnitude (see
/// hidream_transformer.rs for the single forward). Latents stay f32 between steps.
/// Measured (--no-capture): largest differences 4.5-18.6 units, means 0.6-1.2 units; the
/// bounds leave 1.7x and 2.4x.
#[test]
fn reduced_precision_generation_stays_within_its_rounding_bounds() {
    for dtype in [DType::BF16, DType::F16] {
        let transformer = load_transformer_in(dtype, Placement::Resident);
        for label in ["euler_square", "unipc_wide"] {
            let (latents, image) = run_case(label, &transformer);
            assert_eq!(latents.dtype(), DType::F32);
            assert_eq!(image.dtype(), DType::F32);
            for (what, ours) in [("final_latents", &latents), ("image", &image)] {
                assert_within_rounding(
                    &format!("{label} {dtype:?} {what}"),
                    ours,
                    &tensor(&format!("{label}.{what}")),
                    dtype,
                    32.0,
                    3.0,
                );
            }
        }
    }
}
