//! Shared helpers for the end-to-end tests in `tests/tests/`.

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
