//! `hidream-edit`: the bundled HiDream-E1 edit example. Say what to change in a few words
//! (`--style watercolor`, `--remove "the car"`), and it writes the instruction HiDream-E1
//! was trained on, picks the guidance the E1 authors recommend for that kind of edit, runs
//! the edit and scales the result back to the source's size, as the E1 scripts do.
//! `--demo` runs the same path on a tiny random-weight model, with no download.

use candle_core::DType;
use clap::Parser;
use cli::device_choice::{DeviceFlag, choose_here};
use cli::exit::{Failure, bad, failed, finish};
use cli::model_arg::resolve_in_place;
use cli::output_paths::check_outputs;
use cli::progress::Progress;
use cli::values;
use examples::edit_demo;
use examples::edit_recipes::{self, EditRecipe};
use pipelines::generation_info::{GenerationInfo, a1111_sampler};
use pipelines::hidream::edit::{EditSettings, EditVariant, SettingOverrides, editing_prompt};
use pipelines::hidream::edit_job::{EditJob, EditedImage, run_edit_job};
use pipelines::hidream::resample::Filter;
use pipelines::model_source::ResolvedModel;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const AFTER_HELP: &str = "\
What to change (pick one):
  --style \"watercolor\"            restyle the whole picture
  --add \"a red kite in the sky\"   put something in
  --remove \"the wooden sign\"      take something out
  --color \"the car\" --to red      recolour one thing
  --background \"a sunset beach\"   replace what is behind the subject
  --instruction \"...\"             anything else, in your own words
--description tells the model what the finished picture shows (\"Target Image
Description\"); it also steers the refine stage. Without it the instruction is used.

Defaults follow the HiDream-E1 scripts: seed 3, 28 steps, refine strength 0.3. With
--variant e1-full (HiDream-I1-Full as --model plus --lora HiDream-E1-Full.safetensors),
guidance 5 and image guidance 4 for style edits, 2 for local edits (the E1 demo's advice:
higher image preservation for style, lower for adding, removing, replacing). With
--variant e1.1 (the default; --model is a HiDream-E1.1 folder), the E1.1 script's 3 and 1.5.
The source is resized as the variant expects (E1-Full 768x768, E1.1 about 1 megapixel) and
the result scaled back to the source's size (--keep-edit-size writes it as edited).

HiDream needs Llama-3.1-8B-Instruct, downloaded separately (meta-llama/Llama-3.1-8B-Instruct
on Hugging Face, a gated model) and passed with --llama. --model, --llama and
--refine-model also take a Hugging Face id already in the local cache (`hf download
ORG/NAME` puts it there; nothing is downloaded here). HiDream's transformer has ~17 B
parameters: 34 GB in bf16 (--dtype, the default), 68 GB in f32. The demo needs none of it.

Exit status: 0 written; 2 bad input (a flag, missing folder or file, image that is not a
PNG, JPEG or WebP or too small or large, weights that are not valid safetensors, LoRA keys that
match no weight); 1 a failure while editing (a step whose latents became NaN or infinite
included); 130 or 143 interrupted by SIGINT or SIGTERM. Nothing is written on failure or
interrupt, and --demo's scratch folder is removed.

Examples:
  hidream-edit --demo
  hidream-edit --model ./HiDream-E1-1 --llama ./Llama-3.1-8B-Instruct \\
      --image photo.png --style \"Ghibli\" --output ghibli.png
  hidream-edit --variant e1-full --model ./HiDream-I1-Full --lora HiDream-E1-Full.safetensors \\
      --llama ./Llama-3.1-8B-Instruct --image photo.png --remove \"the wooden sign\"";

#[derive(Parser, Debug)]
#[command(
    name = "hidream-edit",
    version,
    about = "Edit a picture with HiDream-E1 by saying what to change",
    after_help = AFTER_HELP
)]
struct Args {
    /// Run the whole edit path on a tiny random-weight model built on the fly: no download,
    /// a few seconds; the picture it writes is noise. It builds its own model, LoRA and
    /// picture, so the flags that name them are refused with it.
    #[arg(
        long,
        conflicts_with_all = ["model", "revision", "llama", "image", "lora", "refine_model", "variant"]
    )]
    demo: bool,
    /// The editing model: a HiDream-E1.1 folder, or HiDream-I1-Full with --lora; or its
    /// Hugging Face id (HiDream-ai/HiDream-E1-1) already in the local hub cache.
    #[arg(short = 'm')]
    #[arg(long, value_name = "DIR|ORG/NAME", required_unless_present = "demo")]
    model: Option<PathBuf>,
    /// With an id as --model: the branch, tag or commit hash in the cache (default main).
    /// --llama and --refine-model ids always use main.
    #[arg(long, value_name = "REV")]
    revision: Option<String>,
    /// The Llama-3.1-8B-Instruct folder or id (not shipped with HiDream).
    #[arg(long, value_name = "DIR|ORG/NAME", required_unless_present = "demo")]
    llama: Option<PathBuf>,
    /// The picture to edit (PNG, JPEG or WebP; converted to RGB as diffusers' load_image does).
    #[arg(long, value_name = "IMAGE", required_unless_present = "demo")]
    image: Option<PathBuf>,
    #[command(flatten)]
    what: WhatToEdit,
    /// The new colour (with --color). Outside the one-of group: clap lets a missing arg
    /// that conflicts with a present one go unrequired, so inside it `--color` alone was
    /// accepted and `--color` with `--to` refused.
    #[arg(
        long,
        value_name = "COLOR",
        requires = "color",
        conflicts_with_all = ["style", "add", "remove", "background", "instruction"]
    )]
    to: Option<String>,
    /// What the finished picture shows.
    #[arg(long)]
    description: Option<String>,
    #[arg(long, default_value = "e1.1", value_parser = values::edit_variant())]
    variant: EditVariant,
    /// HiDream-E1-Full's LoRA checkpoint (with --variant e1-full).
    #[arg(long, value_name = "FILE")]
    lora: Option<PathBuf>,
    /// A HiDream-I1-Full folder (or id in the hub cache) for the refine stage.
    #[arg(long, value_name = "DIR|ORG/NAME")]
    refine_model: Option<PathBuf>,
    #[arg(long)]
    steps: Option<usize>,
    #[arg(short = 's', long, default_value_t = edit_recipes::SEED)]
    seed: u64,
    /// How closely to follow the instruction.
    #[arg(short = 'g', long, visible_aliases = ["cfg-scale", "guidance-scale"])]
    guidance: Option<f64>,
    /// How much of the source picture to preserve.
    #[arg(long)]
    image_guidance: Option<f64>,
    /// Share of the steps, at the end, run on the refine weights (0 turns it off).
    #[arg(long)]
    refine_strength: Option<f64>,
    /// Write the result at the size it was edited at instead of the source's size.
    #[arg(long)]
    keep_edit_size: bool,
    #[arg(short = 'o', long, default_value = "hidream-edit.png")]
    output: PathBuf,
    /// auto (NPU, then CUDA, then CPU, or what PREFERRED_DEVICE names), cpu, cuda[:N] or
    /// npu[:N].
    #[arg(long, default_value = "auto", value_name = "DEVICE")]
    device: DeviceFlag,
    /// Weights and compute dtype of every model. HiDream is published in bf16; f32 doubles
    /// the memory. [default: bf16, or PREFERRED_DTYPE]
    #[arg(long, value_parser = values::device_dtype())]
    dtype: Option<device::DType>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
#[group(multiple = false)]
struct WhatToEdit {
    #[arg(long, value_name = "STYLE")]
    style: Option<String>,
    #[arg(long, value_name = "THING")]
    add: Option<String>,
    #[arg(long, value_name = "THING")]
    remove: Option<String>,
    /// The thing to recolour (with --to).
    #[arg(long, value_name = "THING", requires = "to")]
    color: Option<String>,
    #[arg(long, value_name = "SCENE")]
    background: Option<String>,
    #[arg(long, value_name = "TEXT")]
    instruction: Option<String>,
}

impl WhatToEdit {
    fn recipe(&self, to: Option<&str>) -> Option<EditRecipe> {
        let owned = |s: &Option<String>| s.clone();
        if let Some(style) = owned(&self.style) {
            return Some(EditRecipe::Style(style));
        }
        if let Some(thing) = owned(&self.add) {
            return Some(EditRecipe::Add(thing));
        }
        if let Some(thing) = owned(&self.remove) {
            return Some(EditRecipe::Remove(thing));
        }
        if let (Some(target), Some(color)) = (owned(&self.color), to) {
            return Some(EditRecipe::Color {
                target,
                color: color.to_string(),
            });
        }
        if let Some(scene) = owned(&self.background) {
            return Some(EditRecipe::Background(scene));
        }
        owned(&self.instruction).map(EditRecipe::Instruction)
    }
}

/// The variant's settings with the recipe's guidance (E1-Full) and the user's overrides.
fn settings(args: &Args, recipe: &EditRecipe) -> EditSettings {
    let mut s = args.variant.defaults();
    apply_choices(&mut s, args, recipe, args.variant == EditVariant::E1Full);
    s
}

/// The recipe's guidance for E1-Full (the E1 demo's numbers), then any explicit flag.
fn apply_choices(s: &mut EditSettings, args: &Args, recipe: &EditRecipe, e1_full: bool) {
    if e1_full {
        s.guidance_scale = edit_recipes::GUIDANCE;
        s.image_guidance_scale = recipe.image_guidance();
    }
    *s = s.clone().overridden(SettingOverrides {
        steps: args.steps,
        guidance_scale: args.guidance,
        image_guidance_scale: args.image_guidance,
        refine_strength: args.refine_strength,
    });
}

/// The job on the user's files; `sources` gets what each model flag resolved to.
fn user_job(
    args: &Args,
    recipe: &EditRecipe,
    (dtype, device): (DType, pipelines::model_tensor::ModelDevice),
    sources: &mut Vec<(String, ResolvedModel)>,
) -> Result<EditJob, Failure> {
    let (Some(model), Some(llama), Some(image)) = (&args.model, &args.llama, &args.image) else {
        return Err(bad("--model, --llama and --image are needed (or --demo)"));
    };
    if args.variant == EditVariant::E1Full && args.lora.is_none() {
        return Err(bad(
            "--variant e1-full needs --lora HiDream-E1-Full.safetensors (its edits are a LoRA on \
             HiDream-I1-Full, which --model points to)",
        ));
    }
    let (mut model, mut llama) = (model.clone(), llama.clone());
    let mut refine_model = args.refine_model.clone();
    resolve_in_place("--model", &mut model, args.revision.as_deref(), sources)?;
    resolve_in_place("--llama", &mut llama, None, sources)?;
    if let Some(refine) = refine_model.as_mut() {
        resolve_in_place("--refine-model", refine, None, sources)?;
    }
    let instruction = recipe.instruction();
    let description = args.description.as_deref().unwrap_or(&instruction);
    Ok(EditJob {
        model,
        llama,
        image: image.clone(),
        prompt: editing_prompt(&instruction, description),
        settings: settings(args, recipe),
        lora: args.lora.clone(),
        refine_model,
        seed: args.seed,
        dtype,
        device,
    })
}

/// The device and dtype `--device` / `--dtype` and the environment choose; bf16 by default
/// (HiDream is published in it).
fn device_and_dtype(args: &Args) -> Result<(DType, pipelines::model_tensor::ModelDevice), Failure> {
    let choice = choose_here(&args.device, args.dtype, Some(device::DType::BF16))?;
    let dtype = values::candle_dtype(choice.dtype);
    Ok((dtype, values::model_device(choice.device, dtype)?))
}

fn run_with_progress(job: &EditJob, quiet: bool) -> Result<EditedImage, Failure> {
    let mut progress = if quiet {
        Progress::steps_only()
    } else {
        Progress::new()
    };
    let result = run_edit_job(job, &mut |event| progress.edit(event));
    drop(progress);
    Ok(result?)
}

/// The numbers on the command line, named by this program's flags, before anything is
/// sized or computed from them.
fn check_numbers(args: &Args) -> Result<(), Failure> {
    if let Some(steps) = args.steps {
        values::check_flow_steps(steps)?;
    }
    for (flag, value) in [
        ("--guidance", args.guidance),
        ("--image-guidance", args.image_guidance),
    ] {
        if let Some(v) = value {
            values::check_scale(flag, v)?;
        }
    }
    if let Some(v) = args.refine_strength
        && !(0.0..=1.0).contains(&v)
    {
        return Err(bad(format!(
            "--refine-strength {v} must be between 0 and 1"
        )));
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), Failure> {
    let started = Instant::now();
    check_numbers(args)?;
    check_outputs(&[("--output", &args.output)])?;
    let recipe = match (args.what.recipe(args.to.as_deref()), args.demo) {
        (Some(recipe), _) => recipe,
        (None, true) => EditRecipe::Style("watercolor".into()),
        (None, false) => {
            return Err(bad(
                "say what to change: --style, --add, --remove, --color with --to, --background \
                 or --instruction (see --help)",
            ));
        }
    };
    recipe.check().map_err(|e| bad(e.to_string()))?;
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&[&args.output]);
    // The demo's scratch folder lives until the edit is written; an interrupt removes it
    // too (its Drop never runs then).
    let (scratch, _scratch_on_interrupt);
    let (dtype, device) = device_and_dtype(args)?;
    let mut sources = Vec::new();
    let job = if args.demo {
        scratch = tempfile::tempdir().map_err(|e| bad(format!("scratch folder: {e}")))?;
        _scratch_on_interrupt = cli::interrupt::remove_on_interrupt(scratch.path());
        let instruction = recipe.instruction();
        // The tiny tokenizers spend one token per character: a short description keeps the
        // demo's prompt inside the 128 tokens.
        let description = args.description.as_deref().unwrap_or("a landscape");
        let mut job = edit_demo::prepare(scratch.path(), &instruction, description)
            .map_err(|e| failed(format!("building the demo model: {e}")))?;
        // The demo is E1-Full (LoRA and refine stage); --variant is refused with it.
        apply_choices(&mut job.settings, args, &recipe, true);
        job.seed = args.seed;
        job.dtype = dtype;
        job.device = device;
        eprintln!(
            "demo: a tiny HiDream with RANDOM weights ({0}x{0}, {1} steps, E1-Full LoRA and \
             refine stage); the picture it writes is noise, it only shows the path works",
            edit_demo::DEMO_SIDE,
            job.settings.steps
        );
        job
    } else {
        user_job(args, &recipe, (dtype, device), &mut sources)?
    };
    eprintln!("prompt: {}", job.prompt);
    let edited = run_with_progress(&job, args.json)?;
    for warning in &edited.warnings {
        eprintln!("warning: {warning}");
    }
    let (edit_w, edit_h) = (edited.image.width, edited.image.height);
    let image = if args.keep_edit_size {
        edited.image
    } else {
        // As the E1 scripts do: PIL's resize back to the source's size (bicubic).
        edited
            .image
            .resize(edited.source_width, edited.source_height, Filter::Bicubic)
    };
    let info = GenerationInfo {
        prompt: job.prompt.clone(),
        negative_prompt: job.settings.negative_prompt.clone(),
        steps: job.settings.steps,
        sampler: a1111_sampler(&edited.scheduler_class),
        cfg_scale: job.settings.guidance_scale,
        seed: Some(job.seed),
        width: image.width as u32,
        height: image.height as u32,
        model: match args.demo {
            true => "hidream-edit --demo (random weights)".to_string(),
            false => job.model.display().to_string(),
        },
        extra: Vec::new(),
    }
    .with("Edit", recipe.kind())
    // A1111's label for instruct-pix2pix's image guidance.
    .with("Image CFG scale", job.settings.image_guidance_scale)
    .with("Refine strength", job.settings.refine_strength)
    .with(
        "Source image",
        args.image.as_ref().map(|p| p.display().to_string()),
    )
    .with("Edit size", format!("{edit_w}x{edit_h}"))
    .with("Dtype", job.dtype.as_str());
    let png = pipelines::image::stage_png(
        &args.output,
        image.width as u32,
        image.height as u32,
        &image.pixels,
        &info.png_text(),
    )?;
    cli::interrupt::commit(vec![png])?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            json!({
                "output": args.output,
                "models": cli::model_arg::to_json(&sources),
                "demo": args.demo,
                "random_weights": args.demo,
                "edit": recipe.kind(),
                "prompt": job.prompt,
                "size": [image.width, image.height],
                "edit_size": [edit_w, edit_h],
                "steps": job.settings.steps,
                "dtype": job.dtype.as_str(),
                "guidance": job.settings.guidance_scale,
                "image_guidance": job.settings.image_guidance_scale,
                "refine_strength": job.settings.refine_strength,
                "seed": job.seed,
                "warnings": edited.warnings,
                "seconds": seconds,
            })
        );
    } else {
        eprintln!(
            "wrote {} ({}x{}, edited at {edit_w}x{edit_h}) in {seconds:.1} s",
            args.output.display(),
            image.width,
            image.height
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    // First, before any thread exists (see cli::interrupt).
    cli::interrupt::install();
    finish(run(&Args::parse()))
}
