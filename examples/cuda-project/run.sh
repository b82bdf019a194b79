#!/usr/bin/env bash
# Fine-tune on the first two GPUs. Logs go to logs/cuda_run/.
set -euo pipefail

export CUDA_VISIBLE_DEVICES=0,1
export NCCL_P2P_DISABLE=1

nvidia-smi --query-gpu=name,memory.total --format=csv

mkdir -p logs/cuda_run
torchrun --nproc_per_node=2 train.py \
    --data data/edits.jsonl \
    --output checkpoints/cuda_run \
    --epochs 2 2>&1 | tee logs/cuda_run/train.log

nvidia-smi
