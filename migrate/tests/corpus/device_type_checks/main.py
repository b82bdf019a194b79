"""Branches on where tensors live and TF32 switches, as training scripts write them: on a
CPU-only torch they take the CPU path before and after migration."""
import torch

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True


def describe(x):
    place = "accelerator" if x.is_cuda else "cpu"
    pin = x.device.type == "cuda"
    remote = "cuda" in str(x.device)
    return place, pin, remote, x.device.type != "cuda"


x = torch.ones(3)
print(describe(x))
print(torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
