"""xformers.ops written from its documented semantics with an explicit softmax:
(batch, seq, heads, dim); a tensor bias is added to the scaled scores; LowerTriangularMask
is causal from the top-left corner; BlockDiagonalMask packs sequences along seq."""
import math

import torch

from . import fmha


class LowerTriangularMask:
    pass


def _scores(q, k, scale):
    return torch.einsum("bshd,bthd->bhst", q, k) * scale


def memory_efficient_attention(query, key, value, attn_bias=None, p=0.0, scale=None):
    scale = scale if scale is not None else 1.0 / math.sqrt(query.shape[-1])
    scores = _scores(query, key, scale)
    sq, sk = query.shape[1], key.shape[1]
    allowed = torch.ones(sq, sk, dtype=torch.bool)
    if isinstance(attn_bias, torch.Tensor):
        scores = scores + attn_bias
    elif isinstance(attn_bias, LowerTriangularMask):
        allowed = torch.tensor([[j <= i for j in range(sk)] for i in range(sq)])
    elif isinstance(attn_bias, fmha.BlockDiagonalMask):
        allowed = attn_bias.allowed()
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.einsum("bhst,bthd->bshd", torch.softmax(scores, dim=-1), value)
