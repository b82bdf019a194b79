"""Reference speedups of Token Merging (tomesd) and DeepCache on torch's CPU, to compare
with this project's own figures measured on the same machine.

diffusers' UNet2DConditionModel with the real SD 2.1-base config and random weights (no
download), f32, classifier-free-guidance batch (2 by default), 512x512 (64x64 latents):

- tomesd 0.1.3, apply_patch(ratio=0.5, use_rand=False): seconds per UNet call against
  the unpatched UNet, same inputs;
- DeepCache 0.1.1, DeepCacheSDHelper(cache_interval=3, cache_branch_id=0): seconds for
  a 6-step DDIM denoising loop (UNet calls, guidance, scheduler steps; no text encoder
  or VAE, unlike a full pipeline run) against the same loop without it.

Like sd-bench, the measurements are interleaved in rounds (a shared machine's speed drifts
by 10-20% over minutes): each round times a plain step, a ToMe step, a plain loop and a
DeepCache loop, in alternating order; the speedups are medians of the per-round ratios.

Prints one JSON object. Needs torch, diffusers, tomesd and DeepCache as pinned in
scripts/fixtures/requirements.txt; takes minutes and ~5 GB at 512 on a 2-core CPU, so
wrap it in `flock /tmp/bench.lock` on a shared machine:

    flock /tmp/bench.lock /tmp/ref/bin/python scripts/bench/sd_accel_torch.py
    /tmp/ref/bin/python scripts/bench/sd_accel_torch.py --size 128 --runs 1   # smoke run
"""

import argparse
import json
import statistics
import time
import types

import torch

import diffusers
import tomesd
from DeepCache import DeepCacheSDHelper
from diffusers import DDIMScheduler, UNet2DConditionModel

# stabilityai/stable-diffusion-2-1-base unet/config.json (architecture fields).
SD21_BASE_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    attention_head_dim=(5, 10, 20, 20),
    cross_attention_dim=1024,
    use_linear_projection=True,
    norm_num_groups=32,
    flip_sin_to_cos=True,
    freq_shift=0,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512, help="image size in pixels (latent = size / 8)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3, help="timed rounds after one warm-up round (medians)")
    ap.add_argument("--only", choices=["tome", "deepcache"], help="time one acceleration (and its baseline)")
    args = ap.parse_args()

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD21_BASE_UNET).eval()
    latent = args.size // 8
    g = torch.Generator().manual_seed(0)
    sample = torch.randn((args.batch, 4, latent, latent), generator=g)
    context = torch.randn((args.batch, 77, 1024), generator=g)
    t = torch.tensor(501)

    result = {
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "tomesd": "0.1.3", "DeepCache": "0.1.1"},
        "threads": torch.get_num_threads(),
        "size": args.size,
        "batch": args.batch,
    }
    with torch.inference_mode():
        step = lambda: unet(sample, t, encoder_hidden_states=context).sample

        def tome_step():
            tomesd.apply_patch(unet, ratio=0.5, use_rand=False)
            try:
                return step()
            finally:
                tomesd.remove_patch(unet)

        scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                  clip_sample=False, set_alpha_to_one=False, steps_offset=1)
        half = args.batch // 2 if args.batch > 1 else 1

        def denoise():
            scheduler.set_timesteps(args.steps)
            x = sample[:half].clone()
            for step_t in scheduler.timesteps:
                inp = torch.cat([x] * (args.batch // half))
                noise = unet(inp, step_t, encoder_hidden_states=context).sample
                if args.batch > 1:
                    uncond, cond = noise.chunk(2)
                    noise = uncond + 7.5 * (cond - uncond)
                x = scheduler.step(noise, step_t, x).prev_sample
            return x

        helper = DeepCacheSDHelper(pipe=types.SimpleNamespace(unet=unet, scheduler=scheduler))
        helper.set_params(cache_interval=3, cache_branch_id=0)

        def cached():
            helper.enable()
            try:
                return denoise()
            finally:
                helper.disable()

        work = {}
        if args.only in (None, "tome"):
            work.update({"baseline": step, "tome_0.5": tome_step})
        if args.only in (None, "deepcache"):
            work.update({"loop_baseline": denoise, "loop_deepcache_3": cached})
        times = {name: [] for name in work}
        for rnd in range(1 + args.runs):  # round 0 is the warm-up
            names = list(work) if rnd % 2 == 0 else list(reversed(work))
            for name in names:
                start = time.perf_counter()
                work[name]()
                if rnd > 0:
                    times[name].append(time.perf_counter() - start)

        def ratio(a, b):
            return statistics.median(x / y for x, y in zip(times[a], times[b]))

        if "tome_0.5" in work:
            result["unet_step_s"] = {"baseline": statistics.median(times["baseline"]),
                                     "tome_0.5": statistics.median(times["tome_0.5"])}
            result["tome_0.5_speedup"] = ratio("baseline", "tome_0.5")
        if "loop_deepcache_3" in work:
            result["denoise_loop_s"] = {"steps": args.steps,
                                        "baseline": statistics.median(times["loop_baseline"]),
                                        "deepcache_3": statistics.median(times["loop_deepcache_3"])}
            result["deepcache_3_speedup"] = ratio("loop_baseline", "loop_deepcache_3")
        result["rounds"] = args.runs
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
