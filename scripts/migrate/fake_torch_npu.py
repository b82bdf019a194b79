"""A stand-in for torch_npu on a CPU-only host, for scripts/migrate/check_shims.py.

npu_fusion_attention binds its arguments against the documented prototype kept in
migrate/tests/fixtures/torch_npu/npu_fusion_attention.md (an unknown keyword or a missing
argument fails), checks each value against the documented constraints, and computes the
result the documented semantics give, on the CPU, written out element by element from the
documentation (True in atten_mask = masked; sparse modes 2/3/4 count from the top-left or
bottom-right corner). The optimizers and HF32 switches record what they were given.
"""
import inspect
import re
import sys
import types
from pathlib import Path

import torch

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "migrate/tests/fixtures/torch_npu/npu_fusion_attention.md"
)
LAYOUTS = ("BSH", "SBH", "BSND", "BNSD", "TND")
UNBOUNDED = 2147483647


def documented_signature():
    text = FIXTURE.read_text(encoding="utf-8")
    match = re.search(r"^torch_npu\.npu_fusion_attention\((.*)\) ->", text, re.M)
    if not match:
        raise SystemExit(f"{FIXTURE}: no one-line prototype of npu_fusion_attention")
    params = []
    for part in match.group(1).split(", "):
        name, _, default = part.partition("=")
        if default:
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                            default=eval(default)))  # literals only
        else:
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    return inspect.Signature(params)


SIGNATURE = documented_signature()
calls = []


def _fail(message):
    raise AssertionError(f"npu_fusion_attention: {message}")


def _keep(sq, sk, mode, pre, nxt):
    """True where the documented sparse mode lets query i see key j."""
    keep = torch.zeros(sq, sk, dtype=torch.bool)
    for i in range(sq):
        for j in range(sk):
            if mode == 2:
                ok = j <= i
            elif mode == 3:
                ok = j <= i + (sk - sq)
            elif mode == 4:
                d = i + (sk - sq)
                ok = d - pre <= j <= d + nxt
            else:
                ok = True
            keep[i, j] = ok
    return keep


def _attend(q, k, v, keep, scale):
    """(S, N, D) single sequence; plain softmax(scale * QK^T) V over the kept keys."""
    n_q, n_k = q.shape[1], k.shape[1]
    if n_q % n_k:
        _fail(f"query heads {n_q} are not a multiple of key heads {n_k}")
    k = k.repeat_interleave(n_q // n_k, dim=1)
    v = v.repeat_interleave(n_q // n_k, dim=1)
    scores = torch.einsum("snd,tnd->nst", q.double(), k.double()) * scale
    scores = scores.masked_fill(~keep, float("-inf"))
    weights = torch.softmax(scores, dim=-1).nan_to_num(0.0)
    return torch.einsum("nst,tnd->snd", weights, v.double()).to(q.dtype)


def npu_fusion_attention(*args, **kwargs):
    try:
        bound = SIGNATURE.bind(*args, **kwargs)
    except TypeError as err:
        _fail(f"arguments do not match the documented prototype: {err}")
    bound.apply_defaults()
    a = bound.arguments
    calls.append(dict(a))
    q, k, v, layout = a["query"], a["key"], a["value"], a["input_layout"]
    if layout not in LAYOUTS:
        _fail(f"input_layout {layout!r} is not one of {LAYOUTS}")
    if not isinstance(a["scale"], float) or not 0 < a["keep_prob"] <= 1:
        _fail(f"scale {a['scale']!r} / keep_prob {a['keep_prob']!r}")
    if a["keep_prob"] != 1.0:
        _fail("the check runs without dropout; keep_prob must be 1")
    mode, mask = a["sparse_mode"], a["atten_mask"]
    if mode not in (0, 2, 3, 4):
        _fail(f"sparse_mode {mode} is not one the helper should use")
    if mode in (2, 3, 4):
        if mask is None or mask.dtype != torch.bool or tuple(mask.shape) != (2048, 2048):
            _fail(f"sparse_mode {mode} needs the compressed 2048x2048 bool mask")
        if not torch.equal(mask, torch.triu(torch.ones(2048, 2048, dtype=torch.bool), 1)):
            _fail("the compressed mask is not upper-triangular with True = masked")
    elif mask is not None:
        _fail("sparse_mode 0 with a mask is not used by the helper")
    if mode != 4 and (a["pre_tockens"], a["next_tockens"]) != (UNBOUNDED, UNBOUNDED):
        _fail("pre_tockens/next_tockens set outside band mode")
    if layout == "TND":
        seq_q, seq_k = a["actual_seq_qlen"], a["actual_seq_kvlen"]
        for name, ends, total in (("actual_seq_qlen", seq_q, q.shape[0]),
                                  ("actual_seq_kvlen", seq_k, k.shape[0])):
            if not isinstance(ends, list) or not all(type(n) is int for n in ends):
                _fail(f"{name} must be a list of int, got {ends!r}")
            if not ends or ends != sorted(ends) or ends[-1] != total:
                _fail(f"{name} {ends} are not cumulative ends reaching {total}")
        if len(seq_q) != len(seq_k):
            _fail("actual_seq_qlen and actual_seq_kvlen differ in length")
        if a["head_num"] != q.shape[1]:
            _fail(f"head_num {a['head_num']} != N of TND query {q.shape[1]}")
        out = torch.zeros(q.shape[0], q.shape[1], v.shape[2], dtype=q.dtype)
        starts_q, starts_k = [0] + seq_q, [0] + seq_k
        for b in range(len(seq_q)):
            qs, qe, ks, ke = starts_q[b], starts_q[b + 1], starts_k[b], starts_k[b + 1]
            keep = _keep(qe - qs, ke - ks, mode, a["pre_tockens"], a["next_tockens"])
            out[qs:qe] = _attend(q[qs:qe], k[ks:ke], v[ks:ke], keep, a["scale"])
    elif layout == "BSND":
        if a["actual_seq_qlen"] is not None:
            _fail("actual_seq_qlen outside TND")
        if a["head_num"] != q.shape[2]:
            _fail(f"head_num {a['head_num']} != N of BSND query {q.shape[2]}")
        keep = _keep(q.shape[1], k.shape[1], mode, a["pre_tockens"], a["next_tockens"])
        out = torch.stack([_attend(q[b], k[b], v[b], keep, a["scale"])
                           for b in range(q.shape[0])])
    else:
        _fail(f"layout {layout} is valid but not one the helper uses")
    empty = torch.empty(0)
    return out, empty, empty, empty, 0, 0, 0


class _Recorded:
    def __init__(self, params, **kwargs):
        self.params = list(params)
        self.kwargs = kwargs


def _optimizer(name, documented):
    def make(params, **kwargs):
        unknown = set(kwargs) - set(documented)
        if unknown:
            raise AssertionError(f"torch_npu.optim.{name}: undocumented {sorted(unknown)}")
        return type(name, (_Recorded,), {})(params, **kwargs)

    return make


def install():
    """Puts the fake into sys.modules as torch_npu; returns it."""
    module = types.ModuleType("torch_npu")
    module.npu_fusion_attention = npu_fusion_attention
    module.calls = calls
    adam = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    module.optim = types.SimpleNamespace(
        NpuFusedAdam=_optimizer("NpuFusedAdam", adam),
        NpuFusedAdamW=_optimizer("NpuFusedAdamW", adam),
        NpuFusedLamb=_optimizer("NpuFusedLamb", ("lr", "betas", "eps", "weight_decay", "adam",
                                                 "use_global_grad_norm")),
    )
    module.npu = types.SimpleNamespace(
        matmul=types.SimpleNamespace(allow_hf32=False),
        conv=types.SimpleNamespace(allow_hf32=True),
    )
    sys.modules["torch_npu"] = module
    return module
