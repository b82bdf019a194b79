"""The torch side of `sd-bench`: seconds per UNet step and peak RSS of diffusers'
UNet2DConditionModel with the SD 2.1-base config and random weights (torch's default
initialisation, seeded), on torch CPU at its default thread count or on a CUDA GPU
(--device cuda[:N]; each step timed to the GPU's completion, and peak_gpu_bytes is torch's
max_memory_allocated), under inference_mode.
Same protocol as sd-bench: --warmup untimed steps, then the median of --steps timed steps;
one step is one forward on a [batch, 4, size/8, size/8] latent with a [batch, 77, 1024]
context. Prints the same JSON shape as `sd-bench --json`.

Needs torch and diffusers (scripts/fixtures/requirements.txt); run it from a venv outside
the repo, alone on the machine, e.g.

    flock /tmp/bench.lock /tmp/ref/bin/python scripts/bench/sd_unet_torch.py --json
    flock /tmp/bench.lock target/release/sd-bench --json

ratio = this script's unet_step_s.baseline / sd-bench's (above 1: candle is faster).
"""

import argparse
import json
import resource
import statistics
import sys
import time

import torch
from diffusers import UNet2DConditionModel

# stabilityai/stable-diffusion-2-1-base unet/config.json (the keys that shape the model).
SD21_BASE_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    down_block_types=(
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnDownBlock2D",
        "DownBlock2D",
    ),
    up_block_types=(
        "UpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
        "CrossAttnUpBlock2D",
    ),
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20),
    use_linear_projection=True,
    norm_num_groups=32,
    norm_eps=1e-5,
    flip_sin_to_cos=True,
    freq_shift=0,
)

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.steps < 1 or a.batch < 1 or a.size <= 0 or a.size % 64:
        p.error("--steps and --batch must be >= 1 and --size a positive multiple of 64")

    device = torch.device(a.device)
    on_gpu = device.type == "cuda"
    if on_gpu and not torch.cuda.is_available():
        p.error(f"--device {a.device}: torch sees no CUDA device")
    # The GPU returns before the work is done; only its completion ends a step.
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)

    torch.manual_seed(a.seed)
    start = time.perf_counter()
    unet = UNet2DConditionModel(**SD21_BASE_UNET).eval()
    unet = unet.to(device=device, dtype=DTYPES[a.dtype])
    load_s = time.perf_counter() - start
    latent = a.size // 8
    g = torch.Generator().manual_seed(a.seed)
    sample = torch.randn(a.batch, 4, latent, latent, generator=g).to(device, DTYPES[a.dtype])
    context = torch.randn(a.batch, 77, 1024, generator=g).to(device, DTYPES[a.dtype])
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)

    times = []
    with torch.inference_mode():
        for i in range(a.warmup + a.steps):
            t = torch.tensor(981.0 - 20.0 * i, device=device)
            sync()
            s = time.perf_counter()
            unet(sample, t, encoder_hidden_states=context)
            sync()
            secs = time.perf_counter() - s
            if i >= a.warmup:
                times.append(secs)
            if not a.json:
                kind = "warm-up" if i < a.warmup else "timed"
                print(f"baseline step {i + 1} ({kind}): {secs:.2f} s", file=sys.stderr)
    # ru_maxrss is in kilobytes on Linux.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {
        "unet_step_s": {"baseline": statistics.median(times)},
        "peak_bytes": peak,
        "device": a.device,
        "peak_gpu_bytes": torch.cuda.max_memory_allocated(device) if on_gpu else None,
        "dtype": a.dtype,
        "batch": a.batch,
        "size": a.size,
        "attention": "torch-sdpa",
        "steps": a.steps,
        "load_s": load_s,
        "impl": f"diffusers {__import__('diffusers').__version__} / torch {torch.__version__}",
        "threads": torch.get_num_threads(),
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(f"diffusers UNet, {a.size}x{a.size}, batch {a.batch}, {a.dtype}, {a.device}: "
              f"{out['unet_step_s']['baseline']:.3f} s / step, peak RSS {peak / 1e9:.2f} GB")


if __name__ == "__main__":
    main()
