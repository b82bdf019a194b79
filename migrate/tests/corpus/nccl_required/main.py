"""A launcher that insists on NCCL."""
import os

import torch
import torch.distributed as dist

os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
os.environ.setdefault("MASTER_PORT", str(30500 + os.getpid() % 1000))
dist.init_process_group("nccl", rank=0, world_size=1)
local_rank = 0
t = torch.arange(3.0).to(local_rank)
dist.all_reduce(t)
print(t.tolist())
dist.destroy_process_group()
