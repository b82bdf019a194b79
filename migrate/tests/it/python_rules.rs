//! One focused test per Python rule and diagnostic: the rewrite it must make (written out by
//! hand here, not recorded from the tool) and the look-alike it must leave alone.

use migrate::python::{self, PythonError};
use migrate::text::SourceText;
use migrate::{RuleOptions, Severity};

use super::python_run::{npu, portable, run_with, unchanged};

const IMPORT: &str = "import device_utils\n";

#[test]
fn py001_device_strings_in_device_positions() {
    let out = portable(
        "import torch\nx = y.to(\"cuda\")\nz = torch.zeros(2, device=\"cuda:1\")\nm = torch.load(p, map_location=\"cuda\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}x = y.to(device_utils.DEVICE)\nz = torch.zeros(2, device=device_utils.device(1))\nm = torch.load(p, map_location=device_utils.DEVICE)\n"
        )
    );
    assert_eq!(out.rules, vec!["PY001", "PY011"]);
}

#[test]
fn py001_ternary_assignment_parameter_and_argparse_default() {
    let src = "import torch\n\
device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n\
DEVICE = \"cuda:0\"\n\
def run(x, device=\"cuda\"):\n    return x\n\
parser.add_argument(\"--device\", default=\"cuda\")\n\
cfg = {\"device\": \"cuda\"}\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}device = device_utils.DEVICE\nDEVICE = device_utils.device(0)\ndef run(x, device=device_utils.DEVICE):\n    return x\nparser.add_argument(\"--device\", default=device_utils.DEVICE)\ncfg = {{\"device\": device_utils.DEVICE}}\n"
        )
    );
}

#[test]
fn py001_torch_device_with_index_and_fstring() {
    let out = portable(
        "import torch\na = torch.device(\"cuda\", rank)\nb = torch.device(f\"cuda:{rank}\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}a = torch.device(device_utils.device(rank))\nb = torch.device(device_utils.device(rank))\n"
        )
    );
}

#[test]
fn py001_leaves_comments_docstrings_logs_and_paths_alone() {
    unchanged(
        "\"\"\"Runs on cuda.\"\"\"\nimport logging\n# move to \"cuda\" later\nlogging.info(\"moving to cuda\")\npath = \"/opt/cuda/lib64\"\nx = t.to(\"cpu\")\nname = \"cuda_kernels\"\n",
    );
}

#[test]
fn py002_cuda_method_calls() {
    let out = portable(
        "a = x.cuda()\nb = m.cuda(local_rank)\nc = y.cuda(non_blocking=True)\nd = z.cuda(device=1)\n",
    );
    assert_eq!(
        out.text,
        format!(
            "{IMPORT}a = x.to(device_utils.DEVICE)\nb = m.to(device_utils.device(local_rank))\nc = y.to(device_utils.DEVICE, non_blocking=True)\nd = z.to(device_utils.device(1))\n"
        )
    );
    assert_eq!(out.rules, vec!["PY002", "PY011"]);
}

#[test]
fn py002_leaves_uncalled_and_unusual_cuda_attributes() {
    unchanged("f = x.cuda\nbuild.cuda(a, b)\ncfg.cuda(flag=True)\n");
}

#[test]
fn py003_generators() {
    let out = portable(
        "import torch\ng = torch.Generator(\"cuda\").manual_seed(seed)\nh = torch.Generator(device=\"cuda\")\nk = torch.Generator(\"cpu\").manual_seed(1)\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}g = device_utils.generator(seed)\nh = device_utils.generator()\nk = torch.Generator(\"cpu\").manual_seed(1)\n"
        )
    );
}

#[test]
fn py004_device_module_functions() {
    let out = portable(
        "import torch\ntorch.cuda.synchronize()\nif torch.cuda.is_available():\n    torch.cuda.empty_cache()\nn = torch.cuda.device_count()\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}device_utils.DEVICE_MODULE.synchronize()\nif device_utils.DEVICE_MODULE.is_available():\n    device_utils.DEVICE_MODULE.empty_cache()\nn = device_utils.DEVICE_MODULE.device_count()\n"
        )
    );
}

#[test]
fn py005_amp_module_calls_imports_and_decorators() {
    let src = "import torch\n\
from torch.cuda.amp import GradScaler, autocast as ac, custom_fwd\n\
s = GradScaler(init_scale=1024)\n\
with ac(True, torch.float16):\n    pass\n\
with torch.cuda.amp.autocast():\n    pass\n\
@custom_fwd\ndef f(x):\n    return x\n\
@torch.cuda.amp.custom_bwd(cast_inputs=torch.float32)\ndef g(x):\n    return x\n";
    let out = portable(src);
    let expected = "import torch\n\
from torch.amp import GradScaler, autocast as ac, custom_fwd\n\
import device_utils\n\
s = GradScaler(device_utils.AMP_DEVICE_TYPE, init_scale=1024)\n\
with ac(device_utils.AMP_DEVICE_TYPE, enabled=True, dtype=torch.float16):\n    pass\n\
with torch.amp.autocast(device_utils.AMP_DEVICE_TYPE):\n    pass\n\
@custom_fwd(device_type=device_utils.AMP_DEVICE_TYPE)\ndef f(x):\n    return x\n\
@torch.amp.custom_bwd(device_type=device_utils.AMP_DEVICE_TYPE, cast_inputs=torch.float32)\ndef g(x):\n    return x\n";
    assert_eq!(out.text, expected);
}

#[test]
fn py005_leaves_torch_amp_alone() {
    unchanged("from torch.amp import autocast\nwith autocast(\"cpu\"):\n    pass\n");
}

#[test]
fn py006_autocast_device_type() {
    let out = portable(
        "import torch\nwith torch.autocast(\"cuda\", dtype=torch.bfloat16):\n    pass\nwith torch.autocast(device_type=\"cuda\"):\n    pass\ns = torch.amp.GradScaler(\"cuda\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}with torch.autocast(device_utils.AMP_DEVICE_TYPE, dtype=torch.bfloat16):\n    pass\nwith torch.autocast(device_type=device_utils.AMP_DEVICE_TYPE):\n    pass\ns = torch.amp.GradScaler(device_utils.AMP_DEVICE_TYPE)\n"
        )
    );
    assert_eq!(out.rules, vec!["PY006", "PY011"]);
}

#[test]
fn py007_nccl_backend() {
    let out = portable(
        "import torch.distributed as dist\ndist.init_process_group(\"nccl\")\ndist.init_process_group(backend=\"nccl\", rank=0)\ndist.init_process_group(\"gloo\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch.distributed as dist\n{IMPORT}dist.init_process_group(device_utils.DIST_BACKEND)\ndist.init_process_group(backend=device_utils.DIST_BACKEND, rank=0)\ndist.init_process_group(\"gloo\")\n"
        )
    );
}

#[test]
fn py008_safetensors_device_arguments() {
    let out = portable(
        "from safetensors.torch import load_file\nsd = load_file(p, device=\"cuda\")\ncpu = load_file(p, device=\"cpu\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "from safetensors.torch import load_file\n{IMPORT}sd = load_file(p, device=device_utils.DEVICE)\ncpu = load_file(p, device=\"cpu\")\n"
        )
    );
    assert_eq!(out.rules, vec!["PY008", "PY011"]);
}

#[test]
fn py009_integer_device_indices() {
    let out = portable(
        "a = x.to(0)\nb = x.to(args.local_rank)\nc = x.to(dtype)\nd = x.to(torch.float16)\n",
    );
    assert_eq!(
        out.text,
        format!(
            "{IMPORT}a = x.to(device_utils.device(0))\nb = x.to(device_utils.device(args.local_rank))\nc = x.to(dtype)\nd = x.to(torch.float16)\n"
        )
    );
}

#[test]
fn py010_visible_devices_in_python() {
    let out = portable("import os\nos.environ[\"CUDA_VISIBLE_DEVICES\"] = \"0,1\"  # two GPUs\n");
    assert_eq!(
        out.text,
        "import os\nos.environ[\"CUDA_VISIBLE_DEVICES\"] = \"0,1\"  # two GPUs\nos.environ[\"ASCEND_RT_VISIBLE_DEVICES\"] = os.environ[\"CUDA_VISIBLE_DEVICES\"]\n"
    );
    let out = portable("import os\nos.environ['CUDA_VISIBLE_DEVICES'] = '2,0'\n");
    assert_eq!(out.codes, vec!["SH101"], "a non-ascending list is flagged");
}

#[test]
fn py011_import_goes_after_docstring_future_and_imports_once() {
    let src = "#!/usr/bin/env python\n\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport torch\n\nx = torch.zeros(1).cuda()\ny = torch.ones(1).cuda()\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        "#!/usr/bin/env python\n\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport torch\nimport device_utils\n\nx = torch.zeros(1).to(device_utils.DEVICE)\ny = torch.ones(1).to(device_utils.DEVICE)\n"
    );
    let no_imports = portable("x = y.cuda()");
    assert_eq!(
        no_imports.text,
        "import device_utils\nx = y.to(device_utils.DEVICE)"
    );
}

fn diagnostics(src: &str) -> Vec<(&'static str, Severity)> {
    let out = python::migrate(&SourceText::new(src), &RuleOptions::default()).expect("parses");
    out.diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.severity))
        .collect()
}

#[test]
fn py101_flash_attn_uses_no_stand_in_covers() {
    // An import sharing its line cannot be wrapped in try: it stays, reported.
    assert_eq!(
        diagnostics("import flash_attn; import os\n"),
        vec![("PY101", Severity::Error)]
    );
    // A call with an argument the stand-in cannot carry over, and a module with no stand-in:
    // the import is guarded, each use is reported at its line.
    let out = portable(
        "from flash_attn import flash_attn_func\no = flash_attn_func(q, k, v, alibi_slopes=s)\n",
    );
    assert_eq!(out.diagnostics, vec![("PY101", Severity::Error, 2)]);
    let out = portable(
        "from flash_attn.layers.rotary import apply_rotary_emb\ny = apply_rotary_emb(x, cos, sin)\n",
    );
    assert_eq!(out.diagnostics, vec![("PY101", Severity::Error, 2)]);
    assert_eq!(
        diagnostics(
            "try:\n    from flash_attn import flash_attn_func\nexcept ImportError:\n    flash_attn_func = None\n"
        ),
        vec![]
    );
}

#[test]
fn py102_xformers_uses_no_stand_in_covers() {
    assert_eq!(
        diagnostics("import xformers.ops; import os\n"),
        vec![("PY102", Severity::Error)]
    );
    // A one-line block leaves no room for the condition.
    assert_eq!(
        diagnostics("if ok: pipe.enable_xformers_memory_efficient_attention()\n"),
        vec![("PY102", Severity::Error)]
    );
    let out = portable("import xformers.ops as xops\nop = xops.fmha.cutlass.FwOp\n");
    assert_eq!(out.diagnostics, vec![("PY102", Severity::Error, 2)]);
    assert_eq!(diagnostics("pipe.enable_attention_slicing()\n"), vec![]);
}

#[test]
fn py103_to_py105_vendor_stacks() {
    // apex.amp has no stand-in: the import is guarded and the use reported where it stops.
    let out = portable("from apex import amp\nm, o = amp.initialize(m, o)\n");
    assert_eq!(out.diagnostics, vec![("PY103", Severity::Warning, 2)]);
    assert_eq!(
        diagnostics("import apex, os\n"),
        vec![("PY103", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("import triton\nm = torch.compile(m)\n"),
        vec![("PY104", Severity::Warning), ("PY104", Severity::Warning)]
    );
    assert_eq!(
        diagnostics(
            "from torch.utils.cpp_extension import CUDAExtension\next = CUDAExtension(\"k\", [\"k.cu\"])\n"
        ),
        vec![("PY105", Severity::Error)]
    );
    assert_eq!(diagnostics("import apexlib\n"), vec![]);
}

#[test]
fn py106_float64_on_device_only() {
    let found = diagnostics(
        "a = torch.arange(4, dtype=torch.float64, device=\"cuda\")\nb = torch.arange(4, dtype=torch.float64, device=\"cpu\")\n",
    );
    assert_eq!(found, vec![("PY106", Severity::Warning)]);
}

#[test]
fn py107_to_py113_diagnostics() {
    assert_eq!(
        diagnostics("major, minor = torch.cuda.get_device_capability()\n"),
        vec![("PY107", Severity::Error)]
    );
    // Receivers that may not be tensors or devices: a class's own flag, a string.
    assert_eq!(
        diagnostics("if self.is_cuda or device == \"cuda\":\n    pass\n"),
        vec![("PY108", Severity::Warning), ("PY108", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("m = torch.nn.DataParallel(m)\n"),
        vec![("PY109", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("torch.cuda.nvtx.range_push(\"x\")\n"),
        vec![("PY110", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("torch.backends.cuda.enable_flash_sdp(False)\n"),
        vec![("PY110", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("if backend == \"nccl\":\n    pass\n"),
        vec![("PY111", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("torch.backends.cudnn.benchmark = True\n"),
        vec![("PY112", Severity::Info)]
    );
    assert_eq!(
        diagnostics("devices = [\"cuda\", \"cpu\"]\n"),
        vec![("PY113", Severity::Warning)]
    );
    assert_eq!(
        diagnostics("m = torch.nn.parallel.DistributedDataParallel(m)\n"),
        vec![]
    );
}

#[test]
fn npu_style_rewrites_to_torch_npu_names() {
    let src = "import torch\nx = y.cuda()\ntorch.cuda.synchronize()\ng = torch.Generator(\"cuda\").manual_seed(1)\nz = t.to(\"cuda:1\")\ndist.init_process_group(\"nccl\")\nd = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n# \"cuda\" stays in comments\n";
    let out = npu(src);
    assert_eq!(
        out.text,
        "import torch\nimport torch_npu\nx = y.npu()\ntorch.npu.synchronize()\ng = torch.Generator(\"npu\").manual_seed(1)\nz = t.to(\"npu:1\")\ndist.init_process_group(\"hccl\")\nd = \"npu\" if torch.npu.is_available() else \"cpu\"\n# \"cuda\" stays in comments\n"
    );
}

#[test]
fn crlf_bom_tabs_and_missing_final_newline_survive() {
    let src = "\u{feff}import torch\r\nif True:\r\n\tx = y.cuda()\r\n\tz = 1  # keep\r\nw = v.to(\"cuda\")";
    let out = portable(src);
    assert_eq!(
        out.text,
        "\u{feff}import torch\r\nimport device_utils\r\nif True:\r\n\tx = y.to(device_utils.DEVICE)\r\n\tz = 1  # keep\r\nw = v.to(device_utils.DEVICE)"
    );
}

#[test]
fn syntax_errors_are_reported_with_a_location() {
    let err =
        python::migrate(&SourceText::new("x = (\ny = 2\n"), &RuleOptions::default()).unwrap_err();
    match err {
        PythonError::Syntax { line, .. } => assert!(line >= 1),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn helper_name_follows_the_option() {
    let options = RuleOptions {
        helper: "accel".to_string(),
        ..RuleOptions::default()
    };
    let out = run_with("x = y.cuda()\n", &options);
    assert_eq!(out.text, "import accel\nx = y.to(accel.DEVICE)\n");
}
