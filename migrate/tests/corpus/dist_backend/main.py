"""A one-process group with the backend chosen for the device."""
import os

import torch
import torch.distributed as dist

os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
backend = "nccl" if torch.cuda.is_available() else "gloo"
dist.init_process_group(backend=backend, rank=0, world_size=1)
t = torch.ones(3)
dist.all_reduce(t)
print(dist.get_backend(), t.tolist())
dist.destroy_process_group()
