"""apex.optimizers written from apex's documented behaviour: FusedAdam is AdamW with
adam_w_mode (the default), Adam with L2 decay without; FusedLAMB clips the gradients by
their global norm (max_grad_norm), takes bias-corrected Adam steps with decoupled decay and
scales each step by ||w|| / ||step|| when weight decay is on."""
import torch


def FusedAdam(params, lr=1e-3, bias_correction=True, betas=(0.9, 0.999), eps=1e-8,
              adam_w_mode=True, weight_decay=0.0, amsgrad=False, set_grad_none=True):
    kind = torch.optim.AdamW if adam_w_mode else torch.optim.Adam
    return kind(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class FusedLAMB:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01,
                 max_grad_norm=1.0, **unused):
        self.params = list(params)
        self.lr, self.betas, self.eps, self.decay = lr, betas, eps, weight_decay
        self.max_grad_norm = max_grad_norm
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in self.params)).item()
        divisor = max(norm / self.max_grad_norm, 1.0)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad / divisor
            m.copy_(b1 * m + (1 - b1) * g)
            v.copy_(b2 * v + (1 - b2) * g * g)
            step = (m / (1 - b1 ** self.t)) / ((v / (1 - b2 ** self.t)).sqrt() + self.eps)
            step = step + self.decay * p
            ratio = 1.0
            if self.decay != 0 and p.norm() > 0 and step.norm() > 0:
                ratio = (p.norm() / step.norm()).item()
            p.sub_(self.lr * ratio * step)
