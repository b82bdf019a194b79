//! What the flags mean, checked: the settings a run will use, worked out before any model
//! loads.

use crate::args::{EditArgs, GenerateArgs, ModelArgs};
use candle_core::DType;
use cli::device_choice::choose_here;
use cli::exit::{Failure, bad};
use cli::values;
use device::Device;
use pipelines::hidream::edit::{EditSettings, EditVariant, SettingOverrides, editing_prompt};
use pipelines::hidream::prompt_encoding::EncoderFolders;
use pipelines::hidream::size::SizeRule;
use pipelines::models::autoencoders::VaeConfig;
use serde_json::json;
use std::path::Path;

fn require_dir(flag: &str, dir: &Path) -> Result<(), Failure> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(bad(format!("{flag} {}: not a folder", dir.display())))
    }
}

fn require_file(flag: &str, file: &Path) -> Result<(), Failure> {
    if file.is_file() {
        Ok(())
    } else {
        Err(bad(format!("{flag} {}: no such file", file.display())))
    }
}

/// The text-encoder folders and the Llama folder; the dtype and device flags.
pub fn check_models(models: &ModelArgs) -> Result<(DType, Device), Failure> {
    require_dir("--model", &models.model)?;
    EncoderFolders {
        model: models.model.clone(),
        llama: models.llama.clone(),
    }
    .check()?;
    // HiDream is published in bf16, and f32 doubles its memory: bf16 unless told otherwise.
    let choice = choose_here(&models.device, models.dtype, Some(device::DType::BF16))?;
    Ok((values::candle_dtype(choice.dtype), choice.device))
}

fn check_denoiser_folders(model: &Path) -> Result<(), Failure> {
    for component in ["transformer", "vae", "scheduler"] {
        require_dir("--model", &model.join(component)).map_err(|_| {
            bad(format!(
                "--model {}: no {component}/ folder (is this a HiDream model folder?)",
                model.display()
            ))
        })?;
    }
    Ok(())
}

/// What a run will do, for the report printed before it starts.
pub struct Plan {
    summary: serde_json::Value,
    lines: Vec<String>,
    pub dtype: DType,
    pub device: Device,
    pub steps: usize,
    pub guidance: f64,
    /// Generate: the scheduler shift; edit: unused.
    pub shift: f64,
    pub size_rule: SizeRule,
}

impl Plan {
    /// The settings on stderr (stdout as JSON with --json, for a dry run).
    pub fn report(&self, json: bool, dry_run: bool) {
        if json && dry_run {
            println!("{}", self.summary);
        } else {
            for line in &self.lines {
                eprintln!("{line}");
            }
        }
    }
}

fn size_line(requested: (usize, usize), actual: (usize, usize)) -> String {
    let note = if requested == actual {
        "as requested".to_string()
    } else {
        format!(
            "requested {}x{}, rescaled to the model's area and floored to multiples of 16",
            requested.0, requested.1
        )
    };
    format!("size: {}x{} ({note})", actual.0, actual.1)
}

pub fn generate(args: &GenerateArgs) -> Result<Plan, Failure> {
    let steps = args.steps.unwrap_or(args.variant.steps());
    let guidance = args.guidance.unwrap_or(args.variant.guidance());
    let shift = args.shift.unwrap_or(args.variant.shift());
    values::check_flow_steps(steps)?;
    values::check_scale("--guidance", guidance)?;
    if !(shift.is_finite() && shift > 0.0) {
        return Err(bad(format!("--shift {shift} must be a positive number")));
    }
    let (dtype, device) = check_models(&args.models)?;
    check_denoiser_folders(&args.models.model)?;
    let size_rule = size_rule(&args.models.model)?;
    let (width, height) = size_rule
        .output_size(args.width, args.height)
        .map_err(|e| bad(e.to_string()))?;
    if let Some(latents) = &args.latents {
        require_file("--latents", latents)?;
    }
    let mut outputs = vec![("--output", args.output.as_path())];
    if let Some(path) = &args.save_latents {
        outputs.push(("--save-latents", path.as_path()));
    }
    cli::output_paths::check_outputs(&outputs)?;
    let cfg = guidance > 1.0;
    let lines = vec![
        size_line((args.width, args.height), (width, height)),
        format!(
            "variant: {}, {steps} steps, guidance {guidance}{}, shift {shift}, seed {}",
            args.variant.name(),
            if cfg {
                ""
            } else {
                " (no classifier-free guidance)"
            },
            args.seed
        ),
        format!("dtype: {dtype:?}, device: {device}"),
    ];
    let summary = json!({
        "subcommand": "generate",
        "models": cli::model_arg::to_json(&args.models.sources),
        "variant": args.variant.name(),
        "requested_size": [args.width, args.height],
        "size": [width, height],
        "steps": steps,
        "guidance": guidance,
        "classifier_free_guidance": cfg,
        "shift": shift,
        "seed": args.seed,
        "dtype": dtype.as_str(),
        "device": device.to_string(),
        "offload": args.offload,
        "output": args.output,
    });
    Ok(Plan {
        summary,
        lines,
        dtype,
        device,
        steps,
        guidance,
        shift,
        size_rule,
    })
}

/// The pipeline's size rule for this model: its `default_sample_size` (128) and the VAE's
/// scale factor, 2^(levels - 1), read from vae/config.json.
fn size_rule(model: &Path) -> Result<SizeRule, Failure> {
    let path = model.join("vae/config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        // A dry run on a folder without the VAE config still reports HiDream-I1's rule.
        return Ok(SizeRule::HIDREAM_I1);
    };
    let config: VaeConfig =
        serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let levels = config.block_out_channels.len().clamp(1, 16);
    Ok(SizeRule {
        vae_scale_factor: 1 << (levels - 1),
        default_sample_size: SizeRule::HIDREAM_I1.default_sample_size,
    })
}

/// The variant's defaults with the flags that override them.
pub fn edit_settings(args: &EditArgs) -> EditSettings {
    args.variant.defaults().overridden(SettingOverrides {
        steps: args.steps,
        guidance_scale: args.guidance,
        image_guidance_scale: args.image_guidance,
        refine_strength: args.refine_strength,
    })
}

/// The model's text prompt: "Editing Instruction: ... Target Image Description: ...".
pub fn edit_prompt(args: &EditArgs) -> String {
    editing_prompt(
        &args.instruction,
        args.description.as_deref().unwrap_or(&args.instruction),
    )
}

pub fn edit(args: &EditArgs) -> Result<Plan, Failure> {
    let settings = edit_settings(args);
    let (steps, guidance, image_guidance) = (
        settings.steps,
        settings.guidance_scale,
        settings.image_guidance_scale,
    );
    let refine_strength = settings.refine_strength;
    values::check_flow_steps(steps)?;
    values::check_scale("--guidance", guidance)?;
    values::check_scale("--image-guidance", image_guidance)?;
    if args.instruction.trim().is_empty() {
        return Err(bad("--instruction is empty"));
    }
    require_file("--image", &args.image)?;
    if !pipelines::image_input::is_supported_image(&args.image) {
        return Err(bad(format!(
            "--image {}: not a PNG, JPEG or WebP file",
            args.image.display()
        )));
    }
    match (&args.lora, args.variant) {
        (Some(lora), _) => require_file("--lora", lora)?,
        (None, EditVariant::E1Full) => {
            return Err(bad(
                "--variant e1-full needs --lora FILE: HiDream-E1-Full is a LoRA on HiDream-I1-Full \
                 (give the I1-Full folder as --model)",
            ));
        }
        (None, EditVariant::E1_1) => {}
    }
    if let Some(refine) = &args.refine_model {
        require_dir("--refine-model", refine)?;
        require_dir("--refine-model", &refine.join("transformer")).map_err(|_| {
            bad(format!(
                "--refine-model {}: no transformer/ folder (give a HiDream-I1-Full folder)",
                refine.display()
            ))
        })?;
    }
    if !(0.0..=1.0).contains(&refine_strength) {
        return Err(bad(format!(
            "--refine-strength {refine_strength} is outside [0, 1]"
        )));
    }
    cli::output_paths::check_outputs(&[("--output", &args.output)])?;
    let (dtype, device) = check_models(&args.models)?;
    check_denoiser_folders(&args.models.model)?;
    let prompt = edit_prompt(args);
    let lines = vec![
        format!("prompt: {prompt}"),
        format!(
            "variant: {}, {steps} steps, guidance {guidance}, image guidance {image_guidance}, seed {}",
            args.variant.name(),
            args.seed
        ),
        match &args.refine_model {
            Some(dir) => format!(
                "refine: last {refine_strength} of the steps on {}",
                dir.display()
            ),
            None => format!("refine: last {refine_strength} of the steps"),
        },
        format!("dtype: {dtype:?}, device: {device}"),
    ];
    let summary = json!({
        "subcommand": "edit",
        "models": cli::model_arg::to_json(&args.models.sources),
        "variant": args.variant.name(),
        "prompt": prompt,
        "steps": steps,
        "guidance": guidance,
        "image_guidance": image_guidance,
        "seed": args.seed,
        "lora": args.lora,
        "refine_model": args.refine_model,
        "refine_strength": refine_strength,
        "negative_prompt": settings.negative_prompt,
        "dtype": dtype.as_str(),
        "device": device.to_string(),
        "output": args.output,
    });
    Ok(Plan {
        summary,
        lines,
        dtype,
        device,
        steps,
        guidance,
        shift: 0.0,
        size_rule: SizeRule::HIDREAM_I1,
    })
}
