# -*- coding: utf-8 -*-
"""Edge cases for the rewriter: nothing in this docstring mentioning "cuda" may change."""
from __future__ import annotations

import os, sys  # two imports on one line
import torch
from torch import nn


class Net(nn.Module):
    """Moves itself to "cuda:0" when asked (docstring, untouched)."""

    device: str = "cuda"

    def __init__(self, device="cuda:1"):
        super().__init__()
        self.device = device
        self.proj = nn.Linear(4, 4).cuda().half()
        self.buf = torch.zeros(4, device="cuda", dtype=torch.float16)

    async def infer(self, x):
        if (n := x.shape[0]) > 0 and x.is_cuda:
            return self.proj(x.cuda(non_blocking=True)), n
        return None


def pick(flag):
    match flag:
        case "gpu":
            return torch.device("cuda")
        case _:
            return torch.device("cpu")


to_gpu = lambda t: t.to("cuda")  # noqa: E731
paths = [f"/data/cuda_{i}.pt" for i in range(3)]
msg = "use CUDA_VISIBLE_DEVICES=0 to pick a gpu"
state = torch.load(
    "weights/cuda.pt",
    map_location="cuda:0",
)
total = (
    torch.ones(3)
    .to("cuda")
    .sum()
)
if torch.cuda.is_available() and torch.cuda.device_count() > 1:
    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
print("cuda" if torch.cuda.is_available() else "cpu", file=sys.stderr)
