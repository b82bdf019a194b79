"""ControlNet's gradio scripts: checkpoints loaded with location='cuda'."""
import os
import tempfile

import torch


def get_state_dict(path, location="cpu"):
    return torch.load(path, map_location=torch.device(location))


torch.manual_seed(5)
path = os.path.join(tempfile.mkdtemp(), "model.ckpt")
torch.save({"b": torch.randn(3)}, path)
sd = get_state_dict(path, location='cuda')
other = torch.load(path, map_location="cuda")
print(sd["b"].tolist(), other["b"].device.type == sd["b"].device.type)
