"""improved-diffusion's dist_util style: torch imported as th, device and backend from it."""
import torch as th


def dev(rank=0):
    if th.cuda.is_available():
        return th.device(f"cuda:{rank}")
    return th.device("cpu")


backend = "gloo" if not th.cuda.is_available() else "nccl"
th.manual_seed(1)
x = th.randn(2, 3).to(dev())
print("backend:", backend)
print((x * 2).tolist())
