//! Seconds per HiDream-I1 transformer step (one forward, batch 1) at a reduced width on the
//! CPU, in f32 (or `--dtype bf16|f16`), with seeded random weights (no download). The layout is HiDream-I1's (16
//! double + 32 single stream blocks, 4 routed experts top-2, head_dim 128, RoPE axes
//! [64, 32, 32], T5 and Llama widths 4096, 48 Llama layer picks); only the head count is
//! cut (`--heads`, 20 in the real model) so that it fits a small machine.
//! `scripts/bench/hidream_transformer_torch.py` runs diffusers with the same config and
//! protocol; ratio = its `step_s` / ours (above 1: ours is faster).
//!
//!     flock /tmp/bench.lock /tmp/ref/bin/python scripts/bench/hidream_transformer_torch.py
//!     flock /tmp/bench.lock cargo bench -p pipelines --bench hidream_transformer
//!
//! Flags: --heads N (2), --size PIXELS (256; the latent is size/8 square), --tokens N
//! (128 T5 and 128 Llama tokens), --warmup N (1), --steps N (3, median reported), --dtype
//! f32|bf16|f16 (f32; the torch script takes the same flag).

use candle_core::{DType, Device, Tensor};
use pipelines::bench::{RandomWeights, median, peak_rss_bytes};
use pipelines::hidream::transformer::{HiDreamTransformer, TransformerConfig, TransformerInputs};
use pipelines::layers::Kernels;
use pipelines::model_tensor::Tensor as MTensor;
use std::time::Instant;

struct Args {
    dtype: DType,
    heads: usize,
    size: usize,
    tokens: usize,
    warmup: usize,
    steps: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        dtype: DType::F32,
        heads: 2,
        size: 256,
        tokens: 128,
        warmup: 1,
        steps: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--heads" => &mut args.heads,
            "--size" => &mut args.size,
            "--tokens" => &mut args.tokens,
            "--warmup" => &mut args.warmup,
            "--steps" => &mut args.steps,
            // cargo bench passes --bench to harness-less benches.
            "--bench" => continue,
            "--dtype" => {
                args.dtype = match it.next().as_deref() {
                    Some("f32") => DType::F32,
                    Some("bf16") => DType::BF16,
                    Some("f16") => DType::F16,
                    other => return Err(format!("--dtype {other:?}: f32, bf16 or f16")),
                };
                continue;
            }
            other => return Err(format!("unknown flag {other}")),
        };
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        *slot = value
            .parse()
            .map_err(|e| format!("{flag} {value:?}: {e}"))?;
    }
    if !args.size.is_multiple_of(16) || args.size == 0 || args.steps == 0 {
        return Err("--size must be a positive multiple of 16 and --steps positive".into());
    }
    Ok(args)
}

/// HiDream-I1's transformer config with `heads` attention heads.
fn config(heads: usize) -> serde_json::Result<TransformerConfig> {
    let llama_layers: Vec<usize> = (0..32).chain(std::iter::repeat_n(31, 16)).collect();
    serde_json::from_value(serde_json::json!({
        "patch_size": 2, "in_channels": 16, "out_channels": 16,
        "num_layers": 16, "num_single_layers": 32,
        "attention_head_dim": 128, "num_attention_heads": heads,
        "caption_channels": [4096, 4096], "text_emb_dim": 2048,
        "num_routed_experts": 4, "num_activated_experts": 2,
        "axes_dims_rope": [64, 32, 32], "max_resolution": [128, 128],
        "llama_layers": llama_layers,
    }))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args().map_err(|e| {
        eprintln!("hidream_transformer bench: {e}");
        std::process::exit(2)
    })?;
    let device = Device::Cpu;
    let cfg = config(args.heads)?;
    let vb = RandomWeights { seed: 0 }.var_builder(args.dtype, &device);
    let model = HiDreamTransformer::new(cfg.clone(), vb.into(), Kernels::Fused)?;
    let latent = args.size / 8;
    let randn = |shape: &[usize]| -> candle_core::Result<MTensor> {
        Ok(Tensor::randn(0f32, 1.0, shape, &device)?.into())
    };
    let latents = randn(&[1, cfg.in_channels, latent, latent])?;
    let timesteps = Tensor::new(&[500f32], &device)?;
    let t5 = randn(&[1, args.tokens, 4096])?;
    let llama = randn(&[32, 1, args.tokens, 4096])?;
    let pooled = randn(&[1, 2048])?;
    let inputs = TransformerInputs {
        latents: &latents,
        timesteps: &timesteps,
        t5: &t5,
        llama: &llama,
        pooled: &pooled,
    };
    let mut times = Vec::new();
    for step in 0..args.warmup + args.steps {
        let start = Instant::now();
        let out = model.forward(&inputs)?;
        out.into_host()?.flatten_all()?.sum(0)?.to_scalar::<f32>()?;
        if step >= args.warmup {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    let report = serde_json::json!({
        "implementation": "pipelines (candle, ops-npu kernels)",
        "heads": args.heads, "size": args.size, "tokens": args.tokens,
        "dtype": args.dtype.as_str(),
        "step_s": median(&times), "steps_s": times,
        "peak_rss_mib": peak_rss_bytes().map(|b| b / (1 << 20)),
    });
    println!("{report}");
    Ok(())
}
