"""Attention blocks of the edit transformer.

The fast path calls flash-attn directly; when use_flash is off it falls back to
scaled_dot_product_attention. Inputs are (batch, seq, heads, head_dim).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from flash_attn import flash_attn_func


class Attention(nn.Module):
    def __init__(self, dim, heads, use_flash=True):
        super().__init__()
        self.heads = heads
        self.use_flash = use_flash
        self.qkv = nn.Linear(dim, dim * 3)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        b, s, _ = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, -1).unbind(2)
        if self.use_flash and x.is_cuda:
            o = flash_attn_func(q, k, v, dropout_p=0.0, causal=False)
        else:
            o = F.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            ).transpose(1, 2)
        return self.out(o.reshape(b, s, -1))


class EditTransformer(nn.Module):
    def __init__(self, dim, heads, depth=4, use_flash=True):
        super().__init__()
        self.blocks = nn.ModuleList(Attention(dim, heads, use_flash) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        for block in self.blocks:
            x = x + block(self.norm(x))
        return x
