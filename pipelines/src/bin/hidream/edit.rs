//! `hidream edit`: prompt encoding (prompt, negative prompt and the refine stage's target
//! description in one pass over the encoders), then `pipelines::hidream::edit`.

use crate::cli::{EditArgs, EditVariant as CliVariant};
use crate::failure::{Failure, bad, failed};
use crate::settings::{Plan, candle_device};
use candle_core::{DType, Tensor};
use device::TorchRng;
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::hidream::edit::{
    EditModels, EditPrompts, EditSettings, EditVariant, edit, editing_prompt, target_description,
};
use pipelines::hidream::edit_image::{read_rgb_png, size_source, to_tensor};
use pipelines::hidream::lora::{E1_FULL_LORA_ALPHA, LoraParts, load_transformer_with_lora};
use pipelines::hidream::prompt_embeds::PromptEmbeds;
use pipelines::hidream::prompt_encoding::{EncodeOptions, EncoderFolders, encode_text_sets};
use pipelines::hidream::transformer::HiDreamTransformer;
use pipelines::layers::Kernels;
use pipelines::schedulers::flow::{self, FlowSchedulerConfig};
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
    let mut s = variant(args.variant).defaults();
    if let Some(steps) = args.steps {
        s.steps = steps;
    }
    if let Some(g) = args.guidance {
        s.guidance_scale = g;
    }
    if let Some(ig) = args.image_guidance {
        s.image_guidance_scale = ig;
    }
    if let Some(r) = args.refine_strength {
        s.refine_strength = r;
    }
    s
}

/// The model's text prompt: "Editing Instruction: ... Target Image Description: ...".
pub fn prompt(args: &EditArgs) -> String {
    editing_prompt(
        &args.instruction,
        args.description.as_deref().unwrap_or(&args.instruction),
    )
}

fn as_f32(e: PromptEmbeds) -> candle_core::Result<PromptEmbeds> {
    Ok(PromptEmbeds {
        t5: e.t5.to_dtype(DType::F32)?,
        llama: e.llama.to_dtype(DType::F32)?,
        pooled: e.pooled.to_dtype(DType::F32)?,
    })
}

pub fn run(args: &EditArgs, plan: &Plan) -> Result<(), Failure> {
    let started = Instant::now();
    let device = candle_device(plan.device)?;
    let model = &args.models.model;
    let settings = settings(args);
    settings.validate()?;
    // Cheap inputs first: a bad image or scheduler config should not cost an encoder load.
    let source = read_rgb_png(&args.image)?;
    let sized = size_source(&source, settings.sizing, &args.image)?;
    let image = to_tensor(&sized, &device)?;
    let scheduler_path = model.join("scheduler/scheduler_config.json");
    let scheduler_config = FlowSchedulerConfig::from_file(&scheduler_path)
        .map_err(|e| bad(format!("{}: {e}", scheduler_path.display())))?;
    let mut scheduler = flow::build(&scheduler_config, settings.steps)
        .map_err(|e| bad(format!("{}: {e}", scheduler_path.display())))?;

    let text = prompt(args);
    let target = target_description(&text).unwrap_or(&text).to_string();
    let negative = settings.negative_prompt.as_str();
    let sets = [[text.as_str(); 4], [negative; 4], [target.as_str(); 4]];
    let options = EncodeOptions {
        dtype: plan.dtype,
        device: device.clone(),
        ..EncodeOptions::default()
    };
    let folders = EncoderFolders {
        model: model.clone(),
        llama: args.models.llama.clone(),
    };
    eprintln!("encoding the prompt, the negative prompt and the target description");
    let (embeds, warnings) =
        encode_text_sets(&folders, &sets, &options, |stage| eprintln!("  {stage}"))?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let mut embeds = embeds
        .into_iter()
        .map(as_f32)
        .collect::<candle_core::Result<Vec<_>>>()
        .map_err(|e| failed(e.to_string()))?;
    let (Some(target_embeds), Some(negative_embeds), Some(prompt_embeds)) =
        (embeds.pop(), embeds.pop(), embeds.pop())
    else {
        return Err(failed(
            "prompt encoding returned fewer embeddings than asked",
        ));
    };

    let transformer_dir = model.join("transformer");
    eprintln!("loading the transformer");
    let mut editor = match &args.lora {
        Some(lora) => load_transformer_with_lora(
            &transformer_dir,
            lora,
            E1_FULL_LORA_ALPHA,
            LoraParts::All,
            &device,
            Kernels::default(),
        )?,
        None => HiDreamTransformer::load(&transformer_dir, &device, Kernels::default())?,
    };
    editor.set_max_seq(settings.max_seq);
    // The refine stage: an explicit I1 folder; else E1-Full's own script's weights (the
    // checkpoint's full tensors, adapters off); else (E1.1) the editor itself.
    let mut refiner = match (&args.refine_model, &args.lora) {
        (Some(dir), _) => Some(HiDreamTransformer::load(
            &dir.join("transformer"),
            &device,
            Kernels::default(),
        )?),
        (None, Some(lora)) if settings.refine_strength > 0.0 => Some(load_transformer_with_lora(
            &transformer_dir,
            lora,
            E1_FULL_LORA_ALPHA,
            LoraParts::FullTensorsOnly,
            &device,
            Kernels::default(),
        )?),
        _ => None,
    };
    if let Some(r) = refiner.as_mut() {
        r.set_max_seq(settings.max_seq);
    }
    let vae = crate::generate::load_vae(&model.join("vae"), &device)?;

    // One generator for the starting latents and then the scheduler's noise, as a seeded
    // torch generator passed to the pipeline is used.
    let mut rng = TorchRng::new(args.seed);
    let (_, _, h, w) = image.dims4().map_err(|e| failed(e.to_string()))?;
    let factor = 1usize << (vae.config().block_out_channels.len().max(1) - 1);
    let shape = [1, vae.config().latent_channels, h / factor, w / factor];
    let initial = Tensor::from_vec(rng.randn_shape(&shape), &shape[..], &device)
        .map_err(|e| failed(e.to_string()))?;

    let bar = ProgressBar::new(settings.steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let out = edit(
        EditModels {
            editor: &editor,
            refiner: refiner.as_ref(),
            vae: &vae,
        },
        &EditPrompts {
            prompt: prompt_embeds,
            negative: negative_embeds,
            target: Some(target_embeds),
        },
        &image,
        &initial,
        &settings,
        scheduler.as_mut(),
        &mut rng,
        &mut |p| {
            if p.refining {
                bar.set_message("(refine)");
            }
            bar.inc(1);
        },
    );
    bar.finish_and_clear();
    let out = out?;
    // The VAE's output is in [-1, 1]; map to [0, 1] as diffusers' image processor does.
    let unit = ((out.image / 2.0)
        .and_then(|x| x + 0.5)
        .and_then(|x| x.clamp(0f32, 1f32)))
    .map_err(|e| failed(e.to_string()))?;
    let (w, h, rgb) = pipelines::hidream::generate::to_rgb8(&unit, 0)?;
    let parameters = format!(
        "prompt: {text}\nvariant: {}\nsteps: {}\nguidance: {}\nimage guidance: {}\nrefine strength: {}\nseed: {}\nsource: {}\nmodel: {}",
        args.variant.name(),
        settings.steps,
        settings.guidance_scale,
        settings.image_guidance_scale,
        settings.refine_strength,
        args.seed,
        args.image.display(),
        model.display(),
    );
    pipelines::sd::image::write_png(&args.output, w, h, &rgb, &parameters)
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
