//! Shared helpers for the end-to-end tests in `tests/tests/`, and the module graph the
//! layout tests hold each crate to.

pub mod module_graph;

use std::path::{Path, PathBuf};

/// The workspace root, whichever directory the test runner starts in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits one level below the workspace root")
        .to_path_buf()
}

/// The bundled CUDA-only sample project.
pub fn cuda_project() -> PathBuf {
    workspace_root().join("examples").join("cuda-project")
}

/// A binary of the workspace, built by the same `cargo test` / `cargo nextest` invocation
/// (`target/<profile>/<name>`, next to this test's own `deps/` directory).
pub fn workspace_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    path.is_file().then_some(path)
}
