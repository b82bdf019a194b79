"""xformers.ops.fmha.BlockDiagonalMask, as a boolean matrix."""
import torch


class BlockDiagonalMask:
    def __init__(self, q, k, causal=False):
        self.q, self.k, self.causal = list(q), list(k), causal

    @classmethod
    def from_seqlens(cls, q_seqlen, kv_seqlen=None):
        return cls(q_seqlen, kv_seqlen or q_seqlen)

    def make_causal(self):
        return BlockDiagonalMask(self.q, self.k, causal=True)

    def allowed(self):
        rows = [(b, i) for b, n in enumerate(self.q) for i in range(n)]
        cols = [(b, j) for b, n in enumerate(self.k) for j in range(n)]
        return torch.tensor([[rb == cb and (not self.causal or j <= i) for cb, j in cols]
                             for rb, i in rows])
