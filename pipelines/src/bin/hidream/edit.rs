//! `hidream edit`: the flags turned into a `pipelines::hidream::edit_job::EditJob`, its
//! progress shown, its image written.

use crate::cli::{EditArgs, EditVariant as CliVariant};
use crate::failure::{Failure, bad, failed};
use crate::settings::{Plan, candle_device};
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::hidream::edit::{EditSettings, EditVariant, SettingOverrides, editing_prompt};
use pipelines::hidream::edit_job::{EditEvent, EditJob, EditJobError, run_edit_job};
use serde_json::json;
use std::time::Instant;

pub fn variant(v: CliVariant) -> EditVariant {
    match v {
        CliVariant::E1Full => EditVariant::E1Full,
        CliVariant::E1_1 => EditVariant::E1_1,
    }
}

/// The variant's defaults with the flags that override them.
pub fn settings(args: &EditArgs) -> EditSettings {
    variant(args.variant)
        .defaults()
        .overridden(SettingOverrides {
            steps: args.steps,
            guidance_scale: args.guidance,
            image_guidance_scale: args.image_guidance,
            refine_strength: args.refine_strength,
        })
}

/// The model's text prompt: "Editing Instruction: ... Target Image Description: ...".
pub fn prompt(args: &EditArgs) -> String {
    editing_prompt(
        &args.instruction,
        args.description.as_deref().unwrap_or(&args.instruction),
    )
}

impl From<EditJobError> for Failure {
    fn from(e: EditJobError) -> Self {
        if e.is_bad_input() {
            bad(e.to_string())
        } else {
            failed(e.to_string())
        }
    }
}

fn step_bar(steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

pub fn run(args: &EditArgs, plan: &Plan) -> Result<(), Failure> {
    let started = Instant::now();
    let device = candle_device(plan.device)?;
    let model = &args.models.model;
    let settings = settings(args);
    let text = prompt(args);
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
    let mut bar: Option<ProgressBar> = None;
    let refiner = job.loads_a_refiner();
    let result = run_edit_job(&job, &mut |event| match event {
        EditEvent::Sized { width, height } => {
            eprintln!("editing at {width}x{height}");
            crate::memory_report::print_edit(args, plan, width, height, refiner);
        }
        // Later stages (the refine transformer's load) come while the bar is drawn.
        EditEvent::Stage(stage) => match &bar {
            Some(bar) => bar.suspend(|| eprintln!("{stage}")),
            None => eprintln!("{stage}"),
        },
        EditEvent::Step(p) => {
            let bar = bar.get_or_insert_with(|| step_bar(p.total));
            if p.refining {
                bar.set_message("(refine)");
            }
            bar.inc(1);
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let edited = result?;
    for warning in &edited.warnings {
        eprintln!("warning: {warning}");
    }
    let warnings = &edited.warnings;
    let (w, h) = (edited.image.width as u32, edited.image.height as u32);
    let rgb = edited.image.pixels;
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
    pipelines::image::write_png(&args.output, w, h, &rgb, &parameters)
        .map_err(|e| failed(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    if args.models.json {
        println!(
            "{}",
            json!({
                "subcommand": "edit",
                "output": args.output,
                "size": [w, h],
                "prompt": text,
                "steps": settings.steps,
                "dtype": plan.dtype.as_str(),
                "warnings": warnings,
                "seconds": seconds,
            })
        );
    } else {
        eprintln!(
            "wrote {} ({w}x{h}) in {seconds:.1} s",
            args.output.display()
        );
    }
    Ok(())
}
