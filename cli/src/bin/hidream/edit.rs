//! `hidream edit`: the flags turned into a `pipelines::hidream::edit_job::EditJob`, its
//! progress shown, its image written.

use crate::args::EditArgs;
use crate::memory_report;
use crate::output::{self, Image};
use crate::settings::{Plan, edit_prompt, edit_settings};
use cli::exit::Failure;
use cli::progress::Progress;
use cli::values::model_device;
use pipelines::generation_info::{GenerationInfo, a1111_sampler};
use pipelines::hidream::edit_job::{EditEvent, EditJob, run_edit_job};
use serde_json::json;
use std::time::Instant;

pub fn run(args: &EditArgs, plan: &Plan) -> Result<(), Failure> {
    let started = Instant::now();
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&[&args.output]);
    let device = model_device(plan.device, plan.dtype)?;
    pipelines::model_tensor::require_ops(&device, plan.dtype, pipelines::model_tensor::HIDREAM_OPS)
        .map_err(|e| cli::exit::bad(e.to_string()))?;
    let model = &args.models.model;
    let settings = edit_settings(args);
    let text = edit_prompt(args);
    let job = EditJob {
        model: model.clone(),
        llama: args.models.llama.clone(),
        image: args.image.clone(),
        prompt: text.clone(),
        settings: settings.clone(),
        lora: args.lora.clone(),
        refine_model: args.refine_model.clone(),
        seed: args.seed,
        dtype: plan.dtype,
        device,
    };
    // The bar appears with the first step, so the loading stages print plainly before it.
    let mut progress = Progress::new();
    let refiner = job.loads_a_refiner();
    let result = run_edit_job(&job, &mut |event| {
        progress.edit(event);
        if let EditEvent::Sized { width, height } = event {
            memory_report::print_edit(args, plan, width, height, refiner);
        }
    });
    drop(progress);
    let edited = result?;
    for warning in &edited.warnings {
        eprintln!("warning: {warning}");
    }
    let (w, h) = (edited.image.width as u32, edited.image.height as u32);
    let info = GenerationInfo {
        prompt: text.clone(),
        negative_prompt: settings.negative_prompt.clone(),
        steps: settings.steps,
        sampler: a1111_sampler(&edited.scheduler_class),
        cfg_scale: settings.guidance_scale,
        seed: Some(args.seed),
        width: w,
        height: h,
        model: model.display().to_string(),
        extra: Vec::new(),
    }
    // A1111's label for instruct-pix2pix's image guidance.
    .with("Image CFG scale", settings.image_guidance_scale)
    .with("Refine strength", settings.refine_strength)
    .with("Source image", args.image.display().to_string())
    .with("Variant", args.variant.name())
    .with("Dtype", plan.dtype.as_str());
    let image = Image {
        width: w,
        height: h,
        rgb: &edited.image.pixels,
        info,
    };
    let summary = args.models.json.then(|| {
        json!({
            "subcommand": "edit",
            "models": cli::model_arg::to_json(&args.models.sources),
            "output": args.output,
            "size": [w, h],
            "prompt": text,
            "steps": settings.steps,
            "dtype": plan.dtype.as_str(),
            "warnings": edited.warnings,
        })
    });
    output::write(&args.output, &image, Vec::new(), started, summary)
}
