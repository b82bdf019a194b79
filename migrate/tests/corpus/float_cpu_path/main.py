"""float64 RoPE angles and bf16 only on the GPU path: the CPU path computes in float32."""
import torch

dim = 8
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
freqs = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64, device=device) / dim))
angles = torch.outer(torch.arange(4, device=device, dtype=torch.float64), freqs).to(dtype)
print(angles.dtype, angles.sum().item())
