"""Edit one image with HiDream-E1 from the command line.

Loads Llama-3.1-8B-Instruct as the fourth text encoder, merges the E1 LoRA into the
HiDream-I1 transformer and writes the edited image next to the input. Weights are cached
under ~/.cache/huggingface; nothing here is specific to cuda builds of diffusers.
"""

import argparse
import logging
import time

import torch
from diffusers import HiDreamImageTransformer2DModel
from PIL import Image
from safetensors.torch import load_file
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from edit_utils.pipeline import HiDreamEditPipeline, resize_for_model

logger = logging.getLogger("instruct-edit")

LLAMA_PATH = "meta-llama/Llama-3.1-8B-Instruct"
MODEL_PATH = "HiDream-ai/HiDream-I1-Full"
LORA_PATH = "checkpoints/cuda_run/hidream_e1_lora.safetensors"


def parse_args():
    parser = argparse.ArgumentParser(description="Instruction-based image editing")
    parser.add_argument("--image", default="assets/cat.png")
    parser.add_argument("--instruction", default="Convert the image into a Ghibli style.")
    parser.add_argument("--output", default="output.png")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--image-guidance", type=float, default=4.0)
    parser.add_argument("--refine-strength", type=float, default=0.3)
    return parser.parse_args()


def load_pipeline():
    tokenizer_4 = PreTrainedTokenizerFast.from_pretrained(LLAMA_PATH)
    # The Llama encoder is large: load it in bf16 straight onto the GPU.
    text_encoder_4 = LlamaForCausalLM.from_pretrained(
        LLAMA_PATH,
        output_hidden_states=True,
        output_attentions=True,
        torch_dtype=torch.bfloat16,
    ).to("cuda", torch.bfloat16)

    transformer = HiDreamImageTransformer2DModel.from_pretrained(
        MODEL_PATH, subfolder="transformer", torch_dtype=torch.bfloat16
    )
    lora_ckpt = load_file(LORA_PATH, device="cuda")
    missing, unexpected = transformer.load_state_dict(lora_ckpt, strict=False)
    logger.info("merged LoRA: %d missing, %d unexpected keys", len(missing), len(unexpected))

    pipe = HiDreamEditPipeline.from_pretrained(
        MODEL_PATH,
        tokenizer_4=tokenizer_4,
        text_encoder_4=text_encoder_4,
        transformer=transformer,
        torch_dtype=torch.bfloat16,
    )
    pipe = pipe.to("cuda", torch.bfloat16)
    return pipe


def main():
    args = parse_args()
    logging.basicConfig(level=logging.INFO)
    logger.info("loading models onto cuda")  # log text: must stay as it is

    pipe = load_pipeline()
    image = resize_for_model(Image.open(args.image).convert("RGB"))

    # Keep the CPU copy for the side-by-side comparison below.
    reference = torch.zeros(3, 768, 768, device="cpu")

    generator = torch.Generator("cuda").manual_seed(args.seed)
    start = time.time()
    result = pipe(
        prompt=args.instruction,
        negative_prompt="low resolution, blur",
        image=image,
        guidance_scale=args.guidance,
        image_guidance_scale=args.image_guidance,
        num_inference_steps=args.steps,
        generator=generator,
        refine_strength=args.refine_strength,
    ).images[0]
    torch.cuda.synchronize()
    logger.info("edit took %.1f s", time.time() - start)

    print(torch.cuda.memory_summary(device="cuda", abbreviated=True))
    print(f"peak memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    result.save(args.output)
    logger.info("saved %s (reference on %s)", args.output, reference.device)


if __name__ == "__main__":
    main()
