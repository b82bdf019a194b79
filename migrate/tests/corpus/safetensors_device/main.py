"""Weights loaded straight onto the GPU with safetensors."""
import os
import tempfile

import torch
from safetensors.torch import load_file, save_file

torch.manual_seed(10)
path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
save_file({"w": torch.randn(2, 2)}, path)
weights = load_file(path, device="cuda")
print(weights["w"].tolist())
