"""How far the HiDream-E1 reference editing pipeline, run with bf16 and f16 models, lands from its
own f32 result on the E1-Full cases of pipelines/tests/fixtures/hidream/edit (`e1full_refine`:
LoRA-adapted editor, three-way CFG with clip_cfg_norm, refine stage; `e1full_plain`: the same
editor without clip_cfg_norm or refine; VAE encode and decode in both), in the units
pipelines/tests/hidream_edit.rs uses for ours: the dtype's rounding step (2^-8 bf16, 2^-11 f16)
times the f32 reference's largest magnitude.

It writes nothing: the numbers calibrate the reduced-precision bounds quoted in that test. Like
the fixture script it imports the HiDream-E1 project's pipeline (E1.1 revision ddc4d29) from a
folder outside this repository:

    /tmp/ref/bin/pip install -r scripts/fixtures/requirements.txt
    /tmp/ref/bin/python scripts/measure/hidream_edit_reduced_precision.py /tmp/hd-edit-ref/e11
"""

import argparse
import importlib
import json
import pathlib
import sys

import peft
import torch
from PIL import Image
from safetensors.torch import load_file

from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, HiDreamImageTransformer2DModel

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "pipelines/tests/fixtures/hidream/edit"
VAE_DIR = ROOT / "pipelines/tests/fixtures/hidream/vae"
UNITS = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}
# The fixture script's E1-Full adapter (hidream_edit_reference.py).
LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out", "to_k_t", "to_q_t", "to_v_t", "to_out_t", "w1", "w2", "w3",
                "final_layer.linear"]
PROMPTS = {
    "full": "Editing Instruction: make it snow. Target Image Description: a snowy street",
    "target": "a snowy street",
    "negative": "low resolution, blur",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference_dir", help="folder with pipeline_hidream_image_editing.py")
    args = parser.parse_args()
    sys.path.insert(0, str(pathlib.Path(args.reference_dir).resolve()))
    editing = importlib.import_module("pipeline_hidream_image_editing")

    reference = load_file(str(FIXTURE / "reference.safetensors"))
    meta = json.loads((FIXTURE / "reference.json").read_text())
    lora = meta["lora"]
    checkpoint = load_file(str(FIXTURE / "lora.safetensors"))
    for (label, dtype), step in [((label, dtype), step) for label in ["e1full_refine", "e1full_plain"]
                                 for dtype, step in UNITS.items()]:
        case = meta["cases"][label]
        want = reference[f"{label}.latents"]
        model = HiDreamImageTransformer2DModel.from_pretrained(str(FIXTURE / "transformer"), torch_dtype=dtype).eval()
        model.add_adapter(peft.LoraConfig(r=lora["rank"], lora_alpha=lora["alpha"], lora_dropout=0.0,
                                          target_modules=LORA_TARGETS))
        info = model.load_state_dict({k: v.to(dtype) for k, v in checkpoint.items()}, strict=False)
        assert not info.unexpected_keys, info.unexpected_keys
        model.max_seq = case["max_seq"]
        vae = AutoencoderKL.from_pretrained(str(VAE_DIR), torch_dtype=dtype).eval()

        def prompt(label):
            return {part: reference[f"prompt.{label}.{part}"].to(dtype) for part in ["t5", "llama", "pooled"]}

        table = {text: prompt(label) for label, text in PROMPTS.items()}

        def lookup(prompt=None, negative_prompt=None, **_):
            p = table[prompt[0] if isinstance(prompt, list) else prompt]
            n = table[negative_prompt[0] if isinstance(negative_prompt, list) else negative_prompt]
            return p["t5"], n["t5"], p["llama"], n["llama"], p["pooled"], n["pooled"]

        pipe = editing.HiDreamImageEditingPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(str(FIXTURE)),
            vae=vae,
            text_encoder=None, tokenizer=None, text_encoder_2=None, tokenizer_2=None,
            text_encoder_3=None, tokenizer_3=None, text_encoder_4=None, tokenizer_4=None,
            transformer=model,
        )
        pipe.encode_prompt = lookup
        pipe.set_progress_bar_config(disable=True)
        kept = {"x_embedder.proj.weight": checkpoint["x_embedder.proj.weight"].to(dtype)}
        captured = {}

        def keep(pipeline, i, timestep, kwargs):
            captured["latents"] = kwargs["latents"].float().clone()
            return {}

        with torch.no_grad():
            pipe(
                prompt=PROMPTS["full"],
                negative_prompt=PROMPTS["negative"],
                image=Image.open(FIXTURE / f"{label}.png"),
                guidance_scale=case["guidance_scale"],
                image_guidance_scale=case["image_guidance_scale"],
                num_inference_steps=case["steps"],
                latents=reference[f"{label}.initial_latents"].to(dtype),
                output_type="pt",
                callback_on_step_end=keep,
                refine_strength=case["refine_strength"],
                reload_keys={"editing": kept, "refine": kept} if case["refine_strength"] > 0 else None,
                clip_cfg_norm=case["clip_cfg_norm"],
            )
        unit = step * want.abs().max().item()
        diff = (captured["latents"] - want).abs()
        print(f"{label:13} {str(dtype):15} latents: largest {diff.max().item() / unit:6.2f} units, "
              f"mean {diff.mean().item() / unit:.3f} units")


if __name__ == "__main__":
    main()
