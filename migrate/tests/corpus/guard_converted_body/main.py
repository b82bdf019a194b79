"""A guard whose body converts with it."""
import torch

torch.manual_seed(6)
if torch.cuda.is_available():
    torch.cuda.manual_seed_all(6)
    torch.cuda.empty_cache()
print(torch.rand(3).tolist())
