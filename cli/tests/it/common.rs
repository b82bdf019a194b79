//! Shared by the modules of this test binary: the pipelines tests' fixture helpers (one
//! copy, compiled here too) and the way a program is run.

#[path = "../../../pipelines/tests/it/common.rs"]
mod reference;

pub use reference::{
    assert_close, copy_dir, fixtures, load_reference, max_abs, png_rgb, reference_image_u8, stderr,
};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A folder of pipelines/tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    fixtures()
        .parent()
        .expect("the SD fixtures sit in the fixtures folder")
        .join(name)
}

/// A test path as a command-line argument (the tests' temporary paths are UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
