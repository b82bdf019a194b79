"""Seeded noise drawn on the device the generator lives on."""
import torch

g = torch.Generator("cuda").manual_seed(0)
noise = torch.randn(2, 3, generator=g, device="cuda")
print(tuple(noise.shape), noise.device == g.device)
