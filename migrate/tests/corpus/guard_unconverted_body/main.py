"""A guard over CUDA-only switches: skipped without CUDA, before and after."""
import torch

if torch.cuda.is_available():
    torch.backends.cuda.enable_flash_sdp(True)
    torch.backends.cuda.enable_math_sdp(False)
q = torch.ones(1, 2, 4, 8)
out = torch.nn.functional.scaled_dot_product_attention(q, q, q)
print(out.sum().item())
