"""LoRA fine-tuning of the edit transformer with torchrun (one process per GPU)."""

import argparse
import json
import os

import torch
import torch.distributed as dist
from torch.cuda.amp import GradScaler, autocast
from torch.nn.parallel import DistributedDataParallel as DDP

try:
    from flash_attn import flash_attn_func

    HAS_FLASH_ATTN = True
except ImportError:
    flash_attn_func = None
    HAS_FLASH_ATTN = False

import xformers.ops

from edit_utils.attention import EditTransformer

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.backends.cudnn.benchmark = True


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/edits.jsonl")
    parser.add_argument("--output", default="checkpoints/cuda_run")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-4)
    return parser.parse_args()


def load_batches(path, batch_size=4):
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        latents = torch.stack([torch.tensor(r["latents"]) for r in chunk])
        target = torch.stack([torch.tensor(r["target"]) for r in chunk])
        yield latents, target


def main():
    args = parse_args()
    dist.init_process_group("nccl")
    local_rank = int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local_rank)
    torch.cuda.manual_seed_all(1234)

    model = EditTransformer(dim=1024, heads=16, use_flash=HAS_FLASH_ATTN).cuda(local_rank)
    model = DDP(model, device_ids=[local_rank])
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    scaler = GradScaler()

    for epoch in range(args.epochs):
        for step, (latents, target) in enumerate(load_batches(args.data)):
            latents = latents.cuda(non_blocking=True)
            target = target.to(local_rank)
            with autocast(dtype=torch.bfloat16):
                pred = model(latents)
                loss = torch.nn.functional.mse_loss(pred.float(), target.float())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if local_rank == 0 and step % 50 == 0:
                print(f"epoch {epoch} step {step} loss {loss.item():.4f}")

    if local_rank == 0:
        os.makedirs(args.output, exist_ok=True)
        torch.save(model.module.state_dict(), os.path.join(args.output, "lora.pt"))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
