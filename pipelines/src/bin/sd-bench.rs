//! `sd-bench`: seconds per UNet step and peak memory of the full SD 2.1-base UNet with
//! seeded random weights (no download), for comparison with diffusers on the same machine
//! (scripts/bench/sd_unet_torch.py prints the same JSON).

use candle_core::{DType, Device, Tensor};
use clap::Parser;
use pipelines::bench::{RandomWeights, median, peak_rss_bytes, sd21_base_unet_config};
use pipelines::layers::Kernels;
use pipelines::sd::unet::UNet2DConditionModel;
use std::process::ExitCode;
use std::time::Instant;

const AFTER_HELP: &str = "\
What it measures: one UNet step is one UNet2DConditionModel forward on a [batch, 4,
size/8, size/8] latent with a [batch, 77, 1024] text context (batch 2 = one guided step:
uncond + cond). The model is the real SD 2.1-base UNet (865M parameters, 3.5 GB at f32)
with seeded random weights at torch's default-init scale. After --warmup untimed steps,
--steps steps are timed; the median is reported. peak_bytes is the process's peak RSS
(VmHWM), weights included.

Runs: each name in --runs is one way of stepping the UNet, timed on the same model:
  baseline   plain forward
(Token merging and DeepCache variants are added to this list by their own work.)

Compare with diffusers on the same machine (no other benchmark running):
  flock /tmp/bench.lock cargo run --release -p pipelines --bin sd-bench -- --json
  flock /tmp/bench.lock python scripts/bench/sd_unet_torch.py --json
ratio = torch unet_step_s.baseline / ours (above 1 means we are faster).

Exit status: 0 measured; 2 bad flag value; 1 a failure while running.";

#[derive(Parser, Debug)]
#[command(
    name = "sd-bench",
    version,
    about = "Time SD 2.1-base UNet steps on CPU (random weights)",
    after_help = AFTER_HELP
)]
struct Args {
    /// Timed UNet steps (the median is reported).
    #[arg(long, default_value_t = 3, value_name = "N")]
    steps: usize,
    /// Untimed steps first (allocator and page warm-up).
    #[arg(long, default_value_t = 1, value_name = "N")]
    warmup: usize,
    /// Image side in pixels (a multiple of 64, so every UNet level divides evenly).
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// UNet batch: 2 is one classifier-free-guided image.
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// fused (ops-npu kernels, im2col+GEMM conv) or naive (plain candle layers).
    #[arg(long, default_value = "fused")]
    attention: String,
    /// f32, f16 or bf16 (weights and compute).
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Comma-separated runs to time (see below).
    #[arg(long, default_value = "baseline", value_delimiter = ',')]
    runs: Vec<String>,
    /// Seed of the random weights and inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// One UNet step on the shared model: sample, timestep, text context.
type Step =
    Box<dyn FnMut(&UNet2DConditionModel, &Tensor, f64, &Tensor) -> candle_core::Result<Tensor>>;

/// One named way of running UNet steps. `start` is called once before a run's steps, so a
/// variant can keep state from step to step (DeepCache's cached deep features, a ToMe
/// merge plan).
struct Run {
    name: &'static str,
    start: fn() -> Step,
}

fn baseline() -> Step {
    Box::new(|unet, sample, t, context| unet.forward(sample, t, context))
}

const RUNS: &[Run] = &[Run {
    name: "baseline",
    start: baseline,
}];

struct Failure(u8, String);

fn bad(message: String) -> Failure {
    Failure(2, message)
}

fn failed(e: candle_core::Error) -> Failure {
    Failure(1, e.to_string())
}

struct Settings {
    dtype: DType,
    kernels: Kernels,
    runs: Vec<&'static Run>,
}

fn check(args: &Args) -> Result<Settings, Failure> {
    if args.steps == 0 {
        return Err(bad("--steps must be at least 1".into()));
    }
    if args.batch == 0 {
        return Err(bad("--batch must be at least 1".into()));
    }
    if args.size == 0 || !args.size.is_multiple_of(64) {
        return Err(bad(format!(
            "--size {} is not a positive multiple of 64",
            args.size
        )));
    }
    let dtype = match args.dtype.as_str() {
        "f32" => DType::F32,
        "f16" => DType::F16,
        "bf16" => DType::BF16,
        other => return Err(bad(format!("--dtype {other:?}: expected f32, f16 or bf16"))),
    };
    let kernels: Kernels = args
        .attention
        .parse()
        .map_err(|e| bad(format!("--attention: {e}")))?;
    let runs = args
        .runs
        .iter()
        .map(|name| {
            RUNS.iter().find(|r| r.name == name).ok_or_else(|| {
                let known: Vec<&str> = RUNS.iter().map(|r| r.name).collect();
                bad(format!(
                    "--runs: unknown run {name:?} (known: {})",
                    known.join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Settings {
        dtype,
        kernels,
        runs,
    })
}

fn run(args: &Args) -> Result<(), Failure> {
    let settings = check(args)?;
    let device = Device::Cpu;
    let config = sd21_base_unet_config().map_err(|e| Failure(1, e.to_string()))?;
    let loading = Instant::now();
    let vb = RandomWeights { seed: args.seed }.var_builder(settings.dtype, &device);
    let unet = UNet2DConditionModel::with_kernels(vb, &config, settings.kernels).map_err(failed)?;
    let load_s = loading.elapsed().as_secs_f64();
    if !args.json {
        eprintln!("built the SD 2.1-base UNet with random weights in {load_s:.1} s");
    }
    let latent = args.size / 8;
    let mut rng = device::TorchRng::new(args.seed);
    let mut normal = |shape: &[usize]| {
        let data = rng.randn_f32(shape.iter().product());
        Tensor::from_vec(data, shape, &device)
            .and_then(|t| t.to_dtype(settings.dtype))
            .map_err(failed)
    };
    let sample = normal(&[args.batch, 4, latent, latent])?;
    let context = normal(&[args.batch, 77, 1024])?;

    let mut results = Vec::new();
    for r in &settings.runs {
        let mut times = Vec::with_capacity(args.steps);
        let mut step = (r.start)();
        for i in 0..args.warmup + args.steps {
            // Different timesteps as in a real schedule; the cost does not depend on it.
            let t = 981.0 - 20.0 * i as f64;
            let start = Instant::now();
            let out = step(&unet, &sample, t, &context).map_err(failed)?;
            drop(out);
            let secs = start.elapsed().as_secs_f64();
            if i >= args.warmup {
                times.push(secs);
            }
            if !args.json {
                let kind = if i < args.warmup { "warm-up" } else { "timed" };
                eprintln!("{} step {} ({kind}): {secs:.2} s", r.name, i + 1);
            }
        }
        results.push((r.name, median(&times).unwrap_or(f64::NAN)));
    }
    let peak = peak_rss_bytes();
    if args.json {
        let steps: serde_json::Map<String, serde_json::Value> = results
            .iter()
            .map(|(name, s)| (name.to_string(), serde_json::json!(s)))
            .collect();
        let out = serde_json::json!({
            "unet_step_s": steps,
            "peak_bytes": peak,
            "device": "cpu",
            "dtype": args.dtype,
            "batch": args.batch,
            "size": args.size,
            "attention": settings.kernels.as_str(),
            "steps": args.steps,
            "load_s": load_s,
            "impl": "candle",
        });
        println!("{out}");
    } else {
        println!(
            "SD 2.1-base UNet, {0}x{0}, batch {1}, {2}, {3} kernels, cpu ({4} timed steps)",
            args.size, args.batch, args.dtype, settings.kernels, args.steps
        );
        println!("{:<12} {:>14}", "run", "s / UNet step");
        for (name, s) in &results {
            println!("{name:<12} {s:>14.3}");
        }
        match peak {
            Some(b) => println!("peak RSS {:.2} GB", b as f64 / 1e9),
            None => println!("peak RSS unavailable on this platform"),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
