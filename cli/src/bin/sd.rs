//! `sd`: Stable Diffusion 2.x text-to-image (and img2img with --init-image) from a diffusers folder, numerically matching
//! the diffusers pipeline for the same seed. A thin shell over `pipelines::sd`.

use candle_core::{DType, Tensor};
use clap::Parser;
use cli::device_choice::{Choice, DeviceFlag, choose_here};
use cli::exit::{Failure, bad, failed, finish};
use cli::output_paths::check_outputs;
use cli::progress::step_bar;
use cli::values;
use device::Device;
use pipelines::error::ModelError;
use pipelines::generation_info::{GenerationInfo, a1111_sampler};
use pipelines::image::{stage_png, to_rgb8};
use pipelines::init_image::{preprocess, read_init_image};
use pipelines::layers::Kernels;
use pipelines::schedulers::{self, Sampler};
use pipelines::sd::accel::{Accelerations, CfgParallel, DeepCacheOptions, TomeOptions, deviation};
use pipelines::sd::pipeline::{Generation, InitImage, LoadOptions, StableDiffusion, load_unet};
use pipelines::tensor_file::stage_safetensors;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const AFTER_HELP: &str = "\
The same --seed gives the same image as diffusers' StableDiffusionPipeline with
generator=torch.Generator(\"cpu\").manual_seed(SEED) (f32). With --batch N the noise is
diffusers' num_images_per_prompt=N noise (one randn of shape [N, 4, h/8, w/8]); image 0
is written to --output and image i to <stem>-<i>.<ext> (out.png, out-1.png, out-2.png...).

--dtype f16/bf16 loads the weights (f32 or fp16 files) in that dtype and runs the text
encoder, UNet and VAE in it; latents and scheduler arithmetic stay f32. --attention
naive runs plain candle layers instead of the fused kernels (a baseline; it needs far
more memory at 512x512).

generator=torch.Generator(\"cpu\").manual_seed(SEED) (f32). Accelerations follow their
references: --tome as tomesd 0.1.3 (with random destinations, tomesd's generator seeded
with SEED; --tome-no-rand is use_rand=False), --deepcache as DeepCache 0.1.1's
DeepCacheSDHelper; --cfg-parallel changes nothing in the result.

Exit status: 0 image written; 2 bad input (missing component, config/weight mismatch,
corrupt weights, size not a multiple of 8, unknown scheduler, unavailable device); 1 a
failure while generating; 130 or 143 interrupted by SIGINT or SIGTERM. No output file is
left behind on failure or interrupt.

--model takes a folder or a Hugging Face id already in the local cache (HF_HUB_CACHE,
else HF_HOME/hub, else ~/.cache/huggingface/hub): `hf download ORG/NAME` puts it there.

Example:
  sd --model ./stable-diffusion-2-1-base --prompt \"a photo of an astronaut\" \\
     --steps 25 --scheduler \"DPM++ 2M Karras\" --seed 42 --output astronaut.png";

#[derive(Parser, Debug)]
#[command(name = "sd", version, about = "Stable Diffusion 2.x text-to-image on candle", after_help = AFTER_HELP)]
struct Args {
    /// A diffusers folder (model_index.json, tokenizer, text_encoder, unet, vae, scheduler),
    /// or a Hugging Face id (ORG/NAME) already downloaded to the hub cache (never fetched).
    #[arg(short = 'm')]
    #[arg(long, value_name = "DIR|ORG/NAME")]
    model: PathBuf,
    /// With an id as --model: the branch, tag or commit hash in the cache (default main).
    #[arg(long, value_name = "REV")]
    revision: Option<String>,
    #[arg(short = 'p', long)]
    prompt: String,
    /// Defaults to the empty prompt, as diffusers does.
    #[arg(short = 'n', long, visible_alias = "negative")]
    negative_prompt: Option<String>,
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Classifier-free guidance scale; 1 or less disables guidance.
    #[arg(short = 'g', long, default_value_t = 7.5, visible_aliases = ["cfg-scale", "guidance-scale"])]
    guidance: f64,
    #[arg(short = 's', long, default_value_t = 0)]
    seed: u64,
    /// Defaults to the UNet's sample_size times the VAE scale factor (512 for 2.1-base).
    #[arg(short = 'W', long)]
    width: Option<usize>,
    /// Defaults like --width.
    #[arg(short = 'H', long)]
    height: Option<usize>,
    /// Defaults to the folder's own scheduler (scheduler/scheduler_config.json). A1111's
    /// names set the schedule type (Karras, Exponential, else the training sigmas) and the
    /// SDE variant over the folder's config; case, spaces, hyphens and underscores are
    /// ignored ("dpm++-2m-karras").
    #[arg(long, visible_alias = "sampler", value_parser = values::scheduler())]
    scheduler: Option<(&'static str, Sampler)>,
    /// auto (NPU, then CUDA, then CPU, or what PREFERRED_DEVICE names), cpu, cuda[:N] or
    /// npu[:N].
    #[arg(long, default_value = "auto", value_name = "DEVICE")]
    device: DeviceFlag,
    /// Initial latents (safetensors, tensor "latents") instead of noise from the seed.
    #[arg(long, value_name = "FILE")]
    latents: Option<PathBuf>,
    /// Also write the final latents before VAE decode (tensor "latents", f32).
    #[arg(long, value_name = "FILE")]
    save_latents: Option<PathBuf>,
    /// img2img: start from this PNG, JPEG or WebP, read as diffusers' load_image does (RGB,
    /// EXIF-upright); sides not a multiple of 8 are rounded down by a LANCZOS resize, as its
    /// image processor does. It sets the output size.
    #[arg(long, value_name = "IMAGE")]
    init_image: Option<PathBuf>,
    /// img2img: how much of the schedule to run, in (0, 1].
    #[arg(long, default_value_t = 0.8, requires = "init_image")]
    strength: f64,
    /// Images per prompt (diffusers' num_images_per_prompt).
    #[arg(long, default_value_t = 1, value_name = "N")]
    batch: usize,
    /// Weights and compute dtype [default: the device's best, f32 on the CPU, or
    /// PREFERRED_DTYPE].
    #[arg(long, value_parser = values::device_dtype())]
    dtype: Option<device::DType>,
    /// fused (ops-npu kernels) or naive (plain candle layers).
    #[arg(long, default_value = "fused", value_parser = values::kernels())]
    attention: Kernels,
    /// Image 0; image i of a batch goes to <stem>-<i>.<ext> beside it.
    #[arg(short = 'o', long, default_value = "sd.png")]
    output: PathBuf,
    /// Print a JSON summary of the run on stdout (progress and messages stay on stderr).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    accel: AccelArgs,
}

/// Accelerations; each changes the image a little (see --compare-baseline) except
/// --cfg-parallel, which is exact.
#[derive(clap::Args, Debug)]
struct AccelArgs {
    /// Token Merging (tomesd): merge this fraction of tokens, in (0, 0.75], before
    /// self-attention in the highest-resolution transformer blocks.
    #[arg(long, value_name = "RATIO")]
    tome: Option<f64>,
    /// Token Merging with the top-left token of each 2x2 cell as destination instead of a
    /// random one (tomesd's use_rand=False; the random choice is seeded by --seed).
    #[arg(long, requires = "tome")]
    tome_no_rand: bool,
    /// DeepCache: full UNet every INTERVAL steps; in between only the shallow branch
    /// BRANCH (default 0, the shallowest) runs on the cached deep feature.
    #[arg(long, value_name = "INTERVAL[:BRANCH]")]
    deepcache: Option<String>,
    /// Run the unconditional and conditional halves of each guided step at the same time
    /// on two devices (cpu: two worker threads with half the cores each; cuda:N: cuda:N
    /// and cuda:N+1). Bit-identical to the sequential run.
    #[arg(long)]
    cfg_parallel: bool,
    /// Also run without accelerations and print the deviation: max abs difference of
    /// the final latents and PSNR of the image against the baseline image.
    #[arg(long)]
    compare_baseline: bool,
}

/// The largest --width/--height: a 1024x1024 latent, already far past what SD 2.x was
/// trained for, and a bound on what the activations are sized from.
const MAX_SIDE: usize = 8192;
/// The most images per prompt: a bound on the batch the latents and activations are
/// sized from.
const MAX_BATCH: usize = 64;

/// Where image `index` of a batch is written: `--output` itself for the first.
fn image_path(output: &Path, index: usize) -> PathBuf {
    if index == 0 {
        return output.to_path_buf();
    }
    let stem = output
        .file_stem()
        .map_or_else(|| "sd".to_string(), |s| s.to_string_lossy().into_owned());
    let name = match output.extension() {
        Some(ext) => format!("{stem}-{index}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{index}"),
    };
    output.with_file_name(name)
}

/// The candle device for --device; an NPU is refused with what does and does not run there.
fn candle_device(device: Device) -> Result<candle_core::Device, Failure> {
    if let Device::Npu(i) = device {
        return Err(bad(format!(
            "--device npu:{i}: end-to-end Stable Diffusion on an Ascend NPU does not exist yet.\n\
             What exists: NPU discovery and health checks (`doctor`), and the fused kernels in \
             ops-npu (attention, GroupNorm, GEGLU) being wired in as the layers this pipeline \
             uses. What cannot run on the NPU yet: the text encoder, UNet and VAE as a whole \
             (they execute on candle, which has no NPU backend). Nothing was run on the CPU \
             instead; use --device cpu (or cuda:N) explicitly."
        )));
    }
    values::candle_device(device)
}

/// The second device for --cfg-parallel: the next one of the same kind.
fn second_device(first: &candle_core::Device) -> Result<candle_core::Device, Failure> {
    match first {
        candle_core::Device::Cpu => Ok(candle_core::Device::Cpu),
        candle_core::Device::Cuda(_) => {
            let ordinal = match first.location() {
                candle_core::DeviceLocation::Cuda { gpu_id } => gpu_id + 1,
                _ => 1,
            };
            candle_core::Device::new_cuda(ordinal).map_err(|e| {
                bad(format!(
                    "--cfg-parallel needs a second GPU, cuda:{ordinal}: {e}"
                ))
            })
        }
        other => Err(bad(format!(
            "--cfg-parallel is not available on {:?}",
            other.location()
        ))),
    }
}

fn accelerations(
    a: &AccelArgs,
    sd: &StableDiffusion,
    model: &Path,
    (seed, guidance): &(u64, f64),
) -> Result<Accelerations, Failure> {
    let mut accel = Accelerations::default();
    if let Some(ratio) = a.tome {
        if !(ratio > 0.0 && ratio <= pipelines::sd::accel::tome::MAX_RATIO) {
            return Err(bad(format!("--tome {ratio} is outside (0, 0.75]")));
        }
        let mut options = TomeOptions::new(ratio).map_err(|e| bad(format!("--tome: {e}")))?;
        options.use_rand = !a.tome_no_rand;
        options.seed = *seed;
        accel.tome = Some(options);
    }
    if let Some(text) = &a.deepcache {
        let options =
            DeepCacheOptions::parse(text).map_err(|e| bad(format!("--deepcache {text}: {e}")))?;
        options
            .check_branch(sd.unet.config())
            .map_err(|e| bad(format!("--deepcache {text}: {e}")))?;
        accel.deepcache = Some(options);
    }
    if a.cfg_parallel {
        if *guidance <= 1.0 {
            return Err(bad(format!(
                "--cfg-parallel needs classifier-free guidance (--guidance above 1, got {guidance})"
            )));
        }
        let second = second_device(sd.device())?;
        let parallel = if second.is_cpu() {
            CfgParallel::on_cpu(&sd.unet)
        } else {
            CfgParallel::new(load_unet(model, sd.dtype(), &second, sd.kernels())?, second)
        }
        .map_err(|e| failed(format!("--cfg-parallel: {e}")))?;
        accel.cfg_parallel = Some(std::sync::Arc::new(parallel));
    }
    Ok(accel)
}

fn load_latents(path: &Path, device: &candle_core::Device) -> Result<Tensor, Failure> {
    pipelines::input_file::check_regular(path)
        .map_err(|e| bad(format!("--latents {}: {e}", path.display())))?;
    let tensors = candle_core::safetensors::load(path, device)
        .map_err(|e| bad(format!("--latents {}: {e}", path.display())))?;
    let latents = tensors.get("latents").ok_or_else(|| {
        bad(format!(
            "--latents {}: no tensor named \"latents\"",
            path.display()
        ))
    })?;
    if latents.rank() != 4 {
        return Err(bad(format!(
            "--latents {}: \"latents\" must be [batch, 4, height/8, width/8], got {:?}",
            path.display(),
            latents.dims()
        )));
    }
    latents
        .to_dtype(DType::F32)
        .map_err(|e| bad(format!("--latents {}: {e}", path.display())))
}

/// Every file the run will write, checked before any work.
fn check_output_paths(args: &Args) -> Result<(), Failure> {
    let images = image_paths(args);
    let mut outputs: Vec<(&str, &Path)> = images
        .iter()
        .map(|(flag, path)| (flag.as_str(), path.as_path()))
        .collect();
    if let Some(path) = &args.save_latents {
        outputs.push(("--save-latents", path));
    }
    check_outputs(&outputs)
}

/// Each image the run writes, with the flag that names it.
fn image_paths(args: &Args) -> Vec<(String, PathBuf)> {
    (0..args.batch)
        .map(|i| {
            let flag = match i {
                0 => "--output".to_string(),
                i => format!("--output (image {i} of the batch)"),
            };
            (flag, image_path(&args.output, i))
        })
        .collect()
}

/// The numbers on the command line, before anything is sized from them.
fn check_numbers(args: &Args) -> Result<(), Failure> {
    for (name, value) in [("--width", args.width), ("--height", args.height)] {
        if let Some(v) = value
            && (v == 0 || !v.is_multiple_of(8) || v > MAX_SIDE)
        {
            return Err(bad(format!(
                "{name} {v} is not a positive multiple of 8 of at most {MAX_SIDE}"
            )));
        }
    }
    if args.steps == 0 {
        return Err(bad("--steps must be at least 1"));
    }
    if !(1..=MAX_BATCH).contains(&args.batch) {
        return Err(bad(format!("--batch must be between 1 and {MAX_BATCH}")));
    }
    if !args.guidance.is_finite() {
        return Err(bad(format!(
            "--guidance {} is not a finite number",
            args.guidance
        )));
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), Failure> {
    let started = Instant::now();
    check_numbers(args)?;
    check_output_paths(args)?;
    let images = image_paths(args);
    let mut outputs: Vec<&Path> = images.iter().map(|(_, p)| p.as_path()).collect();
    outputs.extend(args.save_latents.as_deref());
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&outputs);
    let model = cli::model_arg::model_folder("--model", &args.model, args.revision.as_deref())?;
    let model = model.folder.as_path();
    if let Some(i) = args.device.names_npu() {
        candle_device(Device::Npu(i))?;
    }
    let choice = choose_here(&args.device, args.dtype, None)?;
    let device = candle_device(choice.device)?;
    let (dtype, kernels) = (values::candle_dtype(choice.dtype), args.attention);
    if !(args.strength > 0.0 && args.strength <= 1.0) {
        return Err(bad(format!(
            "--strength {} is outside (0, 1]",
            args.strength
        )));
    }
    let initial = match &args.latents {
        Some(p) => Some(load_latents(p, &device)?),
        None => None,
    };
    let init_source = match &args.init_image {
        Some(p) => {
            let loaded = read_init_image(p)?;
            for note in &loaded.notes {
                eprintln!("--init-image {}: {note}", p.display());
            }
            Some((p, loaded.image))
        }
        None => None,
    };

    let sd = StableDiffusion::load_with(model, &device, LoadOptions { dtype, kernels })?;
    let accel = accelerations(&args.accel, &sd, model, &(args.seed, args.guidance))?;
    // The VAE's scale sets the rounding, as diffusers builds its image processor from it.
    let init = match init_source {
        Some((p, image)) => {
            let (image, resized) = preprocess(p, image, sd.vae_scale_factor(), &device)?;
            if let Some(note) = resized {
                eprintln!("--init-image {}: {note}", p.display());
            }
            let (_, _, h, w) = image.dims4().map_err(ModelError::from)?;
            if args.width.is_some_and(|v| v != w) || args.height.is_some_and(|v| v != h) {
                return Err(bad(format!(
                    "--init-image {} is {w}x{h}; --width/--height must match it",
                    p.display()
                )));
            }
            Some(InitImage {
                image,
                strength: args.strength,
            })
        }
        None => None,
    };
    let (kind, sampler) = match args.scheduler {
        Some((name, sampler)) => (name.to_string(), sampler),
        None => {
            let own = sd.scheduler_config.class_name().unwrap_or("");
            let sampler =
                schedulers::sampler::parse(own).map_err(|e| bad(format!("scheduler: {e}")))?;
            (own.to_string(), sampler)
        }
    };
    let mut scheduler = sampler
        .build(&sd.scheduler_config, args.steps)
        .map_err(|e| bad(format!("scheduler: {e}")))?;
    let sampler_name = Sampler::a1111_name(sampler.class, &sampler.configure(&sd.scheduler_config))
        .map_or_else(|| a1111_sampler(&kind), str::to_string);
    let default_size = sd.unet.config().sample_size * sd.vae_scale_factor();
    let init_size = match &init {
        Some(i) => {
            let (_, _, h, w) = i.image.dims4().map_err(ModelError::from)?;
            Some((w, h))
        }
        None => None,
    };
    let g = Generation {
        prompt: args.prompt.clone(),
        negative_prompt: args.negative_prompt.clone(),
        guidance: args.guidance,
        seed: args.seed,
        width: args
            .width
            .or(init_size.map(|s| s.0))
            .unwrap_or(default_size),
        height: args
            .height
            .or(init_size.map(|s| s.1))
            .unwrap_or(default_size),
        batch: args.batch,
        latents: initial,
    };

    let bar = step_bar(scheduler.timesteps().len());
    let mut tick = |_, _| bar.inc(1);
    let (latents, truncated) = match &init {
        Some(i) => sd.img2img_with(&g, i, &accel, scheduler.as_mut(), &mut tick)?,
        None => sd.txt2img_with(&g, &accel, scheduler.as_mut(), &mut tick)?,
    };
    bar.finish_and_clear();
    let mut deviation_found = None;
    if args.accel.compare_baseline {
        let mut fresh = sampler
            .build(&sd.scheduler_config, args.steps)
            .map_err(|e| bad(format!("scheduler: {e}")))?;
        let plain = Accelerations::default();
        let (base, _) = match &init {
            Some(i) => sd.img2img_with(&g, i, &plain, fresh.as_mut(), &mut |_, _| {})?,
            None => sd.txt2img_with(&g, &plain, fresh.as_mut(), &mut |_, _| {})?,
        };
        let max_abs = deviation::max_abs_diff(&base, &latents)?;
        let psnr = deviation::psnr(&sd.decode(&base)?, &sd.decode(&latents)?)?;
        deviation_found = Some((max_abs, psnr));
        if !args.json {
            println!(
                "deviation of {} from baseline: max_abs_latents {max_abs:.6e}, psnr_db {psnr:.2}",
                accel.name()
            );
        }
    }
    let mut warnings = Vec::new();
    if truncated {
        warnings.push(format!(
            "a prompt was longer than {} tokens and was truncated",
            sd.tokenizer.max_length()
        ));
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let latents_file = match &args.save_latents {
        Some(path) => {
            let f32_latents = latents.to_dtype(DType::F32).map_err(ModelError::from)?;
            Some(stage_safetensors(
                path,
                &[("latents".to_string(), f32_latents)],
            )?)
        }
        None => None,
    };
    let image = sd.decode(&latents)?;
    let info = generation_info(args, &choice, &g, (&kind, &sampler_name), &accel.name());
    let count = image.dim(0).map_err(ModelError::from)?;
    let mut staged = Vec::with_capacity(count + 1);
    for i in 0..count {
        let path = image_path(&args.output, i);
        let (w, h, rgb) = to_rgb8(&image.narrow(0, i, 1).map_err(ModelError::from)?)?;
        let info = match count {
            1 => info.clone(),
            _ => info.clone().with("Batch size", count).with("Batch pos", i),
        };
        staged.push(stage_png(&path, w, h, &rgb, &info.png_text())?);
    }
    staged.extend(latents_file);
    let names: Vec<PathBuf> = staged.iter().map(|f| f.target().to_path_buf()).collect();
    // All or none: a batch that fails part way puts back any file it had replaced.
    cli::interrupt::commit(staged)?;
    for name in &names {
        eprintln!("wrote {}", name.display());
    }
    if args.json {
        let mut summary = summary(args, &choice, &info, &kind, &warnings);
        summary["accelerations"] = json!(accel.name());
        summary["deviation"] = match deviation_found {
            Some((max_abs, psnr)) => json!({"max_abs_latents": max_abs, "psnr_db": psnr}),
            None => Value::Null,
        };
        summary["seconds"] = json!(started.elapsed().as_secs_f64());
        println!("{summary}");
    }
    Ok(())
}

/// What the PNGs record: A1111's fields, then ours in a fixed order.
fn generation_info(
    args: &Args,
    choice: &Choice,
    g: &Generation,
    (scheduler, sampler): (&str, &str),
    accel: &str,
) -> GenerationInfo {
    let seed_used = args.latents.is_none();
    let img2img = args.init_image.as_ref();
    GenerationInfo {
        prompt: g.prompt.clone(),
        negative_prompt: g.negative_prompt.clone().unwrap_or_default(),
        steps: args.steps,
        sampler: sampler.to_string(),
        cfg_scale: g.guidance,
        seed: seed_used.then_some(g.seed),
        width: g.width as u32,
        height: g.height as u32,
        model: args.model.display().to_string(),
        extra: Vec::new(),
    }
    .with("Scheduler", scheduler)
    .with("Dtype", choice.dtype.as_str())
    .with("Attention", args.attention.as_str())
    .with("Accelerations", accel)
    .with(
        "Latents",
        args.latents.as_ref().map(|p| p.display().to_string()),
    )
    .with("Init image", img2img.map(|p| p.display().to_string()))
    // A1111's name for img2img's strength.
    .with("Denoising strength", img2img.map(|_| args.strength))
}

/// `--json`'s object, less what is known only at the end (seconds, deviation).
fn summary(
    args: &Args,
    choice: &Choice,
    info: &GenerationInfo,
    scheduler: &str,
    warnings: &[String],
) -> Value {
    let outputs: Vec<PathBuf> = image_paths(args).into_iter().map(|(_, p)| p).collect();
    json!({
        "program": "sd",
        "outputs": outputs,
        "latents": args.save_latents,
        "size": [info.width, info.height],
        "steps": info.steps,
        "scheduler": scheduler,
        "sampler": info.sampler,
        "guidance": info.cfg_scale,
        "seed": info.seed,
        "dtype": choice.dtype.as_str(),
        "device": choice.device.to_string(),
        "warnings": warnings,
    })
}

fn main() -> ExitCode {
    // First, before any thread exists (see cli::interrupt).
    cli::interrupt::install();
    // Before anything large is allocated: reuse freed activation buffers (host_memory).
    pipelines::host_memory::keep_freed_memory();
    finish(run(&Args::parse()))
}
