"""Times torch.matmul (f32, CPU, torch's default thread count) at the shapes gemm-bench
passes: a JSON list of {"batch", "m", "n", "k", "runs"}, row-major A [batch, m, k] times a
contiguous B [batch, k, n] (no batch dimension when batch is 1). Prints a JSON list of
{"torch_s": median seconds} in the same order; one warm-up per shape, as gemm-bench.

Run by `gemm-bench --torch-python PYTHON`; needs torch (scripts/fixtures/requirements.txt),
from a venv outside the repo.
"""

import json
import statistics
import sys
import time

import torch


def main() -> None:
    cases = json.loads(sys.argv[1])
    out = []
    g = torch.Generator().manual_seed(0)
    for c in cases:
        lead = () if c["batch"] == 1 else (c["batch"],)
        a = torch.rand(*lead, c["m"], c["k"], generator=g) * 2 - 1
        b = torch.rand(*lead, c["k"], c["n"], generator=g) * 2 - 1
        with torch.inference_mode():
            torch.matmul(a, b)
            times = []
            for _ in range(c["runs"]):
                start = time.perf_counter()
                torch.matmul(a, b)
                times.append(time.perf_counter() - start)
        out.append({"torch_s": statistics.median(times)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
