"""mmcv checkpoint style: load onto the current GPU through a map_location lambda."""
import os
import tempfile

import torch

torch.manual_seed(4)
state = {"w": torch.randn(2, 2)}
path = os.path.join(tempfile.mkdtemp(), "ckpt.pth")
torch.save(state, path)
gpu_id = 0
loaded = torch.load(path, map_location=lambda storage, loc: storage.cuda(gpu_id))
print(loaded["w"].tolist())
