//! Inputs kept from fuzzing (tests/fuzz_regressions/) plus hand-written adversarial cases,
//! all checked against the same properties the fuzz target checks.

use migrate::python::properties::check;
use std::path::Path;

#[test]
fn kept_fuzz_inputs_hold_the_properties() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("regression dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).expect("readable");
        check(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checked += 1;
    }
    assert!(checked > 0, "no regression inputs in {}", dir.display());
}

#[test]
fn adversarial_inputs_hold_the_properties() {
    let cases: &[&str] = &[
        "",
        "\u{feff}",
        "x.cuda(",
        "x.cuda(0, 1)",
        "x.cuda()\\\n.cuda()",
        "torch.Generator('cuda').manual_seed()",
        "torch.Generator(\"cuda\", 1)",
        "torch.cuda.amp.autocast(True)(f)",
        "@torch.cuda.amp.custom_fwd\n@torch.cuda.amp.custom_fwd\ndef f(): pass",
        "from torch.cuda.amp import autocast\nautocast = autocast\nautocast(autocast())",
        "import device_utils\nx.cuda()",
        "x = \"cuda\" if torch.cuda.is_available() else \"cpu\" if a else \"cuda\"",
        "os.environ['CUDA_VISIBLE_DEVICES'] = os.environ['CUDA_VISIBLE_DEVICES'] = '1'",
        "f\"cuda:{f'{x}'}\"",
        "torch.device('cuda', torch.device('cuda', 0).index)",
        "x.to(0).to(1).cuda(2).to('cuda:3')",
        "def f(device='cuda', *, other_device='cuda:2', **kw): pass",
        "lambda device='cuda': device",
        "{'device': 'cuda', **{'device': 'cuda:1'}}",
        "\"\"\"doc\"\"\"; x.cuda()",
        "if 1:\n\tx = y.cuda()\r\n\tz = 1",
        "x = y.cuda()  # \u{1F600} emoji comment\ny = '\u{00e9}'.cuda()",
        "torch.cuda.amp.GradScaler(2.0**16, 2.0)",
        "with torch.cuda.amp.autocast(), torch.autocast('cuda'):\n    pass",
    ];
    for case in cases {
        check(case.as_bytes()).unwrap_or_else(|e| panic!("{case:?}: {e}"));
    }
}
