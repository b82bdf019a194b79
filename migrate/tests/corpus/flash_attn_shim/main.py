"""A transformer block written against flash-attn (padded and packed batches, causal, a
sliding window, GQA). scripts/migrate/run_corpus.sh runs it before migration with a tiny
CPU stand-in for flash_attn (_fake_libs/) and after migration without it: the printed
results must agree."""
import torch
from flash_attn import flash_attn_func, flash_attn_varlen_func

torch.manual_seed(0)
q = torch.randn(2, 6, 4, 16)
k = torch.randn(2, 9, 2, 16)
v = torch.randn(2, 9, 2, 16)


def show(name, t):
    print(name, tuple(t.shape), f"{t.sum().item():.4f}", f"{t.abs().mean().item():.4f}")


show("plain", flash_attn_func(q, k, v))
show("causal", flash_attn_func(q, k, v, dropout_p=0.0, causal=True))
show("window", flash_attn_func(q, k, v, window_size=(3, 1), softmax_scale=0.2))

lengths = [3, 5, 2]
cu = torch.tensor([0, 3, 8, 10], dtype=torch.int32)
pq = torch.randn(10, 4, 16)
pk = torch.randn(10, 4, 16)
pv = torch.randn(10, 4, 16)
show("varlen", flash_attn_varlen_func(pq, pk, pv, cu, cu, max(lengths), max(lengths)))
show("varlen causal", flash_attn_varlen_func(pq, pk, pv, cu, cu, 5, 5, causal=True))
