"""Checks the helper module's attention and optimizer shims on a CPU-only torch.

    VENV/bin/python scripts/migrate/check_shims.py [HELPER.py]

HELPER.py defaults to migrate/assets/device_utils.py, the text migrate writes as
device_utils.py. Every shim is compared with a reference computed here: the CPU path
against torch's scaled_dot_product_attention with masks built element by element (packed
sequences one at a time), and the NPU path, run against the fake torch_npu of
scripts/migrate/fake_torch_npu.py, which holds each call to the documented signature of
npu_fusion_attention. Needs torch only; no GPU, NPU or network. Exit status 1 on any failure.
"""
import importlib.util
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fake_torch_npu  # noqa: E402

TOLERANCE = 1e-5
results = []


def load_helper(path):
    spec = importlib.util.spec_from_file_location("device_utils_under_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(name, fn):
    try:
        detail = fn()
        results.append((name, True, detail or ""))
    except Exception as err:  # one failing case must not hide the others
        results.append((name, False, f"{type(err).__name__}: {err}"))


def close(actual, expected):
    if actual.shape != expected.shape:
        raise AssertionError(f"shape {tuple(actual.shape)} != {tuple(expected.shape)}")
    err = (actual.double() - expected.double()).abs().max().item()
    if not err <= TOLERANCE:
        raise AssertionError(f"max abs error {err:.2e}")
    return f"max abs error {err:.1e}"


# ---- references, written independently of the helper ----------------------------------

def keep_matrix(sq, sk, causal=False, window=(-1, -1), bottom_right=True):
    """True where query i may attend key j (flash-attn: diagonal through the bottom-right
    corner; xformers' LowerTriangularMask: through the top-left corner)."""
    left, right = window
    if causal:
        right = 0
    offset = sk - sq if bottom_right else 0
    keep = torch.ones(sq, sk, dtype=torch.bool)
    for i in range(sq):
        for j in range(sk):
            if left >= 0 and j < i + offset - left:
                keep[i, j] = False
            if right >= 0 and j > i + offset + right:
                keep[i, j] = False
    return keep


def reference_bshd(q, k, v, keep=None, bias=None, scale=None):
    """(B, S, H, D) through SDPA; query rows with no key left give zeros."""
    group = q.shape[2] // k.shape[2]
    qt = q.transpose(1, 2)
    kt = k.repeat_interleave(group, dim=2).transpose(1, 2)
    vt = v.repeat_interleave(group, dim=2).transpose(1, 2)
    mask = bias
    if keep is not None:
        additive = torch.zeros(keep.shape).masked_fill(~keep, float("-inf"))
        mask = additive if bias is None else bias + additive
    out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, scale=scale)
    out = out.nan_to_num(0.0)
    if keep is not None:
        out[:, :, ~keep.any(dim=1)] = 0.0
    return out.transpose(1, 2)


def reference_packed(q, k, v, lens_q, lens_k, causal=False, window=(-1, -1),
                     bottom_right=True, scale=None):
    """Packed (T, H, D) sequences, one reference call per sequence."""
    out, sq0, sk0 = [], 0, 0
    for lq, lk in zip(lens_q, lens_k):
        keep = keep_matrix(lq, lk, causal, window, bottom_right)
        out.append(reference_bshd(q[None, sq0:sq0 + lq], k[None, sk0:sk0 + lk],
                                  v[None, sk0:sk0 + lk], keep, scale=scale)[0])
        sq0, sk0 = sq0 + lq, sk0 + lk
    return torch.cat(out)


def cu(lengths):
    return torch.tensor([0] + list(lengths), dtype=torch.int32).cumsum(0).to(torch.int32)


# ---- cases -----------------------------------------------------------------------------

def attention_cases(d, label):
    g = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    for sq, sk in ((6, 6), (4, 7), (7, 4)):
        q, k, v = rand(2, sq, 4, 8), rand(2, sk, 4, 8), rand(2, sk, 4, 8)
        check(f"{label} flash_attn_func {sq}x{sk}",
              lambda q=q, k=k, v=v: close(d.flash_attn_func(q, k, v),
                                          reference_bshd(q, k, v)))
        check(f"{label} flash_attn_func causal {sq}x{sk}",
              lambda q=q, k=k, v=v, sq=sq, sk=sk: close(
                  d.flash_attn_func(q, k, v, causal=True),
                  reference_bshd(q, k, v, keep_matrix(sq, sk, causal=True))))
        check(f"{label} flash_attn_func window (2, 1) {sq}x{sk}",
              lambda q=q, k=k, v=v, sq=sq, sk=sk: close(
                  d.flash_attn_func(q, k, v, window_size=(2, 1)),
                  reference_bshd(q, k, v, keep_matrix(sq, sk, window=(2, 1)))))
        check(f"{label} flash_attn_func causal + window (3, -1) {sq}x{sk}",
              lambda q=q, k=k, v=v, sq=sq, sk=sk: close(
                  d.flash_attn_func(q, k, v, causal=True, window_size=(3, -1)),
                  reference_bshd(q, k, v, keep_matrix(sq, sk, True, (3, -1)))))
    q, k, v = rand(2, 5, 4, 8), rand(2, 5, 2, 8), rand(2, 5, 2, 8)
    check(f"{label} flash_attn_func GQA 4/2 heads, softmax_scale 0.3, dropout 0",
          lambda: close(d.flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=0.3),
                        reference_bshd(q, k, v, scale=0.3)))

    lens_q, lens_k = [3, 5, 1], [4, 5, 2]
    q, k, v = rand(sum(lens_q), 4, 8), rand(sum(lens_k), 2, 8), rand(sum(lens_k), 2, 8)
    for causal, window, scale in ((False, (-1, -1), None), (True, (-1, -1), None),
                                  (False, (1, 0), 0.25), (True, (2, -1), None)):
        check(f"{label} flash_attn_varlen_func causal={causal} window={window} scale={scale}",
              lambda causal=causal, window=window, scale=scale: close(
                  d.flash_attn_varlen_func(q, k, v, cu(lens_q), cu(lens_k), max(lens_q),
                                           max(lens_k), dropout_p=0.0, softmax_scale=scale,
                                           causal=causal, window_size=window),
                  reference_packed(q, k, v, lens_q, lens_k, causal, window, scale=scale)))

    q, k, v = rand(2, 5, 3, 8), rand(2, 7, 3, 8), rand(2, 7, 3, 8)
    check(f"{label} memory_efficient_attention attn_bias=None",
          lambda: close(d.memory_efficient_attention(q, k, v), reference_bshd(q, k, v)))
    check(f"{label} memory_efficient_attention scale=0.5, p=0",
          lambda: close(d.memory_efficient_attention(q, k, v, p=0.0, scale=0.5),
                        reference_bshd(q, k, v, scale=0.5)))
    bias = rand(2, 3, 5, 7)
    check(f"{label} memory_efficient_attention tensor bias",
          lambda: close(d.memory_efficient_attention(q, k, v, attn_bias=bias),
                        reference_bshd(q, k, v, bias=bias)))
    check(f"{label} memory_efficient_attention LowerTriangularMask 5x7 (top-left)",
          lambda: close(
              d.memory_efficient_attention(q, k, v, attn_bias=d.LowerTriangularMask()),
              reference_bshd(q, k, v, keep_matrix(5, 7, causal=True, bottom_right=False))))
    q3, k3, v3 = rand(2, 5, 8), rand(2, 7, 8), rand(2, 7, 8)
    check(f"{label} memory_efficient_attention (batch, seq, dim) inputs",
          lambda: close(d.memory_efficient_attention(q3, k3, v3),
                        reference_bshd(q3[:, :, None], k3[:, :, None], v3[:, :, None])[:, :, 0]))
    lens_q, lens_k = [2, 4, 3], [3, 4, 1]
    q, k, v = rand(1, 9, 2, 8), rand(1, 8, 2, 8), rand(1, 8, 2, 8)
    block = d.BlockDiagonalMask.from_seqlens(lens_q, lens_k)
    check(f"{label} memory_efficient_attention BlockDiagonalMask",
          lambda: close(d.memory_efficient_attention(q, k, v, attn_bias=block),
                        reference_packed(q[0], k[0], v[0], lens_q, lens_k)[None]))
    same = d.BlockDiagonalMask.from_seqlens([3, 4, 2]).make_causal()
    q, k, v = rand(1, 9, 2, 8), rand(1, 9, 2, 8), rand(1, 9, 2, 8)
    check(f"{label} memory_efficient_attention BlockDiagonalMask.make_causal()",
          lambda: close(d.memory_efficient_attention(q, k, v, attn_bias=same),
                        reference_packed(q[0], k[0], v[0], [3, 4, 2], [3, 4, 2],
                                         causal=True, bottom_right=False)[None]))


def refusal_cases(d):
    q = torch.randn(1, 4, 2, 8)

    def refuses(call, argument):
        try:
            call()
        except NotImplementedError as err:
            if argument not in str(err):
                raise AssertionError(f"the error does not name {argument}: {err}")
            return f"NotImplementedError names {argument}"
        raise AssertionError("no error")

    check("cpu flash_attn_func refuses alibi_slopes",
          lambda: refuses(lambda: d.flash_attn_func(q, q, q, alibi_slopes=torch.ones(2)),
                          "alibi_slopes"))
    check("cpu flash_attn_func refuses return_attn_probs",
          lambda: refuses(lambda: d.flash_attn_func(q, q, q, return_attn_probs=True),
                          "return_attn_probs"))
    check("cpu memory_efficient_attention refuses an unknown bias",
          lambda: refuses(lambda: d.memory_efficient_attention(q, q, q, attn_bias=object()),
                          "object"))


def trajectory(make, steps=3):
    torch.manual_seed(1)
    w = torch.nn.Parameter(torch.randn(5, 3))
    opt = make([w])
    for step in range(steps):
        loss = (w.sin() * (step + 1)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().clone()


def lamb_reference(steps=3, lr=1e-2, betas=(0.9, 0.999), eps=1e-6, decay=0.01,
                   max_norm=1.0):
    """LAMB written from its definition (apex's variant: global grad-norm clipping,
    bias-corrected moments, decoupled decay, trust ratio ||w|| / ||update||)."""
    torch.manual_seed(1)
    w = torch.randn(5, 3, dtype=torch.float64)
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    for step in range(steps):
        g = torch.cos(w) * (step + 1)
        norm = g.norm().item()
        if norm > max_norm:
            g = g / (norm / max_norm)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        t = step + 1
        update = (m / (1 - betas[0] ** t)) / ((v / (1 - betas[1] ** t)).sqrt() + eps)
        update = update + decay * w
        w = w - lr * (w.norm() / update.norm()) * update
    return w.float()


def optimizer_cases(d):
    ref_adamw = trajectory(lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.0))
    check("cpu FusedAdam (adam_w_mode) == torch AdamW, weight_decay 0",
          lambda: close(trajectory(lambda p: d.FusedAdam(p, lr=1e-2)), ref_adamw))
    check("cpu FusedAdam(adam_w_mode=False, weight_decay=0.1) == torch Adam",
          lambda: close(trajectory(lambda p: d.FusedAdam(p, lr=1e-2, adam_w_mode=False,
                                                         weight_decay=0.1)),
                        trajectory(lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1))))
    check("cpu bnb_optim.AdamW8bit == torch AdamW, weight_decay 1e-2 by default",
          lambda: close(trajectory(lambda p: d.bnb_optim.AdamW8bit(p, lr=1e-2)),
                        trajectory(lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1e-2))))
    check("cpu bnb_optim.PagedAdam8bit(weight_decay=0.1) == torch AdamW(weight_decay=0.1)",
          lambda: close(trajectory(lambda p: d.bnb_optim.PagedAdam8bit(p, lr=1e-2,
                                                                        weight_decay=0.1)),
                        trajectory(lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1))))
    check("cpu bnb_optim.Adam8bit default weight decay is 0",
          lambda: close(trajectory(lambda p: d.bnb_optim.Adam8bit(p, lr=1e-2,
                                                                   optim_bits=8)), ref_adamw))

    def lamb():
        torch.manual_seed(1)
        w = torch.nn.Parameter(torch.randn(5, 3))
        opt = d.FusedLAMB([w], lr=1e-2)
        for step in range(3):
            opt.zero_grad()
            (w.sin() * (step + 1)).sum().backward()
            opt.step()
        return close(w.detach(), lamb_reference())

    check("cpu FusedLAMB == LAMB from its definition", lamb)


def npu_cases(d, fake):
    d._attention_backend = lambda tensor: "npu"
    attention_cases(d, "npu")
    d.DEVICE_TYPE = "npu"

    def adamw():
        opt = d.FusedAdam([torch.nn.Parameter(torch.zeros(2))], lr=0.1, weight_decay=0.01)
        assert type(opt).__name__ == "NpuFusedAdamW", type(opt).__name__
        assert opt.kwargs == dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        return "NpuFusedAdamW(lr=0.1, weight_decay=0.01)"

    def adam():
        opt = d.FusedAdam([torch.nn.Parameter(torch.zeros(2))], adam_w_mode=False)
        assert type(opt).__name__ == "NpuFusedAdam", type(opt).__name__
        return "NpuFusedAdam"

    def bnb():
        opt = d.bnb_optim.PagedAdamW8bit([torch.nn.Parameter(torch.zeros(2))], lr=0.2)
        assert type(opt).__name__ == "NpuFusedAdamW", type(opt).__name__
        assert opt.kwargs["weight_decay"] == 1e-2, opt.kwargs
        return "NpuFusedAdamW(weight_decay=0.01)"

    def lamb():
        opt = d.FusedLAMB([torch.nn.Parameter(torch.zeros(2))], weight_decay=0.02)
        assert type(opt).__name__ == "NpuFusedLamb", type(opt).__name__
        assert opt.kwargs["weight_decay"] == 0.02 and opt.kwargs["eps"] == 1e-6, opt.kwargs
        return "NpuFusedLamb(eps=1e-6, weight_decay=0.02)"

    def hf32():
        d.allow_hf32(matmul=True, conv=False)
        assert fake.npu.matmul.allow_hf32 is True and fake.npu.conv.allow_hf32 is False
        return "matmul.allow_hf32=True, conv.allow_hf32=False"

    for name, fn in (("npu FusedAdam -> NpuFusedAdamW", adamw),
                     ("npu FusedAdam(adam_w_mode=False) -> NpuFusedAdam", adam),
                     ("npu bnb_optim.PagedAdamW8bit -> NpuFusedAdamW", bnb),
                     ("npu FusedLAMB -> NpuFusedLamb", lamb),
                     ("npu allow_hf32 sets torch_npu's switches", hf32)):
        check(name, fn)


def main():
    repo = HERE.parents[1]
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else repo / "migrate/assets/device_utils.py"
    if not path.is_file():
        print(f"check_shims.py: {path} is not a file", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}; helper {path}")
    cpu = load_helper(path)
    if cpu.DEVICE_TYPE != "cpu":
        print(f"check_shims.py: expects a host without an accelerator, found {cpu.DEVICE_TYPE}",
              file=sys.stderr)
        return 2
    attention_cases(cpu, "cpu")
    refusal_cases(cpu)
    optimizer_cases(cpu)
    fake = fake_torch_npu.install()
    npu_cases(load_helper(path), fake)
    if not fake.calls:
        results.append(("npu branch reached npu_fusion_attention", False, "never called"))
    else:
        results.append(("npu branch reached npu_fusion_attention", True,
                        f"{len(fake.calls)} calls, each bound to the documented signature"))
    failed = [r for r in results if not r[1]]
    for name, ok, detail in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    print(f"{len(results) - len(failed)} of {len(results)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
