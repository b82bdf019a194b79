"""A CPU stand-in for flash-attn in the corpus, written from flash-attn's documented
semantics with explicit loops: (batch, seq, heads, dim), causal and windows aligned to the
bottom-right corner, key heads shared by groups of query heads."""
import math

import torch


def _one(q, k, v, scale, causal, window):
    sq, sk = q.shape[0], k.shape[0]
    group = q.shape[1] // k.shape[1]
    out = torch.zeros(q.shape[0], q.shape[1], v.shape[2])
    left, right = window
    if causal:
        right = 0
    for h in range(q.shape[1]):
        kh = h // group
        for i in range(sq):
            diag = i + sk - sq
            keys = [j for j in range(sk)
                    if (left < 0 or j >= diag - left) and (right < 0 or j <= diag + right)]
            if not keys:
                continue
            scores = torch.stack([(q[i, h] * k[j, kh]).sum() * scale for j in keys])
            weights = torch.softmax(scores, dim=0)
            out[i, h] = sum(w * v[j, kh] for w, j in zip(weights, keys))
    return out


def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False,
                    window_size=(-1, -1), **unused):
    scale = softmax_scale or 1.0 / math.sqrt(q.shape[-1])
    return torch.stack([_one(q[b], k[b], v[b], scale, causal, window_size)
                        for b in range(q.shape[0])])


def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                           dropout_p=0.0, softmax_scale=None, causal=False,
                           window_size=(-1, -1), **unused):
    scale = softmax_scale or 1.0 / math.sqrt(q.shape[-1])
    parts = []
    cq, ck = cu_seqlens_q.tolist(), cu_seqlens_k.tolist()
    for b in range(len(cq) - 1):
        parts.append(_one(q[cq[b]:cq[b + 1]], k[ck[b]:ck[b + 1]], v[ck[b]:ck[b + 1]],
                          scale, causal, window_size))
    return torch.cat(parts)
