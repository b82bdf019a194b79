//! The rewrites that were once wrong on real repositories, each pinned to its right form:
//! what a `.cuda(arg)` becomes depends on what the argument and the receiver are, a
//! generator stays on the device its draws use, and a guard is converted only with what it
//! guards.

use super::python_run::portable;
use migrate::Severity;

const IMPORT: &str = "import device_utils\n";

#[test]
fn cuda_with_a_device_object_keeps_the_device() {
    // `device_utils.device(x.device)` would call int() on a torch.device.
    let out = portable(
        "import torch\n\
a = w.cuda(x.device)\nb = w.cuda(self.device)\nc = w.cuda(torch.device(\"cuda\", 1))\n\
d = w.cuda(None)\ne = w.cuda(\"cuda:1\")\nf = w.cuda(local_rank)\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}\
a = w.to(x.device)\nb = w.to(self.device)\nc = w.to(torch.device(device_utils.device(1)))\n\
d = w.to(device_utils.DEVICE)\ne = w.to(device_utils.device(1))\nf = w.to(device_utils.device(local_rank))\n"
        )
    );
}

#[test]
fn cuda_with_an_argument_of_unknown_kind_is_reported_not_guessed() {
    let src = "y = x.cuda(where)\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(out.diagnostics, vec![("PY115", Severity::Warning, 1)]);
}

#[test]
fn storages_in_map_location_lambdas_get_the_device_by_keyword() {
    // torch's storage `to()` rejects a positional device.
    let out = portable(
        "import torch\n\
sd = torch.load(p, map_location=lambda storage, loc: storage.cuda(gpu_id))\n\
sd = torch.load(p, map_location=lambda s, loc: s.cuda())\n\
t = s.cuda()\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}\
sd = torch.load(p, map_location=lambda storage, loc: storage.to(device=device_utils.device(gpu_id)))\n\
sd = torch.load(p, map_location=lambda s, loc: s.to(device=device_utils.DEVICE))\n\
t = s.to(device_utils.DEVICE)\n"
        )
    );
}

#[test]
fn location_strings_of_checkpoint_loaders_are_devices() {
    let out = portable(
        "sd = get_state_dict(path, location='cuda')\nck = load_checkpoint(m, path, map_location=\"cuda\")\n",
    );
    assert_eq!(
        out.text,
        format!(
            "{IMPORT}sd = get_state_dict(path, location=device_utils.DEVICE)\n\
ck = load_checkpoint(m, path, map_location=device_utils.DEVICE)\n"
        )
    );
}

#[test]
fn a_generator_stays_on_the_device_of_its_draws() {
    let out = portable(
        "import torch\n\
g = torch.Generator(\"cuda\").manual_seed(0)\n\
x = torch.randn(4, generator=g, device=\"cuda\")\n\
y = torch.rand(2, generator=torch.Generator(\"cuda\"), device=\"cuda\")\n\
image = pipe(prompt, generator=torch.Generator(\"cuda\").manual_seed(1))\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}\
g = torch.Generator(device_utils.DEVICE).manual_seed(0)\n\
x = torch.randn(4, generator=g, device=device_utils.DEVICE)\n\
y = torch.rand(2, generator=torch.Generator(device_utils.DEVICE), device=device_utils.DEVICE)\n\
image = pipe(prompt, generator=device_utils.generator(1))\n"
        )
    );
}

#[test]
fn a_generator_drawn_on_an_unfollowed_device_is_left_and_reported() {
    // diffusers' community pipelines draw with `device=self.device`: a CPU generator there
    // would be refused by torch, so neither side changes.
    let src = "import torch\nclass P:\n    def run(self, seed):\n        \
generator = torch.Generator(\"cuda\").manual_seed(seed)\n        \
return torch.randn((1, 4), generator=generator, device=self.device)\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(out.diagnostics, vec![("PY115", Severity::Warning, 4)]);
}

#[test]
fn a_guard_is_converted_with_what_it_guards() {
    let out = portable(
        "import torch\nif torch.cuda.is_available():\n    torch.cuda.manual_seed_all(0)\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}if device_utils.DEVICE_MODULE.is_available():\n    device_utils.DEVICE_MODULE.manual_seed_all(0)\n"
        )
    );
}

#[test]
fn a_guard_over_unconverted_code_is_kept_and_reported() {
    // Converted, the test would let the flash-attn block run on an NPU host.
    let src = "import torch\nif torch.cuda.is_available():\n    torch.backends.cuda.enable_flash_sdp(True)\n    torch.cuda.synchronize()\n";
    let out = portable(src);
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}if torch.cuda.is_available():\n    torch.backends.cuda.enable_flash_sdp(True)\n    device_utils.DEVICE_MODULE.synchronize()\n"
        )
    );
    assert!(
        out.diagnostics.contains(&("PY116", Severity::Warning, 2)),
        "{:?}",
        out.diagnostics
    );
}

#[test]
fn a_negated_guard_guards_the_code_after_it() {
    // `if not available: skip` protects the rest of the function.
    let src = "import torch\ndef test_flash():\n    if not torch.cuda.is_available():\n        return\n    print(torch.cuda.get_device_capability())\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(
        out.codes,
        vec!["PY107", "PY116"],
        "the capability query is reported and the guard kept"
    );
}

#[test]
fn an_nccl_branch_of_a_conditional_becomes_the_selected_backend() {
    let out = portable(
        "import torch as th\nbackend = \"gloo\" if not th.cuda.is_available() else \"nccl\"\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch as th\n{IMPORT}backend = \"gloo\" if not device_utils.DEVICE_MODULE.is_available() else device_utils.DIST_BACKEND\n"
        )
    );
}

#[test]
fn an_nccl_backend_parameter_default_becomes_the_selected_backend() {
    let out = portable("def init_dist(launcher, backend='nccl', **kwargs):\n    pass\n");
    assert_eq!(
        out.text,
        format!(
            "{IMPORT}def init_dist(launcher, backend=device_utils.DIST_BACKEND, **kwargs):\n    pass\n"
        )
    );
}

#[test]
fn an_and_chain_and_a_skipif_guard_what_follows_them() {
    // lit-gpt's test: converted, the test would let the capability query run on an NPU host.
    let src = "import torch\nimport pytest\n\
ok = torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0)\n\
@pytest.mark.skipif(not torch.cuda.is_available(), reason=\"需要 CUDA\")\n\
def test_flash():\n    torch.backends.cuda.enable_flash_sdp(True)\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    let mut codes = out.codes.clone();
    codes.sort();
    assert_eq!(codes, vec!["PY107", "PY110", "PY116", "PY116"]);
}

#[test]
fn self_cuda_in_a_class_with_its_own_cuda_method_is_left() {
    // flux's TensorRT engine: `to()` calls `self.cuda()`; `self.to(...)` would recurse.
    let src = "class Engine:\n    def cuda(self):\n        return self\n    def to(self, device):\n        self.cuda()\n        return self\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(out.diagnostics, vec![("PY115", Severity::Info, 5)]);
}

#[test]
fn a_test_that_guards_twice_is_reported_once() {
    let src = "import torch\nif torch.cuda.is_available() and torch.cuda.get_device_capability()[0] >= 8:\n    torch.backends.cuda.enable_flash_sdp(True)\n";
    let out = portable(src);
    assert_eq!(out.text, src);
    assert_eq!(
        out.codes.iter().filter(|c| **c == "PY116").count(),
        1,
        "{:?}",
        out.codes
    );
}

#[test]
fn built_device_strings_index_keywords_and_device_meshes_are_converted() {
    let out = portable(
        "import torch\n\
a = x.to(\"cuda:\" + str(rank))\nb = x.to(\"cuda:%d\" % rank)\nc = torch.device(\"cuda:{}\".format(rank))\n\
d = x.to(device=local_rank)\nmesh = init_device_mesh(\"cuda\", (2,))\nlabel = \"cuda:\" + name\n",
    );
    assert_eq!(
        out.text,
        format!(
            "import torch\n{IMPORT}\
a = x.to(device_utils.device(str(rank)))\nb = x.to(device_utils.device(rank))\nc = torch.device(device_utils.device(rank))\n\
d = x.to(device=device_utils.device(local_rank))\nmesh = init_device_mesh(device_utils.DEVICE_TYPE, (2,))\nlabel = \"cuda:\" + name\n"
        )
    );
    // Outside a device position the built string is only reported.
    assert_eq!(out.diagnostics, vec![("PY113", Severity::Warning, 7)]);
}
