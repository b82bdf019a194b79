"""Pipeline glue: the diffusers editing pipeline and input resizing."""

import torch
from diffusers import HiDreamImagePipeline as HiDreamEditPipeline  # noqa: F401
from PIL import Image

# Default area of HiDream-I1 (1024 x 1024); sides are snapped to multiples of 16.
MODEL_AREA = 1024 * 1024
FONT_PATH = "/usr/share/fonts/cuda-sans/Regular.ttf"


def resize_for_model(image: Image.Image) -> Image.Image:
    """Rescale to the model's area, keeping the aspect ratio.

    Works the same whether the pipeline later runs on cuda or on the CPU.
    """
    w, h = image.size
    scale = (MODEL_AREA / (w * h)) ** 0.5
    return image.resize((int(w * scale) // 16 * 16, int(h * scale) // 16 * 16))


def to_tensor(image: Image.Image, device="cpu") -> torch.Tensor:
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    w, h = image.size
    return data.view(h, w, 3).permute(2, 0, 1).float().div(255).to(device)


def rope_frequencies(dim: int, theta: float = 10000.0) -> torch.Tensor:
    # Flux-style RoPE computes its angles in float64 on the accelerator.
    scale = torch.arange(0, dim, 2, dtype=torch.float64, device="cuda") / dim
    return 1.0 / (theta**scale)
