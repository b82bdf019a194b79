//! `hidream edit`: the flags turned into a `pipelines::hidream::edit_job::EditJob`, its
//! progress shown, its image written.

use crate::args::EditArgs;
use crate::memory_report;
use crate::output::{self, Image};
use crate::settings::{Plan, edit_prompt, edit_settings};
use cli::exit::Failure;
use cli::progress::Progress;
use cli::values::candle_device;
use pipelines::hidream::edit_job::{EditEvent, EditJob, run_edit_job};
use serde_json::json;
use std::time::Instant;

pub fn run(args: &EditArgs, plan: &Plan) -> Result<(), Failure> {
    let started = Instant::now();
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&[&args.output]);
    let device = candle_device(plan.device)?;
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
    let parameters = format!(
        "prompt: {text}\nvariant: {}\nsteps: {}\nguidance: {}\nimage guidance: {}\nrefine strength: {}\nseed: {}\nsource: {}\nmodel: {}\ndtype: {}",
        args.variant.name(),
        settings.steps,
        settings.guidance_scale,
        settings.image_guidance_scale,
        settings.refine_strength,
        args.seed,
        args.image.display(),
        model.display(),
        plan.dtype.as_str(),
    );
    let image = Image {
        width: w,
        height: h,
        rgb: &edited.image.pixels,
        parameters,
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
