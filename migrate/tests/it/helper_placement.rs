//! The helper lands where the code importing it can import it once installed: a package's
//! modules import their own copy relatively, and a module of the user's with the helper's
//! name is never shadowed.

use super::common::{copy_tree, have, run, stderr, write};
use std::path::Path;
use std::process::Command;

/// Just what the helper touches at import time on a host without an accelerator.
const TORCH_STUB: &str = "float32, float16, bfloat16 = 'f32', 'f16', 'bf16'\n\
class cuda:\n    @staticmethod\n    def is_available():\n        return False\n";

fn tree(root: &Path) {
    write(&root.join("pkg/__init__.py"), "");
    write(&root.join("pkg/sub/__init__.py"), "");
    write(
        &root.join("pkg/sub/模型.py"),
        "import torch\n\ndef place(x):\n    # 放到显卡上\n    return x.cuda()\n",
    );
    write(
        &root.join("pkg/model.py"),
        "def place(x):\n    return x.cuda()\n",
    );
    write(
        &root.join("train.py"),
        "def place(x):\n    return x.cuda()\n",
    );
}

#[test]
fn package_modules_import_the_package_copy_relatively() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("proj");
    tree(&root);
    let out = run(&["--apply", "proj"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).expect("migrated file");
    let fallback = "except ImportError:  # run as a script, outside its package\n    from pkg import device_utils\n";
    assert!(
        read("pkg/model.py")
            .starts_with(&format!("try:\n    from . import device_utils\n{fallback}"))
    );
    assert!(read("pkg/sub/模型.py").contains(&format!(
        "import torch\ntry:\n    from .. import device_utils\n{fallback}"
    )));
    assert!(read("train.py").starts_with("import device_utils\n"));
    assert!(root.join("pkg/device_utils.py").is_file());
    assert!(
        root.join("device_utils.py").is_file(),
        "loose scripts keep the root helper"
    );

    if !have("python3") {
        return;
    }
    // Installed: only the package is on the path, away from the tree root.
    let site = dir.path().join("site");
    copy_tree(&root.join("pkg"), &site.join("pkg"));
    write(&dir.path().join("stub/torch/__init__.py"), TORCH_STUB);
    let path = format!("{}:{}", site.display(), dir.path().join("stub").display());
    let import = Command::new("python3")
        .args([
            "-c",
            "import pkg.model, importlib; importlib.import_module('pkg.sub.模型')",
        ])
        .env("PYTHONPATH", path)
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    // Run as a script, with the tree on the path as its own imports need: no parent package,
    // so the package's copy is imported by name.
    let tree_path = format!("{}:{}", root.display(), dir.path().join("stub").display());
    let script = Command::new("python3")
        .arg(root.join("pkg/sub/模型.py"))
        .env("PYTHONPATH", tree_path)
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    assert!(
        script.status.success(),
        "{}",
        String::from_utf8_lossy(&script.stderr)
    );
}

#[test]
fn a_package_module_of_the_helpers_name_is_not_shadowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("proj");
    tree(&root);
    let mine = "# the user's own device helpers\nDEVICE = 'mine'\n";
    write(&root.join("pkg/device_utils.py"), mine);
    let out = run(&["--apply", "proj"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = std::fs::read_to_string(root.join("pkg/device_utils.py")).expect("kept");
    assert_eq!(kept, mine);
    let model = std::fs::read_to_string(root.join("pkg/model.py")).expect("migrated");
    assert!(
        model.starts_with("try:\n    from . import device_utils_portable\n"),
        "{model}"
    );
    assert!(root.join("pkg/device_utils_portable.py").is_file());
    assert!(stderr(&out).contains("MG001"), "{}", stderr(&out));
}
