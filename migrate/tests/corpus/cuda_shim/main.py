"""sd-scripts ipex style compatibility shim: torch.cuda functions replaced by another backend's."""
import torch


def _xpu_device_count():
    return 3


torch.cuda.device_count = _xpu_device_count
torch.cuda.current_device = lambda: 0
print("devices:", torch.cuda.device_count(), torch.cuda.current_device())
