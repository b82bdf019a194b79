"""Pick the device the usual way and run a tiny MLP (CPU path before and after)."""
import torch

device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).to(device)
x = torch.randn(3, 4, device=device)
with torch.no_grad():
    y = model(x)
print("device type:", torch.device(device).type)
print(y.tolist())
