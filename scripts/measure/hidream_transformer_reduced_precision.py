"""How far diffusers' own bf16 and f16 runs of the tiny HiDream transformer fixture land from its
f32 output, in the units pipelines/tests/hidream_transformer.rs uses for ours: the dtype's
rounding step (2^-8 bf16, 2^-11 f16) times the f32 output's largest magnitude.

It writes nothing: the numbers calibrate the reduced-precision bounds quoted in that test.

    /tmp/ref/bin/pip install -r scripts/fixtures/requirements.txt
    /tmp/ref/bin/python scripts/measure/hidream_transformer_reduced_precision.py
"""

import pathlib

import torch
from safetensors.torch import load_file

from diffusers import HiDreamImageTransformer2DModel

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "pipelines/tests/fixtures/hidream/transformer"
UNITS = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}


def main():
    reference = load_file(str(FIXTURE / "reference.safetensors"))
    for dtype, step in UNITS.items():
        model = HiDreamImageTransformer2DModel.from_pretrained(str(FIXTURE), torch_dtype=dtype).eval()
        for case in ["square", "wide", "tall"]:
            def get(name):
                return reference[f"{case}.{name}"]

            with torch.no_grad():
                out = model(
                    hidden_states=get("hidden_states").to(dtype),
                    timesteps=get("timesteps"),
                    encoder_hidden_states_t5=get("encoder_hidden_states_t5").to(dtype),
                    encoder_hidden_states_llama3=get("encoder_hidden_states_llama3").to(dtype),
                    pooled_embeds=get("pooled_embeds").to(dtype),
                    return_dict=False,
                )[0].float()
            want = get("output")
            unit = step * want.abs().max().item()
            diff = (out - want).abs()
            print(
                f"{case:6} {str(dtype):15} largest {diff.max().item() / unit:6.2f} units, "
                f"mean {diff.mean().item() / unit:.3f} units"
            )


if __name__ == "__main__":
    main()
