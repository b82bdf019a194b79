"""torch.cuda reached as `from torch import cuda` and `import torch.cuda as tc`."""
import torch
from torch import cuda
import torch.cuda as tc

torch.manual_seed(2)
x = torch.randn(4)
cuda.manual_seed_all(2)
tc.empty_cache()
print("count:", cuda.device_count() if cuda.is_available() else 0)
print(x.tolist())
