"""ALiBi through flash-attn: no stand-in computes it, so after migration the program stops
at the reported call instead of at the import."""
import torch
from flash_attn import flash_attn_func

q = torch.randn(1, 4, 2, 8)
slopes = torch.tensor([0.5, 0.25])
print("before attention")
out = flash_attn_func(q, q, q, causal=True, alibi_slopes=slopes)
print(out.shape)
