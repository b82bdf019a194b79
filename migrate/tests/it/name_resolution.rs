//! torch reached under any import name is rewritten as the spelled-out name is, and a use of
//! CUDA no rule can follow is reported instead of passing as converted.

use super::python_run::portable;
use migrate::Severity;

const IMPORT: &str = "import device_utils\n";

#[test]
fn torch_imported_as_th_is_followed() {
    let out = portable(
        "import torch as th\n\
use = th.cuda.is_available()\n\
dev = th.device(\"cuda:0\")\n\
th.cuda.synchronize()\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch as th\n{IMPORT}\
use = device_utils.DEVICE_MODULE.is_available()\n\
dev = th.device(device_utils.device(0))\n\
device_utils.DEVICE_MODULE.synchronize()\n"
        )
    );
    assert!(out.codes.is_empty(), "{:?}", out.codes);
}

#[test]
fn torch_cuda_imported_as_a_module_or_its_members_is_followed() {
    let out = portable(
        "from torch import cuda\nimport torch.cuda as tc\nfrom torch.cuda import empty_cache, synchronize as sync\n\
cuda.manual_seed_all(0)\ntc.empty_cache()\nempty_cache()\nsync()\n",
    );
    assert_eq!(
        out.text,
        format!(
            "from torch import cuda\nimport torch.cuda as tc\nfrom torch.cuda import empty_cache, synchronize as sync\n{IMPORT}\
device_utils.DEVICE_MODULE.manual_seed_all(0)\ndevice_utils.DEVICE_MODULE.empty_cache()\n\
device_utils.DEVICE_MODULE.empty_cache()\ndevice_utils.DEVICE_MODULE.synchronize()\n"
        )
    );
}

#[test]
fn amp_through_torch_cuda_submodule_aliases() {
    let out = portable(
        "import torch as th\nfrom torch.cuda import amp\n\
with amp.autocast():\n    pass\nscaler = th.cuda.amp.GradScaler()\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch as th\nfrom torch.cuda import amp\n{IMPORT}\
with th.amp.autocast(device_utils.AMP_DEVICE_TYPE):\n    pass\n\
scaler = th.amp.GradScaler(device_utils.AMP_DEVICE_TYPE)\n"
        )
    );
}

#[test]
fn amp_without_a_torch_name_is_reported_not_rewritten_into_a_name_error() {
    let src = "from torch.cuda import amp\nwith amp.autocast():\n    pass\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(out.codes, vec!["PY115"]);
}

#[test]
fn distributed_and_generator_aliases_are_followed() {
    let out = portable(
        "import torch.distributed as dist\nfrom torch import Generator as G\n\
dist.init_process_group(\"nccl\")\ng = G(\"cuda\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch.distributed as dist\nfrom torch import Generator as G\n{IMPORT}\
dist.init_process_group(device_utils.DIST_BACKEND)\ng = device_utils.generator()\n"
        )
    );
}

#[test]
fn an_unfollowed_cuda_use_is_reported_and_counted() {
    // A module object handed around, and a `.cuda` attribute that is not a plain call: no rule
    // can rewrite them, so each is a warning, never a silent "converted".
    // The call of a name bound to one is reported too: that is the line a run stops at.
    let src = "import torch.cuda as tc\nbackend = tc\nf = model.cuda\nf()\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    let mut diagnostics = out.diagnostics.clone();
    diagnostics.sort_by_key(|d| d.2);
    assert_eq!(
        diagnostics,
        vec![
            ("PY115", Severity::Warning, 2),
            ("PY115", Severity::Warning, 3),
            ("PY115", Severity::Warning, 4)
        ]
    );
}

#[test]
fn assignments_to_torch_cuda_members_are_never_rewritten() {
    // A compatibility shim (模块兼容层) replaces torch.cuda's functions with another backend's.
    let src = "import torch\n# 兼容层: 把 torch.cuda 指向 xpu\ntorch.cuda.is_available = torch.xpu.is_available\ntorch.cuda.synchronize = torch.xpu.synchronize\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(
        out.diagnostics,
        vec![("PY115", Severity::Info, 3), ("PY115", Severity::Info, 4)]
    );
}

#[test]
fn names_that_only_look_like_cuda_are_left_alone() {
    let src = "from os import path as cuda\nimport numpy as np\np = cuda.join(\"a\", \"b\")\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert!(out.codes.is_empty(), "{:?}", out.codes);
}

#[test]
fn method_shims_and_sdp_imports_are_reported_not_rewritten() {
    // intel-extension style: torch's own `.cuda` methods pointed at another backend.
    let src = "import torch\ntorch.Tensor.cuda = torch.Tensor.xpu\nfrom torch.backends.cuda import sdp_kernel, SDPBackend\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(
        out.diagnostics,
        vec![
            ("PY115", Severity::Info, 2),
            ("PY110", Severity::Warning, 3),
            ("PY110", Severity::Warning, 3)
        ]
    );
}

#[test]
fn an_unguarded_sageattention_import_is_an_error() {
    let out = portable("from sageattention import sageattn\n");
    assert_eq!(out.diagnostics, vec![("PY101", Severity::Error, 1)]);
    let guarded = portable(
        "try:\n    from sageattention import sageattn\nexcept ImportError:\n    sageattn = None\n",
    );
    assert!(guarded.diagnostics.is_empty(), "{:?}", guarded.diagnostics);
}

#[test]
fn tensorrt_and_pycuda_imports_are_reported() {
    // diffusers' TensorRT community pipelines: the import is where a host without CUDA stops.
    let out =
        portable("import pycuda.driver as cuda\nfrom cuda import cudart\nimport tensorrt as trt\n");
    assert_eq!(
        out.diagnostics,
        vec![
            ("PY117", Severity::Error, 1),
            ("PY117", Severity::Error, 2),
            ("PY117", Severity::Error, 3)
        ]
    );
    let guarded =
        portable("try:\n    import tensorrt as trt\nexcept ImportError:\n    trt = None\n");
    assert_eq!(guarded.diagnostics, vec![("PY117", Severity::Info, 2)]);
}
