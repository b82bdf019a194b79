//! `vae-bench`: peak memory and time of one SD 2.1 VAE decode with seeded random weights (no
//! download), with or without diffusers-style tiling, so the memory `--vae-tiling` saves is
//! measured rather than guessed. Each invocation measures one way (peak RSS is a
//! per-process high-water mark); run it twice to compare.

use candle_core::{DType, Device, Tensor};
use clap::Parser;
use cli::exit::{Failure, bad, failed, finish};
use cli::values;
use pipelines::bench::{RandomWeights, peak_rss_bytes};
use pipelines::layers::Kernels;
use pipelines::models::autoencoders::{AutoencoderKL, VaeConfig};
use std::process::ExitCode;
use std::time::Instant;

const AFTER_HELP: &str = "\
What it measures: AutoencoderKL.decode of one [1, 4, SIZE/8, SIZE/8] latent through the
SD 2.x VAE (block_out_channels 128/256/512/512, sample_size 768 as in SD 2.1, so tiles of
768 pixels) with seeded random weights at torch's default-init scale. peak_bytes is the
process's peak RSS (VmHWM), weights (335 MB at f32) included; baseline_bytes is the RSS
once the model is built, before the decode.

Compare, one process each:
  cargo run --release -p cli --bin vae-bench -- --size 2048 --json
  cargo run --release -p cli --bin vae-bench -- --size 2048 --tiling --json

Exit status: 0 measured; 2 bad flag value; 1 a failure while running.";

#[derive(Parser, Debug)]
#[command(
    name = "vae-bench",
    version,
    about = "Peak memory and time of an SD 2.x VAE decode, tiled or not (random weights)",
    after_help = AFTER_HELP
)]
struct Args {
    /// Image side in pixels (a multiple of 8).
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Decode in tiles, as `sd --vae-tiling` and diffusers' enable_tiling().
    #[arg(long)]
    tiling: bool,
    /// Weights and compute.
    #[arg(long, default_value = "f32", value_parser = values::dtype())]
    dtype: DType,
    /// fused (ops-npu kernels) or naive (plain candle layers).
    #[arg(long, default_value = "fused", value_parser = values::kernels())]
    attention: Kernels,
    /// One JSON object on stdout instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// The SD 2.1 VAE's config (stabilityai/stable-diffusion-2-1, vae/config.json).
fn sd21_vae_config() -> serde_json::Result<VaeConfig> {
    serde_json::from_value(serde_json::json!({
        "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
        "layers_per_block": 2,
        "latent_channels": 4,
        "norm_num_groups": 32,
        "sample_size": 768,
        "scaling_factor": 0.18215
    }))
}

fn run(args: &Args) -> Result<(), Failure> {
    if args.size == 0 || !args.size.is_multiple_of(8) || args.size > 16384 {
        return Err(bad(format!(
            "--size {} is not a positive multiple of 8 of at most 16384",
            args.size
        )));
    }
    pipelines::host_memory::keep_freed_memory();
    let config = sd21_vae_config().map_err(|e| failed(e.to_string()))?;
    let device = Device::Cpu;
    let vb = pipelines::model_tensor::VarBuilder::new(
        RandomWeights { seed: 0 }.var_builder(args.dtype, &device),
        device.clone().into(),
    );
    let mut vae = AutoencoderKL::with_kernels(vb, &config, args.attention)
        .map_err(|e| failed(e.to_string()))?;
    if args.tiling {
        vae.enable_tiling().map_err(|e| failed(e.to_string()))?;
    }
    let side = args.size / 8;
    let latents = Tensor::randn(0f32, 1.0, (1, 4, side, side), &device)
        .and_then(|t| t.to_dtype(args.dtype))
        .map_err(|e| failed(e.to_string()))?;
    let baseline = peak_rss_bytes();
    let started = Instant::now();
    let image = vae
        .decode(&latents.into())
        .map_err(|e| failed(e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_rss_bytes();
    drop(image);
    let summary = serde_json::json!({
        "size": args.size,
        "tiling": args.tiling,
        "dtype": format!("{:?}", args.dtype).to_lowercase(),
        "decode_s": seconds,
        "baseline_bytes": baseline,
        "peak_bytes": peak,
    });
    if args.json {
        println!("{summary}");
    } else {
        let gib = |b: Option<u64>| {
            b.map_or("?".into(), |b| {
                format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
            })
        };
        println!(
            "{0}x{0} decode{1}: {seconds:.1} s, peak {2} (after building the model: {3})",
            args.size,
            if args.tiling { " (tiled)" } else { "" },
            gib(peak),
            gib(baseline)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    finish(run(&Args::parse()))
}
