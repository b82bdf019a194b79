//! `hidream generate`: prompt encoding, then `pipelines::hidream::generate` (denoise with
//! the transformer, decode with the VAE), one stage's models in memory at a time.

use crate::args::GenerateArgs;
use crate::output::{self, Image};
use crate::settings::Plan;
use cli::exit::{Failure, bad};
use cli::progress::Progress;
use cli::values::model_device;
use pipelines::generation_info::{GenerationInfo, a1111_sampler};
use pipelines::hidream::generate::{
    Conditioning, GenerateOptions, decode, denoise, load_latents, stage_latents, to_rgb8,
};
use pipelines::hidream::prompt_encoding::{EncodeOptions, EncoderFolders, Prompts, encode_prompts};
use pipelines::hidream::transformer::{HiDreamTransformer, Placement, TransformerLoadOptions};
use pipelines::hidream::weight_check::{check_weight_files, run_components};
use pipelines::layers::Kernels;
use pipelines::schedulers::flow::FlowSchedulerConfig;
use serde_json::json;
use std::time::Instant;

/// What a run reads before any model: the scheduler config, the starting latents, and the
/// header of every weight file it will load.
pub struct Prepared {
    device: pipelines::model_tensor::ModelDevice,
    scheduler: FlowSchedulerConfig,
    latents: Option<candle_core::Tensor>,
}

/// Cheap checks first: a bad scheduler config, latents file or truncated weight file
/// should not cost an encoder load, nor a whole denoise before the VAE is found broken.
pub fn prepare(args: &GenerateArgs, plan: &Plan) -> Result<Prepared, Failure> {
    let device = model_device(plan.device, plan.dtype)?;
    pipelines::model_tensor::require_ops(&device, plan.dtype, pipelines::model_tensor::HIDREAM_OPS)
        .map_err(|e| cli::exit::bad(e.to_string()))?;
    let model = &args.models.model;
    let scheduler_path = model.join("scheduler/scheduler_config.json");
    let scheduler = FlowSchedulerConfig::from_file(&scheduler_path)
        .map_err(|e| bad(format!("{}: {e}", scheduler_path.display())))?;
    let latents = match &args.latents {
        Some(path) => Some(load_latents(path, &device.host())?),
        None => None,
    };
    check_weight_files(&run_components(model, &args.models.llama), &[])?;
    Ok(Prepared {
        device,
        scheduler,
        latents,
    })
}

pub fn run(args: &GenerateArgs, plan: &Plan, prepared: Prepared) -> Result<(), Failure> {
    let started = Instant::now();
    let Prepared {
        device,
        scheduler,
        latents,
    } = prepared;
    let model = &args.models.model;
    let scheduler_class = scheduler.class_name.clone();
    let mut outputs = vec![args.output.as_path()];
    outputs.extend(args.save_latents.as_deref());
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&outputs);

    let prompts = Prompts {
        negative_prompt: args.negative_prompt.clone(),
        ..Prompts::new(args.prompt.clone())
    };
    let encode_options = EncodeOptions {
        with_negative: plan.guidance > 1.0,
        dtype: plan.dtype,
        device: device.clone(),
        ..EncodeOptions::default()
    };
    let folders = EncoderFolders {
        model: model.clone(),
        llama: args.models.llama.clone(),
    };
    let mut progress = Progress::new();
    progress.stage("encoding the prompt (CLIP-L, CLIP-G, T5, Llama, one at a time)");
    let encoded = encode_prompts(&folders, &prompts, &encode_options, |stage| {
        progress.stage(format_args!("  {stage}"))
    })?;
    for warning in &encoded.warnings {
        eprintln!("warning: {warning}");
    }
    // Kept in --dtype, the transformer's own dtype, so its per-step input cast is free.
    let (positive, negative) = (encoded.positive, encoded.negative);

    let load_options = TransformerLoadOptions {
        dtype: plan.dtype,
        kernels: Kernels::default(),
        placement: if args.offload {
            Placement::OffloadBlocks
        } else {
            Placement::Resident
        },
    };
    progress.stage("loading the transformer");
    let transformer =
        HiDreamTransformer::load_with(&model.join("transformer"), &device, &load_options)?;
    let options = GenerateOptions {
        steps: plan.steps,
        guidance: plan.guidance,
        shift: Some(plan.shift),
        seed: args.seed,
        width: args.width,
        height: args.height,
        size_rule: plan.size_rule,
        latents,
    };
    progress.start_steps(plan.steps);
    let denoised = denoise(
        &transformer,
        &scheduler,
        &Conditioning::new(&positive, negative.as_ref()),
        &options,
        &mut |step| progress.generate_step(step),
    );
    drop(progress);
    let denoised = denoised?;
    drop(transformer);
    // Staged now, committed with the PNG: a decode that fails leaves no latents behind.
    let staged = match &args.save_latents {
        Some(path) => vec![stage_latents(path, &denoised.latents)?],
        None => Vec::new(),
    };

    let vae = pipelines::hidream::vae::load_vae(&model.join("vae"), &device, plan.dtype)?;
    let image = decode(&vae, &denoised.latents)?;
    let (w, h, rgb) = to_rgb8(&image, 0)?;
    let info = GenerationInfo {
        prompt: args.prompt.clone(),
        negative_prompt: args.negative_prompt.clone().unwrap_or_default(),
        steps: plan.steps,
        sampler: a1111_sampler(&scheduler_class),
        cfg_scale: plan.guidance,
        seed: args.latents.is_none().then_some(args.seed),
        width: w,
        height: h,
        model: model.display().to_string(),
        extra: Vec::new(),
    }
    .with("Scheduler", scheduler_class.as_str())
    .with("Shift", plan.shift)
    .with("Variant", args.variant.name())
    .with("Dtype", plan.dtype.as_str())
    .with(
        "Latents",
        args.latents.as_ref().map(|p| p.display().to_string()),
    );
    let image = Image {
        width: w,
        height: h,
        rgb: &rgb,
        info,
    };
    let summary = args.models.json.then(|| {
        json!({
            "subcommand": "generate",
            "models": cli::model_arg::to_json(&args.models.sources),
            "output": args.output,
            "size": [w, h],
            "steps": plan.steps,
            "dtype": plan.dtype.as_str(),
            "guidance": plan.guidance,
            "shift": plan.shift,
            "seed": args.seed,
            "warnings": encoded.warnings,
        })
    });
    output::write(&args.output, &image, staged, started, summary)
}
