"""Reference speedups of Token Merging (tomesd) and DeepCache on torch's CPU, to compare
with this project's own figures measured on the same machine.

diffusers' UNet2DConditionModel with the real SD 2.1-base config and random weights (no
download), f32, classifier-free-guidance batch (2 by default), 512x512 (64x64 latents):

- tomesd 0.1.3, apply_patch(ratio=0.5, use_rand=False): median seconds per UNet call
  against the unpatched UNet, same inputs;
- DeepCache 0.1.1, DeepCacheSDHelper(cache_interval=3, cache_branch_id=0): seconds for
  a 6-step DDIM denoising loop (UNet calls, guidance, scheduler steps; no text encoder
  or VAE, unlike a full pipeline run) against the same loop without it.

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


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512, help="image size in pixels (latent = size / 8)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--runs", type=int, default=2, help="timed runs after one warm-up (median)")
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
        base = timed(step, args.runs)
        tomesd.apply_patch(unet, ratio=0.5, use_rand=False)
        tome = timed(step, args.runs)
        tomesd.remove_patch(unet)
        result["unet_step_s"] = {"baseline": base, "tome_0.5": tome}
        result["tome_0.5_speedup"] = base / tome

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

        loop_base = timed(denoise, 1)
        helper = DeepCacheSDHelper(pipe=types.SimpleNamespace(unet=unet, scheduler=scheduler))
        helper.set_params(cache_interval=3, cache_branch_id=0)

        def cached():
            helper.enable()
            try:
                return denoise()
            finally:
                helper.disable()

        loop_cached = timed(cached, 1)
        result["denoise_loop_s"] = {"steps": args.steps, "baseline": loop_base, "deepcache_3": loop_cached}
        result["deepcache_3_speedup"] = loop_base / loop_cached
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
