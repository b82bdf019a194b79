"""Times torch's CPU scaled_dot_product_attention at the shapes ops-bench passes (a JSON
list of {"batch", "heads", "seq_q", "seq_kv", "head_dim"}), printing a JSON list of
{"torch_s": median seconds} in the same order. Run by `ops-bench --torch-python PYTHON`;
same warm-up and median-of-runs rule as ops-bench, f32, torch's default thread count.

Needs torch (scripts/fixtures/requirements.txt); run it from a venv outside the repo.
"""

import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def main() -> None:
    cases = json.loads(sys.argv[1])
    out = []
    g = torch.Generator().manual_seed(0)
    for c in cases:
        q = torch.rand(c["batch"], c["heads"], c["seq_q"], c["head_dim"], generator=g) * 2 - 1
        k = torch.rand(c["batch"], c["heads"], c["seq_kv"], c["head_dim"], generator=g) * 2 - 1
        v = torch.rand(c["batch"], c["heads"], c["seq_kv"], c["head_dim"], generator=g) * 2 - 1
        runs = 3 if c["seq_q"] * c["seq_kv"] >= 2048 * 2048 else 7
        with torch.inference_mode():
            F.scaled_dot_product_attention(q, k, v)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                F.scaled_dot_product_attention(q, k, v)
                times.append(time.perf_counter() - start)
        out.append({"torch_s": statistics.median(times)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
