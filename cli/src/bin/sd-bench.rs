//! `sd-bench`: seconds per UNet step and peak memory of the full SD 2.1-base UNet with
//! seeded random weights (no download), for comparison with diffusers on the same machine
//! (scripts/bench/sd_unet_torch.py prints the same JSON).

use candle_core::{DType, Device, Tensor};
use clap::Parser;
use cli::device_choice::{DeviceFlag, choose};
use cli::exit::{Failure, bad, failed, finish};
use cli::values;
use pipelines::bench::{RandomWeights, median, peak_rss_bytes};
use pipelines::host_memory;
use pipelines::layers::Kernels;
use pipelines::model_tensor::ModelDevice;
use pipelines::sd::accel::Accelerations;
use pipelines::sd::config::UNetConfig;
use pipelines::sd::npu_step::measure_unet_step;
use pipelines::sd::sd21_base::sd21_base_unet_config;
use pipelines::sd::unet::UNet2DConditionModel;
use std::process::ExitCode;
use std::time::Instant;

const AFTER_HELP: &str = "\
What it measures: one UNet step is one UNet2DConditionModel forward on a [batch, 4,
size/8, size/8] latent with a [batch, 77, 1024] text context (batch 2 = one guided step:
uncond + cond). The model is the real SD 2.1-base UNet (865M parameters, 3.5 GB at f32)
with seeded random weights at torch's default-init scale. peak_bytes is the process's
peak RSS (VmHWM), weights included. On a GPU (--device cuda[:N], a build with the `cuda`
feature) each step is timed to the device's completion, and gpu_used_bytes is the device
memory in use after the timed rounds (total - free, all processes), a lower bound on
the peak: candle frees buffers when they drop.

On an NPU (--device npu[:N], --runs baseline) it reports, for one step after --warmup,
what the runtime counts rather than times: aclnn launches, host synchronisations, bytes
copied each way, the weights resident, and the caching allocator's high-water (peak
reserved) against its lower bound (peak allocated: weights plus the largest set of live
tensors). On the test double, FAKE_ASCEND_SKIP_MATH=1 skips its maths so the full model
can be counted (docs/npu-pipelines.md).

Runs: each name in --runs is one way of stepping the UNet, timed on the same model:
  baseline        plain forward
  tome_R          Token Merging at ratio R (tomesd semantics, top-left destinations)
  deepcache_N     DeepCache, full UNet every N steps, branch 0 (deepcache_N_B: branch B)
  a+b             both, e.g. tome_0.5+deepcache_3
The default times baseline, tome_0.5 and deepcache_3, the issue's three figures.

Rounds: the runs are interleaved, because a shared machine's speed drifts by 10-20% over
minutes and runs timed one after another would compare different machines. One round
times each run once, in alternating order: one step of a plain or ToMe run, one whole
cache cycle (a fresh generation: one full step and N-1 shallow ones) of a DeepCache run,
whose per-step figure is the cycle's mean. --warmup untimed rounds come first, then
--steps timed rounds. unet_step_s is each run's median over the timed rounds; speedup
(with a baseline run) is the median of the per-round ratios baseline / run, which the
drift between rounds does not enter.

Compare with diffusers on the same machine (no other benchmark running):
  flock /tmp/bench.lock cargo run --release -p cli --bin sd-bench -- --json
  flock /tmp/bench.lock python scripts/bench/sd_unet_torch.py --json
ratio = torch unet_step_s.baseline / ours (above 1 means we are faster).

Exit status: 0 measured; 2 bad flag value; 1 a failure while running.";

#[derive(Parser, Debug)]
#[command(
    name = "sd-bench",
    version,
    about = "Time SD 2.1-base UNet steps on CPU or a CUDA GPU, count them on an NPU (random weights)",
    after_help = AFTER_HELP
)]
struct Args {
    /// Timed rounds (each run's median is reported; see "Rounds" below).
    #[arg(long, default_value_t = 3, value_name = "N")]
    steps: usize,
    /// Untimed rounds first (allocator and page warm-up).
    #[arg(long, default_value_t = 1, value_name = "N")]
    warmup: usize,
    /// Image side in pixels (a multiple of 64, so every UNet level divides evenly).
    #[arg(long, default_value_t = 512)]
    size: usize,
    /// UNet batch: 2 is one classifier-free-guided image.
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// fused (ops-npu kernels, im2col+GEMM conv) or naive (plain candle layers).
    #[arg(long, default_value = "fused", value_parser = values::kernels())]
    attention: Kernels,
    /// Weights and compute.
    #[arg(long, default_value = "f32", value_parser = values::dtype())]
    dtype: DType,
    /// Comma-separated runs to time (see below).
    #[arg(
        long,
        default_value = "baseline,tome_0.5,deepcache_3",
        value_delimiter = ','
    )]
    runs: Vec<String>,
    /// cpu, cuda[:N] in a build with the `cuda` feature, or npu[:N] (counts, not times).
    #[arg(long, default_value = "cpu")]
    device: DeviceFlag,
    /// Seed of the random weights and inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// keep-freed (what `sd` does: glibc keeps freed buffers for reuse, see
    /// pipelines::host_memory) or default (glibc's defaults, to measure the difference).
    #[arg(long, default_value = "keep-freed", value_parser = ["keep-freed", "default"])]
    allocator: String,
}

/// The runs --runs names, once every flag is checked: a typo costs nothing, not a 3.5 GB
/// model build.
fn checked_runs(args: &Args, config: &UNetConfig) -> Result<Vec<(String, Accelerations)>, Failure> {
    if args.steps == 0 {
        return Err(bad("--steps must be at least 1"));
    }
    if args.batch == 0 {
        return Err(bad("--batch must be at least 1"));
    }
    if args.size == 0 || !args.size.is_multiple_of(64) {
        return Err(bad(format!(
            "--size {} is not a positive multiple of 64",
            args.size
        )));
    }
    let runs = args
        .runs
        .iter()
        .map(|name| {
            Accelerations::from_name(name)
                .map(|accel| (name.clone(), accel))
                .map_err(|e| bad(format!("--runs: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (_, accel) in &runs {
        if let Some(deepcache) = &accel.deepcache {
            deepcache
                .check_branch(config)
                .map_err(|e| bad(format!("--runs: {e}")))?;
        }
    }
    Ok(runs)
}

/// The device --device names, through the same choice (and refusals) as `sd`; the dtype
/// stays --dtype's, which is part of what is measured.
fn bench_device(flag: &DeviceFlag) -> Result<device::Device, Failure> {
    if flag == &DeviceFlag::Auto {
        return Err(bad(
            "--device auto: name the device to measure (cpu, cuda[:N] or npu[:N])",
        ));
    }
    // Only a GPU needs the drivers probed; the CPU is always there.
    let on_cpu = matches!(flag, DeviceFlag::Named(text) if text.eq_ignore_ascii_case("cpu"));
    let choice = choose(flag, None, None, &device::ProcessEnv, || {
        if on_cpu {
            device::Discovery::run(&device::DiscoveryConfig::cpu_only())
        } else {
            device::Discovery::from_env(&device::ProcessEnv)
        }
    })?;
    Ok(choice.device)
}

/// The UNet's seeded inputs on `device`: latents [batch, 4, size/8, size/8] and a text
/// context [batch, 77, 1024], in --dtype, drawn as torch.randn would.
fn unet_inputs(args: &Args, device: &Device) -> Result<(Tensor, Tensor), Failure> {
    let latent = args.size / 8;
    let mut rng = device::TorchRng::new(args.seed);
    let mut normal = |shape: &[usize]| {
        let data = rng.randn_f32(shape.iter().product());
        Tensor::from_vec(data, shape, device)
            .and_then(|t| t.to_dtype(args.dtype))
            .map_err(Failure::from)
    };
    Ok((
        normal(&[args.batch, 4, latent, latent])?,
        normal(&[args.batch, 77, 1024])?,
    ))
}

/// Device memory in use now (total - free), where the device reports it.
fn gpu_used_bytes(id: device::Device) -> Option<u64> {
    if !matches!(id, device::Device::Cuda(_)) {
        return None;
    }
    let discovery = device::Discovery::from_env(&device::ProcessEnv);
    discovery
        .memory(id)
        .map(|(free, total)| total.saturating_sub(free))
}

fn run(args: &Args, policy: host_memory::AllocatorPolicy) -> Result<(), Failure> {
    let config = sd21_base_unet_config().map_err(|e| failed(e.to_string()))?;
    let runs = checked_runs(args, &config)?;
    let device_id = bench_device(&args.device)?;
    if let device::Device::Npu(_) = device_id {
        return run_npu(args, &config, &runs, device_id);
    }
    let device = values::candle_device(device_id)?;
    let loading = Instant::now();
    let vb = pipelines::model_tensor::VarBuilder::new(
        RandomWeights { seed: args.seed }.var_builder(args.dtype, &device),
        device.clone().into(),
    );
    let unet = UNet2DConditionModel::with_kernels(vb, &config, args.attention)
        .map_err(|e| failed(e.to_string()))?;
    let load_s = loading.elapsed().as_secs_f64();
    if !args.json {
        eprintln!("built the SD 2.1-base UNet with random weights in {load_s:.1} s");
    }
    let (sample, context) = unet_inputs(args, &device)?;
    let (sample, context) = (sample.into(), context.into());

    let mut times: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for round in 0..args.warmup + args.steps {
        let timed = round >= args.warmup;
        // Alternate the order so no run always follows the same neighbour.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..runs.len()).collect()
        } else {
            (0..runs.len()).rev().collect()
        };
        for r in order {
            let (name, accel) = &runs[r];
            // A DeepCache run alternates one full step with interval-1 shallow ones, so its
            // round is one whole cycle of a fresh generation.
            let cycle = accel.deepcache.as_ref().map_or(1, |d| d.interval);
            let mut hooks = accel.hooks(None);
            let mut total = 0.0;
            for i in 0..cycle {
                hooks.begin_step(i);
                // Different timesteps as in a real schedule; the cost does not depend on it.
                let t = 981.0 - 20.0 * i as f64;
                let start = Instant::now();
                let out = unet
                    .forward_with(&sample, t, &context, &mut hooks)
                    .map_err(|e| failed(e.to_string()))?;
                // A GPU returns before the work is done; the CPU's synchronize is a no-op.
                device.synchronize().map_err(|e| failed(e.to_string()))?;
                drop(out);
                let secs = start.elapsed().as_secs_f64();
                total += secs;
                if !args.json {
                    let kind = if timed { "timed" } else { "warm-up" };
                    eprintln!(
                        "round {} ({kind}) {name} step {}: {secs:.2} s",
                        round + 1,
                        i + 1
                    );
                }
            }
            if timed {
                times[r].push(total / cycle as f64);
            }
        }
    }
    let results: Vec<(&str, f64)> = runs
        .iter()
        .zip(&times)
        .map(|((name, _), t)| (name.as_str(), median(t).unwrap_or(f64::NAN)))
        .collect();
    let baseline = runs.iter().position(|(n, _)| n == "baseline");
    let speedups: Vec<(&str, f64)> = match baseline {
        Some(b) => runs
            .iter()
            .zip(&times)
            .map(|((name, _), t)| {
                let ratios: Vec<f64> = times[b]
                    .iter()
                    .zip(t)
                    .map(|(base, run)| base / run)
                    .collect();
                (name.as_str(), median(&ratios).unwrap_or(f64::NAN))
            })
            .collect(),
        None => Vec::new(),
    };
    let peak = peak_rss_bytes();
    let gpu_used = gpu_used_bytes(device_id);
    if args.json {
        let steps: serde_json::Map<String, serde_json::Value> = results
            .iter()
            .map(|(name, s)| (name.to_string(), serde_json::json!(s)))
            .collect();
        let out = serde_json::json!({
            "unet_step_s": steps,
            "speedup": speedups.iter().map(|(n, x)| (n.to_string(), serde_json::json!(x))).collect::<serde_json::Map<_, _>>(),
            "peak_bytes": peak,
            "device": device_id.to_string(),
            "gpu_used_bytes": gpu_used,
            "dtype": args.dtype.as_str(),
            "batch": args.batch,
            "size": args.size,
            "attention": args.attention.as_str(),
            "steps": args.steps,
            "load_s": load_s,
            "impl": "candle",
            "allocator": policy.as_str(),
        });
        println!("{out}");
    } else {
        println!(
            "SD 2.1-base UNet, {0}x{0}, batch {1}, {2}, {3} kernels, {4} ({5} timed rounds)",
            args.size,
            args.batch,
            args.dtype.as_str(),
            args.attention,
            device_id,
            args.steps
        );
        println!(
            "{:<24} {:>14} {:>18}",
            "run", "s / UNet step", "speedup vs baseline"
        );
        for (name, s) in &results {
            let speedup = speedups
                .iter()
                .find(|(n, _)| n == name)
                .map_or(String::from("-"), |(_, x)| format!("{x:.2}x"));
            println!("{name:<24} {s:>14.3} {speedup:>18}");
        }
        match peak {
            Some(b) => println!("peak RSS {:.2} GB", b as f64 / 1e9),
            None => println!("peak RSS unavailable on this platform"),
        }
        if let Some(b) = gpu_used {
            println!("{device_id} memory in use {:.2} GB", b as f64 / 1e9);
        }
        println!("allocator: {}", policy.as_str());
    }
    Ok(())
}

/// On an NPU: the runtime's figures for one baseline UNet step (launches, host
/// synchronisations, bytes each way, the allocator's high-water against its lower bound),
/// after --warmup untimed steps. See pipelines::sd::npu_step.
fn run_npu(
    args: &Args,
    config: &UNetConfig,
    runs: &[(String, Accelerations)],
    device_id: device::Device,
) -> Result<(), Failure> {
    if runs.iter().any(|(name, _)| name != "baseline") {
        return Err(bad(
            "--device npu measures the baseline step only: pass --runs baseline",
        ));
    }
    let model_device = values::model_device(device_id, args.dtype)?;
    let ModelDevice::Npu(npu) = &model_device else {
        return Err(failed("the NPU did not open as an NPU"));
    };
    let host = Device::Cpu;
    let vb = pipelines::model_tensor::VarBuilder::new(
        RandomWeights { seed: args.seed }.var_builder(args.dtype, &host),
        model_device.clone(),
    );
    let unet = UNet2DConditionModel::with_kernels(vb, config, args.attention)
        .map_err(|e| failed(e.to_string()))?;
    let (sample, context) = unet_inputs(args, &host)?;
    let context = model_device.place(&context).map_err(Failure::from)?;
    let mut hooks = Accelerations::default().hooks(None);
    let mut figures = None;
    for _ in 0..args.warmup + 1 {
        figures = Some(
            measure_unet_step(&unet, (&sample, 981.0), &context, &mut hooks)
                .map_err(|e| failed(e.to_string()))?,
        );
    }
    let f = figures.ok_or_else(|| failed("no step ran"))?;
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    if args.json {
        let out = serde_json::json!({
            "device": device_id.to_string(),
            "soc": npu.runtime().soc(),
            "dtype": args.dtype.as_str(),
            "batch": args.batch,
            "size": args.size,
            "per_unet_step": f,
            "high_water_ratio": f.high_water_ratio(),
            "impl": "ops-npu aclnn",
        });
        println!("{out}");
    } else {
        println!(
            "SD 2.1-base UNet on {device_id} ({}), {size}x{size}, batch {}, {}: one step",
            npu.runtime().soc(),
            args.batch,
            args.dtype.as_str(),
            size = args.size,
        );
        println!("aclnn launches          {}", f.launches);
        println!("host synchronisations   {}", f.synchronisations);
        println!(
            "host -> device          {:.3} MiB (the latents and the timestep table)",
            mib(f.upload_bytes)
        );
        println!(
            "device -> host          {:.3} MiB (the prediction)",
            mib(f.download_bytes)
        );
        println!("resident (weights)      {:.1} MiB", mib(f.resident_bytes));
        println!(
            "peak allocated          {:.1} MiB (lower bound: weights + largest live set)",
            mib(f.peak_allocated_bytes)
        );
        println!(
            "peak reserved           {:.1} MiB (high-water), {:.3}x the lower bound",
            mib(f.peak_reserved_bytes),
            f.high_water_ratio()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let policy = if args.allocator == "keep-freed" {
        host_memory::keep_freed_memory()
    } else {
        host_memory::AllocatorPolicy::Default
    };
    finish(run(&args, policy))
}
