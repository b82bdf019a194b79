"""amp reached through `from torch.cuda import amp` and torch imported as th."""
import torch as th
from torch.cuda import amp


@amp.custom_fwd
def double(x):
    return x * 2


th.manual_seed(8)
x = th.randn(4, 4)
with amp.autocast():
    y = double(x) @ x
print(y.dtype, round(y.sum().item(), 4))
