"""Web demo: upload an image, type an instruction, get the edit back."""

import gradio as gr
import torch

from inference import load_pipeline
from edit_utils.pipeline import resize_for_model

device = "cuda" if torch.cuda.is_available() else "cpu"
pipe = load_pipeline()
pipe.enable_xformers_memory_efficient_attention()

EXAMPLES = [
    ["assets/cat.png", "Add a red scarf to the cat", 3],
    ["assets/street.png", "Make it a rainy night", 7],
]


def edit(image, instruction, seed, steps=28):
    if image is None:
        raise gr.Error("Please upload an image first.")
    generator = torch.Generator(device=device).manual_seed(int(seed))
    with torch.inference_mode():
        out = pipe(
            prompt=instruction,
            image=resize_for_model(image.convert("RGB")),
            num_inference_steps=int(steps),
            generator=generator,
        ).images[0]
    torch.cuda.empty_cache()
    used = torch.cuda.memory_allocated(0) / 2**30
    return out, f"GPU memory in use: {used:.1f} GiB"


with gr.Blocks(title="instruct-edit") as demo:
    gr.Markdown("## Instruction-based editing (runs on cuda GPUs)")
    with gr.Row():
        source = gr.Image(type="pil", label="Input")
        edited = gr.Image(type="pil", label="Edited")
    instruction = gr.Textbox(label="Instruction")
    seed = gr.Number(value=3, label="Seed")
    status = gr.Markdown()
    gr.Button("Edit").click(edit, [source, instruction, seed], [edited, status])
    gr.Examples(EXAMPLES, [source, instruction, seed])

if __name__ == "__main__":
    demo.queue().launch(server_name="0.0.0.0", server_port=7860)
