"""lit-gpt lora style: a weight moved next to its input with .cuda(x.device)."""
import torch


def merge(weight, x):
    return x @ weight.cuda(x.device).T


torch.manual_seed(3)
w = torch.randn(2, 4)
x = torch.randn(3, 4)
print(merge(w, x).tolist())
