"""A test that returns early without CUDA, then uses a CUDA-only query."""
import torch


def check_flash():
    if not torch.cuda.is_available():
        return "skipped"
    major, _ = torch.cuda.get_device_capability()
    return "flash" if major >= 8 else "math"


print(check_flash())
