"""CUDA reached through getattr on torch.cuda: no rule can follow it."""
import torch

sync = getattr(torch.cuda, "synchronize")
sync()
print("synchronized")
