"""Attention through xformers' memory_efficient_attention with each bias form, and a
diffusers-style pipeline that turns xformers on. Run before migration with a tiny CPU
stand-in for xformers (_fake_libs/), after migration without it: same results."""
import torch
import xformers.ops as xops
from xformers.ops import fmha

torch.manual_seed(1)
q = torch.randn(2, 5, 3, 8)
k = torch.randn(2, 7, 3, 8)
v = torch.randn(2, 7, 3, 8)


def show(name, t):
    print(name, tuple(t.shape), f"{t.sum().item():.4f}", f"{t.abs().mean().item():.4f}")


class Pipeline:
    def enable_xformers_memory_efficient_attention(self):
        import xformers.ops  # noqa: F401  (diffusers raises here without xformers)


pipe = Pipeline()
pipe.enable_xformers_memory_efficient_attention()

show("none", xops.memory_efficient_attention(q, k, v))
show("scale", xops.memory_efficient_attention(q, k, v, p=0.0, scale=0.3))
bias = torch.randn(2, 3, 5, 7)
show("tensor bias", xops.memory_efficient_attention(q, k, v, attn_bias=bias))
show("causal", xops.memory_efficient_attention(q, k, v, attn_bias=xops.LowerTriangularMask()))
pq, pk, pv = torch.randn(1, 9, 2, 8), torch.randn(1, 9, 2, 8), torch.randn(1, 9, 2, 8)
block = fmha.BlockDiagonalMask.from_seqlens([2, 4, 3])
show("block diagonal", xops.memory_efficient_attention(pq, pk, pv, attn_bias=block))
show("block causal", xops.memory_efficient_attention(pq, pk, pv, attn_bias=block.make_causal()))
