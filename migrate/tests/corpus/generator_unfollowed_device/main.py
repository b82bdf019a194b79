"""diffusers community pipeline style: generator on CUDA, draw on self.device."""
import torch


class Tiling:
    def __init__(self):
        self.device = torch.device("cpu")

    def latents(self, seed):
        generator = torch.Generator("cuda").manual_seed(seed)
        return torch.randn((1, 4), generator=generator, device=self.device)


print(Tiling().latents(0).shape)
