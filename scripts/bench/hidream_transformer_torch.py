"""The torch side of the `hidream_transformer` bench: seconds per step (one forward, batch 1)
of diffusers' HiDreamImageTransformer2DModel with HiDream-I1's layout at a reduced head count,
random weights (torch's default initialisation, seeded), in --dtype (f32 by default; bf16, f16)
on torch CPU at its default thread count, under inference_mode. Same flags and protocol as the Rust bench: --warmup untimed steps,
then the median of --steps timed ones. Prints one JSON line.

Needs torch and diffusers (scripts/fixtures/requirements.txt); run it alone on the machine:

    flock /tmp/bench.lock /tmp/ref/bin/python scripts/bench/hidream_transformer_torch.py
    flock /tmp/bench.lock cargo bench -p pipelines --bench hidream_transformer

ratio = this script's step_s / the Rust bench's (above 1: the Rust side is faster).
"""

import argparse
import json
import resource
import statistics
import time

import torch
from diffusers import HiDreamImageTransformer2DModel


def config(heads: int) -> dict:
    return dict(
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=16,
        num_single_layers=32,
        attention_head_dim=128,
        num_attention_heads=heads,
        caption_channels=[4096, 4096],
        text_emb_dim=2048,
        num_routed_experts=4,
        num_activated_experts=2,
        axes_dims_rope=(64, 32, 32),
        max_resolution=(128, 128),
        llama_layers=list(range(32)) + [31] * 16,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32")
    args = parser.parse_args()
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[args.dtype]

    torch.manual_seed(0)
    model = HiDreamImageTransformer2DModel(**config(args.heads)).eval().to(dtype)
    latent = args.size // 8
    inputs = dict(
        hidden_states=torch.randn(1, 16, latent, latent).to(dtype),
        timesteps=torch.tensor([500.0]),
        encoder_hidden_states_t5=torch.randn(1, args.tokens, 4096).to(dtype),
        encoder_hidden_states_llama3=torch.randn(32, 1, args.tokens, 4096).to(dtype),
        pooled_embeds=torch.randn(1, 2048).to(dtype),
    )
    times = []
    with torch.inference_mode():
        for step in range(args.warmup + args.steps):
            start = time.perf_counter()
            model(**inputs, return_dict=False)
            if step >= args.warmup:
                times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "implementation": f"diffusers {__import__('diffusers').__version__} on torch {torch.__version__}",
                "heads": args.heads,
                "size": args.size,
                "tokens": args.tokens,
                "dtype": args.dtype,
                "step_s": statistics.median(times),
                "steps_s": times,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
