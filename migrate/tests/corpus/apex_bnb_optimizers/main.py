"""Training steps with apex's fused optimizers and bitsandbytes' 8-bit AdamW. Run before
migration with tiny CPU stand-ins for apex and bitsandbytes (_fake_libs/), after
migration without them: the trained weights must agree."""
import bitsandbytes as bnb
import torch
from apex.optimizers import FusedAdam, FusedLAMB


def train(make_optimizer):
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    optimizer = make_optimizer(model.parameters())
    data = torch.randn(16, 6)
    target = torch.randn(16, 2)
    for _ in range(5):
        loss = torch.nn.functional.mse_loss(model(data), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    return f"{loss.item():.5f} {weights.sum().item():.5f} {weights.abs().max().item():.5f}"


print("FusedAdam", train(lambda p: FusedAdam(p, lr=1e-2, weight_decay=0.01)))
print("FusedAdam L2", train(lambda p: FusedAdam(p, lr=1e-2, adam_w_mode=False, weight_decay=0.1)))
print("FusedLAMB", train(lambda p: FusedLAMB(p, lr=1e-2)))
print("AdamW8bit", train(lambda p: bnb.optim.AdamW8bit(p, lr=1e-2)))
print("PagedAdam8bit", train(lambda p: bnb.optim.PagedAdam8bit(p, lr=1e-2, weight_decay=0.05)))
