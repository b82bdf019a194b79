//! The attention, optimizer, device-check and HF32 rewrites: each expected output is written
//! out by hand here. `portable` and `npu` also hold every case to a second run changing
//! nothing.

use super::python_run::{npu, portable, unchanged};
use migrate::Severity;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall};
use std::path::Path;

#[test]
fn flash_attn_and_xformers_calls_go_through_the_helper_and_imports_are_guarded() {
    let src = "import torch
from flash_attn import flash_attn_func, flash_attn_varlen_func
import xformers.ops as xops


def attend(q, k, v, cu, n):
    a = flash_attn_func(q, k, v, dropout_p=0.0, causal=True)
    b = flash_attn_varlen_func(q, k, v, cu, cu, n, n, causal=True)
    c = xops.memory_efficient_attention(q, k, v, attn_bias=xops.LowerTriangularMask())
    mask = xops.fmha.BlockDiagonalMask.from_seqlens([2, 3])
    return a, b, c, mask
";
    let expected = "import torch
try:
    from flash_attn import flash_attn_func, flash_attn_varlen_func
except ImportError:
    flash_attn_func = None
    flash_attn_varlen_func = None
try:
    import xformers.ops as xops
except ImportError:
    xops = None
import device_utils


def attend(q, k, v, cu, n):
    a = device_utils.flash_attn_func(q, k, v, dropout_p=0.0, causal=True)
    b = device_utils.flash_attn_varlen_func(q, k, v, cu, cu, n, n, causal=True)
    c = device_utils.memory_efficient_attention(q, k, v, attn_bias=device_utils.LowerTriangularMask())
    mask = device_utils.BlockDiagonalMask.from_seqlens([2, 3])
    return a, b, c, mask
";
    let out = portable(src);
    assert_eq!(out.text, expected);
    assert_eq!(out.rules, vec!["PY011", "PY012", "PY016"]);
    assert_eq!(out.diagnostics, vec![]);
}

#[test]
fn a_guarded_import_keeps_its_continuation_lines_and_indentation() {
    let src = "def f(q, k, v):\n    from flash_attn import (\n        flash_attn_func,\n    )\n    return flash_attn_func(q, k, v)\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        "import device_utils\ndef f(q, k, v):\n    try:\n        from flash_attn import (\n            flash_attn_func,\n        )\n    except ImportError:\n        flash_attn_func = None\n    return device_utils.flash_attn_func(q, k, v)\n"
    );
}

#[test]
fn arguments_a_stand_in_cannot_carry_over_keep_the_call_and_are_reported() {
    let src = "import xformers.ops as xops\nfrom flash_attn import flash_attn_func\n\
o = flash_attn_func(q, k, v, return_attn_probs=True)\n\
p = xops.memory_efficient_attention(q, k, v, attn_bias=xops.fmha.attn_bias.LowerTriangularMaskWithTensorBias(t))\n";
    let out = portable(src);
    // The flash call keeps flash-attn; the xformers call goes through the helper, but the
    // bias class it is given has no stand-in and stops there.
    assert!(
        out.text
            .contains("\no = flash_attn_func(q, k, v, return_attn_probs=True)\n")
    );
    assert!(out.text.contains("\np = device_utils.memory_efficient_attention(q, k, v, attn_bias=xops.fmha.attn_bias.LowerTriangularMaskWithTensorBias(t))\n"));
    assert_eq!(
        out.diagnostics,
        vec![("PY101", Severity::Error, 3), ("PY102", Severity::Error, 4)]
    );
}

#[test]
fn apex_and_bitsandbytes_optimizers_go_through_the_helper_quantisation_is_reported() {
    let src = "import bitsandbytes as bnb
from apex.optimizers import FusedAdam, FusedLAMB

a = FusedAdam(model.parameters(), lr=1e-4, weight_decay=0.01)
b = FusedLAMB(model.parameters(), lr=1e-3)
c = bnb.optim.PagedAdamW8bit(model.parameters(), lr=1e-4, optim_bits=8)
d = FusedAdam(model.parameters(), bias_correction=False)
layer = bnb.nn.Linear4bit(16, 16)
m = AutoModel.from_pretrained(name, load_in_8bit=True)
";
    let expected = "try:
    import bitsandbytes as bnb
except ImportError:
    bnb = None
try:
    from apex.optimizers import FusedAdam, FusedLAMB
except ImportError:
    FusedAdam = None
    FusedLAMB = None
import device_utils

a = device_utils.FusedAdam(model.parameters(), lr=1e-4, weight_decay=0.01)
b = device_utils.FusedLAMB(model.parameters(), lr=1e-3)
c = device_utils.bnb_optim.PagedAdamW8bit(model.parameters(), lr=1e-4, optim_bits=8)
d = FusedAdam(model.parameters(), bias_correction=False)
layer = bnb.nn.Linear4bit(16, 16)
m = AutoModel.from_pretrained(name, load_in_8bit=True)
";
    let out = portable(src);
    assert_eq!(out.text, expected);
    assert_eq!(out.rules, vec!["PY011", "PY013", "PY016"]);
    assert_eq!(
        out.diagnostics,
        vec![
            ("PY118", Severity::Warning, 4),
            ("PY118", Severity::Warning, 5),
            ("PY118", Severity::Warning, 6),
            ("PY103", Severity::Error, 7),
            ("PY119", Severity::Error, 8),
            ("PY119", Severity::Error, 9),
        ]
    );
}

#[test]
fn device_type_tests_become_the_helper_accelerator_check() {
    let src = "import torch


def f(x, device):
    if x.is_cuda:
        torch.cuda.synchronize()
    half = x.device.type != \"cuda\"
    on = \"cuda\" in str(device)
    return half, on
";
    let expected = "import torch
import device_utils


def f(x, device):
    if device_utils.is_accelerator(x):
        device_utils.DEVICE_MODULE.synchronize()
    half = not device_utils.is_accelerator(x.device)
    on = device_utils.is_accelerator(device)
    return half, on
";
    let out = portable(src);
    assert_eq!(out.text, expected);
    assert_eq!(out.rules, vec!["PY004", "PY011", "PY014"]);
    assert_eq!(out.diagnostics, vec![]);
}

#[test]
fn a_device_test_guarding_unconverted_cuda_code_is_kept_and_reported() {
    let src =
        "def f(x):\n    if x.is_cuda:\n        return ext.forward(x.cuda(where))\n    return x\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(
        out.diagnostics,
        vec![
            ("PY115", Severity::Warning, 3),
            ("PY116", Severity::Warning, 2)
        ]
    );
}

#[test]
fn ambiguous_receivers_and_look_alikes_are_left() {
    unchanged("class T:\n    def is_cuda(self):\n        return False\nok = t.is_cuda\n");
    unchanged("mode = cfg.type == \"cuda\"\nflag = \"cuda\" in name\n");
}

#[test]
fn tf32_assignments_gain_the_hf32_switch() {
    let src = "import torch\n\ntorch.backends.cuda.matmul.allow_tf32 = True\ntorch.backends.cudnn.allow_tf32 = False  # keep\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        "import torch\nimport device_utils\n\ntorch.backends.cuda.matmul.allow_tf32 = True\ndevice_utils.allow_hf32(matmul=torch.backends.cuda.matmul.allow_tf32)\ntorch.backends.cudnn.allow_tf32 = False  # keep\ndevice_utils.allow_hf32(conv=torch.backends.cudnn.allow_tf32)\n"
    );
    assert_eq!(out.rules, vec!["PY011", "PY015"]);
    let no_newline = portable("import torch\ntorch.backends.cudnn.allow_tf32 = True");
    assert_eq!(
        no_newline.text,
        "import torch\nimport device_utils\ntorch.backends.cudnn.allow_tf32 = True\ndevice_utils.allow_hf32(conv=torch.backends.cudnn.allow_tf32)"
    );
    // Reading a switch, or a switch sharing its line, adds nothing.
    unchanged("import torch\nprint(torch.backends.cudnn.allow_tf32)\n");
    unchanged("import torch\ntorch.backends.cudnn.allow_tf32 = True; x = 1\n");
}

#[test]
fn the_xformers_toggle_runs_only_where_xformers_can() {
    let src = "pipe = load()\nif fast:\n    pipe.enable_xformers_memory_efficient_attention()\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        "import device_utils\npipe = load()\nif fast:\n    if device_utils.xformers_usable():\n        pipe.enable_xformers_memory_efficient_attention()\n"
    );
    assert_eq!(out.rules, vec!["PY011", "PY017"]);
    unchanged(
        "if is_xformers_available():\n    pipe.enable_xformers_memory_efficient_attention()\n",
    );
}

#[test]
fn npu_style_writes_the_shims_with_torch_npu_names() {
    let src = "import torch
from flash_attn import flash_attn_varlen_func
from apex.optimizers import FusedAdam
import bitsandbytes as bnb

o = flash_attn_varlen_func(q, k, v, cu_q, cu_k, mq, mk, dropout_p=0.1, causal=True)
opt = FusedAdam(params, lr=1e-4)
opt2 = bnb.optim.AdamW8bit(params, lr=1e-4)
if x.is_cuda:
    torch.backends.cuda.matmul.allow_tf32 = True
";
    let expected = "import torch
try:
    from flash_attn import flash_attn_varlen_func
except ImportError:
    flash_attn_varlen_func = None
try:
    from apex.optimizers import FusedAdam
except ImportError:
    FusedAdam = None
try:
    import bitsandbytes as bnb
except ImportError:
    bnb = None
import torch_npu

o = torch_npu.npu_fusion_attention(q, k, v, q.shape[1], input_layout=\"TND\", actual_seq_qlen=cu_q[1:].tolist(), actual_seq_kvlen=cu_k[1:].tolist(), scale=q.shape[-1] ** -0.5, keep_prob=1.0 - 0.1, atten_mask=torch.triu(torch.ones(2048, 2048, dtype=torch.bool, device=q.device), diagonal=1), sparse_mode=3)[0]
opt = torch_npu.optim.NpuFusedAdamW(params, lr=1e-4, weight_decay=0.0)
opt2 = torch_npu.optim.NpuFusedAdamW(params, lr=1e-4, weight_decay=0.01)
if x.is_npu:
    torch.backends.cuda.matmul.allow_tf32 = True
    torch_npu.npu.matmul.allow_hf32 = torch.backends.cuda.matmul.allow_tf32
";
    let out = npu(src);
    assert_eq!(out.text, expected);
}

#[test]
fn npu_style_reports_what_torch_npu_cannot_take_as_written() {
    let src = "import torch\nfrom flash_attn import flash_attn_func\no = flash_attn_func(q, k, v, causal=is_causal)\nw = flash_attn_func(q, k, v, window_size=(4, 0))\n";
    let out = npu(src);
    assert!(
        out.text
            .contains("\no = flash_attn_func(q, k, v, causal=is_causal)\n")
    );
    assert_eq!(
        out.diagnostics,
        vec![("PY101", Severity::Error, 3), ("PY101", Severity::Error, 4)]
    );
}

/// The one-line prototype of npu_fusion_attention kept from torch_npu's documentation.
fn documented_parameters() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_npu/npu_fusion_attention.md");
    let text = std::fs::read_to_string(&path).expect("the signature fixture");
    let line = text
        .lines()
        .find(|l| l.starts_with("torch_npu.npu_fusion_attention("))
        .expect("a one-line prototype");
    let inner = line
        .strip_prefix("torch_npu.npu_fusion_attention(")
        .and_then(|rest| rest.split(") ->").next())
        .expect("the parameter list");
    inner
        .split(", ")
        .map(|p| p.split('=').next().unwrap_or(p).trim().to_string())
        .collect()
}

#[derive(Default)]
struct FusionCalls<'a> {
    calls: Vec<&'a ExprCall>,
}

impl<'a> Visitor<'a> for FusionCalls<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr
            && let Expr::Attribute(attr) = call.func.as_ref()
            && attr.attr.id.as_str() == "npu_fusion_attention"
        {
            self.calls.push(call);
        }
        visitor::walk_expr(self, expr);
    }
}

/// Every npu_fusion_attention call in `source` uses documented parameter names, passes the
/// five required ones (query, key, value, head_num by position, input_layout by either) and
/// the scale, whose default of 1 would be wrong for attention.
fn check_fusion_calls(source: &str, documented: &[String]) -> usize {
    let parsed = ruff_python_parser::parse_module(source).expect("parses");
    let mut finder = FusionCalls::default();
    finder.visit_body(parsed.suite());
    for call in &finder.calls {
        let positional = call.arguments.args.len();
        assert!(
            (4..=5).contains(&positional),
            "{positional} positional arguments"
        );
        let mut given: Vec<&str> = documented[..positional]
            .iter()
            .map(String::as_str)
            .collect();
        for kw in &call.arguments.keywords {
            let name = kw.arg.as_ref().expect("no ** in the helper").id.as_str();
            assert!(
                documented.iter().any(|d| d == name),
                "npu_fusion_attention has no parameter {name}"
            );
            given.push(name);
        }
        for required in ["query", "key", "value", "head_num", "input_layout", "scale"] {
            assert!(given.contains(&required), "{required} not passed");
        }
    }
    finder.calls.len()
}

#[test]
fn npu_fusion_attention_is_called_with_documented_parameters_only() {
    let documented = documented_parameters();
    assert_eq!(
        &documented[..5],
        ["query", "key", "value", "head_num", "input_layout"]
    );
    assert!(documented.iter().any(|d| d == "actual_seq_qlen"));
    // The helper module.
    assert!(check_fusion_calls(migrate::helper::TEMPLATE, &documented) >= 3);
    // NPU-style rewrites.
    let out = npu(
        "import torch\nfrom flash_attn import flash_attn_func, flash_attn_varlen_func\nimport xformers.ops as xops\n\
a = flash_attn_func(q, k, v, softmax_scale=0.1, causal=True)\n\
b = flash_attn_varlen_func(q, k, v, cq, ck, mq, mk)\n\
c = xops.memory_efficient_attention(q, k, v, attn_bias=xops.LowerTriangularMask(), p=0.1)\n",
    );
    assert_eq!(check_fusion_calls(&out.text, &documented), 3);
}

#[test]
fn an_operator_known_only_at_run_time_is_left_to_the_stand_in_and_said() {
    let src = "import xformers.ops\nh = xformers.ops.memory_efficient_attention(q, k, v, attn_bias=m, op=self.attention_op)\n";
    let out = portable(src);
    assert!(out.text.contains(
        "\nh = device_utils.memory_efficient_attention(q, k, v, attn_bias=m, op=self.attention_op)\n"
    ));
    assert_eq!(out.diagnostics, vec![("PY102", Severity::Warning, 2)]);
}

#[test]
fn a_users_flag_is_not_an_availability_test_but_is_xformers_available_is() {
    let out = portable(
        "if args.xformers:\n    vae.set_use_memory_efficient_attention_xformers(args.xformers)\n",
    );
    assert_eq!(
        out.text,
        "import device_utils\nif args.xformers:\n    if device_utils.xformers_usable():\n        vae.set_use_memory_efficient_attention_xformers(args.xformers)\n"
    );
    // Under the project's own availability test, the version check is not reported.
    let out = portable(
        "if is_xformers_available():\n    import xformers\n    v = xformers.__version__\n    unet.enable_xformers_memory_efficient_attention()\n",
    );
    assert_eq!(out.diagnostics, vec![]);
    unchanged("vae.set_use_memory_efficient_attention_xformers(False)\n");
}

#[test]
fn older_bitsandbytes_module_paths_find_the_same_stand_in() {
    let out = portable("import bitsandbytes\nopt = bitsandbytes.adam.Adam8bit(params, 1e-3)\n");
    assert_eq!(
        out.text,
        "try:\n    import bitsandbytes\nexcept ImportError:\n    bitsandbytes = None\nimport device_utils\nopt = device_utils.bnb_optim.Adam8bit(params, 1e-3)\n"
    );
}

#[test]
fn a_name_tested_for_none_keeps_meaning_the_library() {
    // The project's own fallback decides on None: rewriting the test would bypass it. Passed
    // around, the helper's function stands in as it does in a call.
    let src = "from flash_attn import flash_attn_func\nif flash_attn_func is None:\n    o = sdpa(q, k, v)\nelse:\n    o = flash_attn_func(q, k, v)\nattend = flash_attn_func\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        "try:\n    from flash_attn import flash_attn_func\nexcept ImportError:\n    flash_attn_func = None\nimport device_utils\nif flash_attn_func is None:\n    o = sdpa(q, k, v)\nelse:\n    o = device_utils.flash_attn_func(q, k, v)\nattend = device_utils.flash_attn_func\n"
    );
    assert_eq!(out.diagnostics, vec![]);
    let out = portable(
        "import xformers.ops as xops\nuse = bool(args.x) and not xops\nif xops.memory_efficient_attention:\n    pass\n",
    );
    assert_eq!(
        out.text,
        "try:\n    import xformers.ops as xops\nexcept ImportError:\n    xops = None\nimport device_utils\nuse = bool(args.x) and not xops\nif device_utils.memory_efficient_attention:\n    pass\n"
    );
}
