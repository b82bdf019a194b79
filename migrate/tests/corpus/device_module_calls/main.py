"""Timing and memory calls written for CUDA, called unconditionally."""
import torch

torch.cuda.manual_seed(9)
torch.manual_seed(9)
start = torch.cuda.Event(enable_timing=True)
torch.cuda.synchronize()
x = torch.randn(16, 16)
y = x @ x
torch.cuda.synchronize()
print("allocated:", torch.cuda.memory_allocated() >= 0)
print(round(y.trace().item(), 4))
