"""Mixed precision written for CUDA: on a CPU-only torch it is off, and must stay off."""
import torch
from torch.cuda.amp import GradScaler, autocast

torch.manual_seed(7)
a = torch.randn(8, 8)
b = torch.randn(8, 8)
with torch.autocast("cuda"):
    c = a @ b
with autocast(dtype=torch.float16):
    d = a @ b
scaler = GradScaler()
loss = (c + d).sum()
print(c.dtype, d.dtype, scaler.is_enabled())
print(loss.item())
